/// One decoded frame as 8-bit luma (grey levels), rows packed with no padding.
public struct LumaFrame: Sendable {
    public let width: Int
    public let height: Int
    /// `width * height` grey levels, row by row.
    public var pixels: [UInt8]
    /// Presentation time in seconds from the start of the stream.
    public let time: Double
    /// 0-based index among all decoded frames of the stream.
    public let index: Int
    /// Whether the decoder marked this frame as a key frame.
    public let isKeyFrame: Bool

    public init(width: Int, height: Int, pixels: [UInt8], time: Double, index: Int, isKeyFrame: Bool) {
        precondition(pixels.count == width * height, "luma buffer size does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.time = time
        self.index = index
        self.isKeyFrame = isKeyFrame
    }

    /// The grey level at (x, y).
    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }
}

/// A width and height in pixels, parsed from `WxH`.
public struct FrameSize: Sendable, Equatable, CustomStringConvertible, Codable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Parses `1280x720`.
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw VideoIOError(.badRequest, text, "not a size; write WIDTHxHEIGHT, e.g. 640x360")
        }
        guard (16...8192).contains(w), (16...8192).contains(h) else {
            throw VideoIOError(.badRequest, text, "size out of range (16 to 8192 pixels a side)")
        }
        self.init(width: w, height: h)
    }

    public var description: String { "\(width)x\(height)" }
}
