#if arch(arm64)
// The aarch64 tier. AArch64 always has NEON (Advanced SIMD), so no run-time check is needed.
//
// The kernel is `_binaryConvPairs` with `_bytePatchPopcount2x4` (Generic/PatchPopcount+Bytes.swift, portable so that the
// x86-64 tests check its logic too): per 128 bits and output channel `eor`, `cnt.16b`, `add.16b`, as in
// Larq Compute Engine's aarch64 kernels. Scripts/bench/neon_mca.py feeds the loop to llvm-mca.

/// The aarch64 NEON tier.
public enum NEONKernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        // Two output pixels x four output channels per pass (`_binaryConvPairs`).
        _binaryConvPairs(p, rows: rows)
    }
}

extension KernelSet {
    /// The aarch64 NEON tier.
    public static let arm64NEON = KernelSet(tier: .arm64NEON, binaryConv: NEONKernels.binaryConv,
                                            xorPopcountLoop: GenericKernels.xorPopcountLoop)
}
#endif
