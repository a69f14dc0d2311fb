/// The arguments of the first layer (`RealOps.firstConvVector`): 8-bit image to real or packed output.
public struct FirstConvParams: @unchecked Sendable {
    public var image: UnsafePointer<UInt8>
    public var layout: RealLayout
    public var zeroPoint: Int32
    /// Weights prepared by `RealOps.prepareFirstConvWeights`.
    public var weights: UnsafePointer<Float>
    public var outChannels: Int
    public var stride: Int
    public var output: FirstConvOutput

    @inlinable
    public init(image: UnsafePointer<UInt8>, layout: RealLayout, zeroPoint: Int32, weights: UnsafePointer<Float>,
                outChannels: Int, stride: Int, output: FirstConvOutput) {
        self.image = image
        self.layout = layout
        self.zeroPoint = zeroPoint
        self.weights = weights
        self.outChannels = outChannels
        self.stride = stride
        self.output = output
    }

    @inlinable public var outHeight: Int { convOutputSize(layout.height, kernel: 3, stride: stride, padding: 1) }
}

/// The arguments of a real 1x1 convolution (`RealOps.conv1x1Lanes`).
public struct Conv1x1Params: @unchecked Sendable {
    public var input: UnsafePointer<Float>
    public var layout: RealLayout
    /// Weights transposed by `RealOps.transposeConv1x1Weights`.
    public var weights: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>
    public var outChannels: Int
    public var stride: Int
    public var output: UnsafeMutablePointer<Float>

    @inlinable
    public init(input: UnsafePointer<Float>, layout: RealLayout, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                outChannels: Int, stride: Int, output: UnsafeMutablePointer<Float>) {
        self.input = input
        self.layout = layout
        self.weights = weights
        self.bias = bias
        self.outChannels = outChannels
        self.stride = stride
        self.output = output
    }
}

/// The real-valued kernels of a tier: the same portable Swift (`@inlinable`, always inlined) compiled by
/// the module that builds the table, so a tier target built with wider vectors (BitKernelsX86: AVX2) gets
/// them in these loops too. Every implementation is bit-identical to the scalar reference in `RealOps`.
public struct RealKernels: Sendable {
    /// Output rows of the first layer.
    public var firstConv: @Sendable (FirstConvParams, Range<Int>) -> Void
    /// Output rows, and optionally columns, of a real 1x1 convolution.
    public var conv1x1: @Sendable (Conv1x1Params, Range<Int>, Range<Int>?) -> Void
    /// The shifted PReLU over a whole tensor.
    public var prelu: @Sendable (UnsafePointer<Float>, RealLayout, ShiftedPReLU, UnsafeMutablePointer<Float>) -> Void
    /// Average pooling (window height, width) over a whole tensor.
    public var avgPool: @Sendable (UnsafePointer<Float>, RealLayout, Int, Int, UnsafeMutablePointer<Float>) -> Void

    public init(firstConv: @escaping @Sendable (FirstConvParams, Range<Int>) -> Void,
                conv1x1: @escaping @Sendable (Conv1x1Params, Range<Int>, Range<Int>?) -> Void,
                prelu: @escaping @Sendable (UnsafePointer<Float>, RealLayout, ShiftedPReLU, UnsafeMutablePointer<Float>) -> Void,
                avgPool: @escaping @Sendable (UnsafePointer<Float>, RealLayout, Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        self.firstConv = firstConv
        self.conv1x1 = conv1x1
        self.prelu = prelu
        self.avgPool = avgPool
    }

    /// Compiled for the baseline CPU (this module's flags). A tier target builds its own table from the same
    /// `@inlinable` loops (BinaryConv+X86.swift).
    public static let portable = RealKernels(
        firstConv: { RealOps.firstConvVector($0, rows: $1) },
        conv1x1: { RealOps._conv1x1($0, rows: $1, columns: $2) },
        prelu: { RealOps.preluLanes($0, $1, $2, into: $3) },
        avgPool: { RealOps.avgPoolLanes($0, $1, ph: $2, pw: $3, into: $4) })
}

extension RealOps {
    /// `conv1x1Lanes` with its arguments in one value (for the `RealKernels` tables).
    @inlinable @inline(__always)
    public static func _conv1x1(_ p: Conv1x1Params, rows: Range<Int>, columns: Range<Int>?) {
        conv1x1Lanes(p.input, p.layout, transposedWeights: p.weights, bias: p.bias, outChannels: p.outChannels,
                     stride: p.stride, into: p.output, rows: rows, columns: columns)
    }
}
