#if arch(x86_64)
import BitKernels

// The tuned x86-64 tier. This target is compiled with `-Xcc -mavx2 -Xcc -mpopcnt` (Package.swift), which
// is what changes Swift's code generation (the clang importer's target features reach LLVM): the blocked
// kernel instantiated here uses `popcnt` and AVX2 where the baseline build emulates the popcount with
// shifts and masks. Only call it when `bitkernels_cpu_has_x86_avx2_popcnt()` says the CPU has both.
//
// Tried and measured slower on the EPYC test machines (November 2026): a 2-pixel x 8-channel micro-kernel
// over interleaved weights with `SIMD32<UInt8>.nonzeroBitCount` (the stdlib lowers it lane by lane, not
// to `vpshufb`) and with a SWAR byte popcount on `SIMD4<UInt64>` (about 130 G binary MAC/s, below the
// 1x4 scalar-popcount block). A `vpshufb` kernel with deferred `vpsadbw` needs intrinsics (C), not done.

/// The x86-64 AVX2 + POPCNT tier.
public enum X86Kernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        _binaryConvBlocked(p, rows: rows)
    }

    /// The roofline loop compiled with AVX2 + POPCNT.
    public static func xorPopcountLoop(iterations: Int, seed: UInt64) -> Int {
        _xorPopcountLoop(iterations: iterations, seed: seed)
    }
}

extension KernelSet {
    /// The x86-64 AVX2 + POPCNT tier (check the CPU first).
    public static let x86AVX2 = KernelSet(tier: .x86AVX2, binaryConv: X86Kernels.binaryConv,
                                          xorPopcountLoop: X86Kernels.xorPopcountLoop)
}
#endif
