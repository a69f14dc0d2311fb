#if arch(x86_64)
import BitKernels

// The tuned x86-64 tier. This target is compiled with `-Xcc -mavx2 -Xcc -mpopcnt` (Package.swift), which
// is what changes the Swift code generation (the clang importer's target features reach LLVM): the
// blocked kernel instantiated here uses the `popcnt` instruction instead of the baseline's bit-twiddling
// emulation. Only call it when `bitkernels_cpu_has_x86_avx2_popcnt()` says the CPU has both.

/// The x86-64 AVX2 + POPCNT tier.
public enum X86Kernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        _binaryConvBlocked(p, rows: rows)
    }
}

extension KernelSet {
    /// The x86-64 AVX2 + POPCNT tier (check the CPU first).
    public static let x86AVX2 = KernelSet(tier: .x86AVX2, binaryConv: X86Kernels.binaryConv)
}
#endif
