/// Per-channel parameters of a shifted PReLU (ReActNet's RPReLU):
/// `y = prelu(x - shiftIn[c], slope[c]) + shiftOut[c]`.
public struct ShiftedPReLU: @unchecked Sendable {
    public var shiftIn: UnsafePointer<Float>
    public var slope: UnsafePointer<Float>
    public var shiftOut: UnsafePointer<Float>

    @inlinable
    public init(shiftIn: UnsafePointer<Float>, slope: UnsafePointer<Float>, shiftOut: UnsafePointer<Float>) {
        self.shiftIn = shiftIn
        self.slope = slope
        self.shiftOut = shiftOut
    }

    /// Applies the function to `x` for channel `c`.
    @inlinable @inline(__always)
    public func apply(_ x: Float, _ c: Int) -> Float {
        let t = x - shiftIn[c]
        return (t >= 0 ? t : slope[c] * t) + shiftOut[c]
    }
}

/// A real-valued tensor added to a binary convolution's real output (a Bi-Real Net shortcut).
///
/// `values` is `height x width x channels` with the convolution's output size; output channel `c`
/// adds channel `map[c]` of the shortcut, or channel `c` when `map` is nil (pruned layers keep a map).
public struct Shortcut: @unchecked Sendable {
    public var values: UnsafePointer<Float>
    public var channels: Int
    public var map: UnsafePointer<Int32>?

    @inlinable
    public init(values: UnsafePointer<Float>, channels: Int, map: UnsafePointer<Int32>? = nil) {
        self.values = values
        self.channels = channels
        self.map = map
    }
}

/// What a binary convolution writes.
public enum BinaryConvOutput: @unchecked Sendable {
    /// Packed bits: output bit of channel `c` is 1 (value -1) iff `popcount >= thresholds[c]`
    /// (batch-norm + sign folded into one integer per channel, see docs/model-format.md).
    case bits(UnsafeMutablePointer<UInt64>, PackedLayout, thresholds: UnsafePointer<Int32>)
    /// Real values, dense channels-last: `y = scale[c] * dot + bias[c]` with `dot = K - 2 * popcount`,
    /// then `+ shortcut` when given, then the shifted PReLU when given.
    case real(UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>,
              shortcut: Shortcut?, prelu: ShiftedPReLU?)
}

/// Where a fused sign-pack writes: bit 1 iff `y < thresholds[c]` (the `sign_pack` rule).
public struct SignPack: @unchecked Sendable {
    public var bits: UnsafeMutablePointer<UInt64>
    public var layout: PackedLayout
    public var thresholds: UnsafePointer<Float>
    /// A second sign-pack of the same values at other thresholds, in the same layout (the second activation
    /// base of the next two-base convolution), written in the same pass.
    public var bits2: UnsafeMutablePointer<UInt64>?
    public var thresholds2: UnsafePointer<Float>?

    @inlinable
    public init(bits: UnsafeMutablePointer<UInt64>, layout: PackedLayout, thresholds: UnsafePointer<Float>,
                bits2: UnsafeMutablePointer<UInt64>? = nil, thresholds2: UnsafePointer<Float>? = nil) {
        self.bits = bits
        self.layout = layout
        self.thresholds = thresholds
        self.bits2 = bits2
        self.thresholds2 = thresholds2
    }
}

/// The second activation base of a two-base binary convolution (ABC-Net): the same weights convolved with a
/// second sign-pack of the block's input (`input`, in the convolution's input layout), combined in one
/// epilogue as the model file's two chained convolutions compute it (docs/model-format.md):
/// `y2 = scale[c] * dot2 + bias[c] (+ shortcut)`, then `y = outScale[c] * dot1 + outBias[c] + y2`, then the
/// PReLU. The output's own `shortcut` must be nil (the second base's result takes its place).
public struct SecondBase: @unchecked Sendable {
    public var input: UnsafePointer<UInt64>
    public var scale: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>
    public var shortcut: Shortcut?

