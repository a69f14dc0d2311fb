/// Where the packed bits of a `height x width x channels` activation live in memory.
///
/// Channels-last: pixel `(y, x)` is `words` consecutive `UInt64`, bit `c % 64` of word `c / 64` is
/// channel `c` (bit 1 = -1). The buffer carries a border of `border` pixels on every side whose words
/// are zero (= +1), so 3x3 convolutions read their padding without branches.
public struct PackedLayout: Equatable, Sendable {
    public var height: Int
    public var width: Int
    public var channels: Int
    public var border: Int

    @inlinable
    public init(height: Int, width: Int, channels: Int, border: Int = 1) {
        self.height = height
        self.width = width
        self.channels = channels
        self.border = border
    }

    /// 64-bit words per pixel.
    @inlinable public var words: Int { bitWords(channels) }
    /// Words between the starts of two consecutive rows.
    @inlinable public var rowStride: Int { (width + 2 * border) * words }
    /// Words in the whole buffer, border included.
    @inlinable public var count: Int { (height + 2 * border) * rowStride }
    /// Word index of pixel `(y, x)`; `y` and `x` may reach `-border ..< size + border`.
    @inlinable public func offset(_ y: Int, _ x: Int) -> Int {
        (y + border) * rowStride + (x + border) * words
    }
}

/// Where a real-valued `height x width x channels` activation lives: dense, channels-last, no border.
public struct RealLayout: Equatable, Sendable {
    public var height: Int
    public var width: Int
    public var channels: Int

    @inlinable
    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    @inlinable public var count: Int { height * width * channels }
}
