/// The implementations of the binary kernels, from slowest and simplest to fastest.
public enum KernelTier: String, CaseIterable, Sendable {
    /// One ±1 multiply per bit: the oracle every other tier is tested against.
    case reference
    /// Word-wide xor + popcount, blocked over output channels; portable Swift for the baseline CPU.
    case generic
    /// The blocked kernel compiled for x86-64 with AVX2 + POPCNT (target BitKernelsX86).
    case x86AVX2 = "x86-avx2"
    /// The NEON kernel for aarch64 (BinaryConv+ARM64.swift).
    case arm64NEON = "arm64-neon"
}

/// The kernel entry points of one tier. A table of functions (no protocols, no existentials) so it
/// also works in Embedded Swift; the selector in BitNet fills it once at model load.
public struct KernelSet: Sendable {
    public var tier: KernelTier
    /// The weight layout `binaryConv` expects in `BinaryConvParams.weights`.
    public var weightLayout: WeightLayout
    /// Runs the given output rows of a binary convolution.
    public var binaryConv: @Sendable (BinaryConvParams, Range<Int>) -> Void
    /// The roofline loop compiled like this tier (iterations, seed) -> checksum; see `_xorPopcountLoop`.
    public var xorPopcountLoop: @Sendable (Int, UInt64) -> Int
    /// 64-bit words popcounted per iteration of `xorPopcountLoop`.
    public var xorPopcountLoopWords: Int
    /// The real-valued layers (first layer, 1x1 convolutions, PReLU, pooling).
    public var real: RealKernels

    public init(tier: KernelTier, weightLayout: WeightLayout = .channelMajor, binaryConv: @escaping @Sendable (BinaryConvParams, Range<Int>) -> Void,
                xorPopcountLoop: @escaping @Sendable (Int, UInt64) -> Int, xorPopcountLoopWords: Int = 8,
                real: RealKernels = .portable) {
        self.tier = tier
        self.weightLayout = weightLayout
        self.binaryConv = binaryConv
        self.xorPopcountLoop = xorPopcountLoop
        self.xorPopcountLoopWords = xorPopcountLoopWords
        self.real = real
    }

    /// The scalar reference tier.
    public static let reference = KernelSet(tier: .reference, binaryConv: ReferenceKernels.binaryConv,
                                            xorPopcountLoop: GenericKernels.xorPopcountLoop)
    /// The portable tier.
    public static let generic = KernelSet(tier: .generic, binaryConv: GenericKernels.binaryConv,
                                          xorPopcountLoop: GenericKernels.xorPopcountLoop)
}