    @inlinable
    public init(input: UnsafePointer<UInt64>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, shortcut: Shortcut?) {
        self.input = input
        self.scale = scale
        self.bias = bias
        self.shortcut = shortcut
    }
}

/// One binary convolution (3x3 with padding 1, or 1x1 without padding; stride 1 or 2).
///
/// Weights are `outChannels x kernel x kernel x words(inChannels)` packed words, in the same bit
/// convention as activations. A binary dense layer is a 1x1 convolution over a 1x1 input.
public struct BinaryConvParams: @unchecked Sendable {
    public var input: UnsafePointer<UInt64>
    public var inLayout: PackedLayout
    public var weights: UnsafePointer<UInt64>
    public var outChannels: Int
    public var kernel: Int
    public var stride: Int
    public var output: BinaryConvOutput
    /// With a real output: also sign-pack each output pixel for the next binary convolution, in the same
    /// pass while the pixel's values are in L1 (the fused "sign-and-pack" of the real-valued path).
    public var signPack: SignPack?
    /// Output columns to compute (every column when nil): the executor's tile-region mode runs a layer on
    /// row runs only. Other columns of the output are left as they were.
    public var columns: Range<Int>?
    /// A two-base convolution's second base (real output only): one pass over the weights computes both
    /// popcounts, one epilogue combines them (`SecondBase`).
    public var second: SecondBase?

    @inlinable
    public init(input: UnsafePointer<UInt64>, inLayout: PackedLayout, weights: UnsafePointer<UInt64>,
                outChannels: Int, kernel: Int, stride: Int, output: BinaryConvOutput, signPack: SignPack? = nil,
                columns: Range<Int>? = nil, second: SecondBase? = nil) {
        self.input = input
        self.inLayout = inLayout
        self.weights = weights
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.output = output
        self.signPack = signPack
        self.columns = columns
        self.second = second
    }

    /// The output columns a kernel computes: `columns` clamped to the output, or all of them.
    @inlinable public var columnRange: Range<Int> {
        guard let c = columns else { return 0..<outWidth }
        return c.clamped(to: 0..<outWidth)
    }

    /// Packs real output pixel `(oy, ox)` (just written at `values`) when `signPack` is set.
    @inlinable @inline(__always)
    public func packPixel(_ values: UnsafePointer<Float>, _ oy: Int, _ ox: Int) {
        if let s = signPack {
            let o = s.layout.offset(oy, ox)
            Packing.packPixel(values, channels: outChannels, thresholds: s.thresholds, into: s.bits + o)
            if let b2 = s.bits2, let t2 = s.thresholds2 {
                Packing.packPixel(values, channels: outChannels, thresholds: t2, into: b2 + o)
            }
        }
    }

    /// Zero padding rows/columns on each side: 1 for 3x3, 0 for 1x1.
    @inlinable public var padding: Int { kernel / 2 }
    @inlinable public var outHeight: Int { convOutputSize(inLayout.height, kernel: kernel, stride: stride, padding: padding) }
    @inlinable public var outWidth: Int { convOutputSize(inLayout.width, kernel: kernel, stride: stride, padding: padding) }
    /// Length of the ±1 dot product per output value.
    @inlinable public var depth: Int { kernel * kernel * inLayout.channels }
    /// Words per output channel in `weights`.
    @inlinable public var weightWordsPerChannel: Int { kernel * kernel * inLayout.words }

    /// Whether the shapes fit together (checked once, outside the loops).
    public var isValid: Bool {
        guard kernel == 1 || kernel == 3, stride == 1 || stride == 2, outChannels > 0,
              inLayout.channels > 0, inLayout.height > 0, inLayout.width > 0,
              inLayout.border >= padding else { return false }
        if case .bits(_, let l, _) = output {
            return signPack == nil && second == nil && l.height == outHeight && l.width == outWidth && l.channels == outChannels
        }
        if second != nil, case .real(_, _, _, let shortcut, _) = output, shortcut != nil { return false }
        if let s = signPack {
            return s.layout.height == outHeight && s.layout.width == outWidth && s.layout.channels == outChannels
        }
        return true
    }
}
