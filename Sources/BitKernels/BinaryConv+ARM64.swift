#if arch(arm64)
// The aarch64 tier. AArch64 always has NEON (Advanced SIMD), so no run-time check is needed.
//
// The inner loop works on 128-bit vectors: `SIMD2<UInt64>` xor, then `nonzeroBitCount`, which LLVM
// lowers to NEON `cnt` (bytes) + `uaddlp`/`uadalp` pairwise widening adds, the same instruction mix as
// Larq Compute Engine's aarch64 kernels. Patches whose rows are an odd number of words finish with a
// scalar word.

@inlinable @inline(__always)
func _neonPatchPopcount4(_ a: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int, run: Int,
                         weights w0: UnsafePointer<UInt64>, wordsPerChannel wpc: Int) -> SIMD4<Int32> {
    var v0 = SIMD2<UInt64>(), v1 = SIMD2<UInt64>(), v2 = SIMD2<UInt64>(), v3 = SIMD2<UInt64>()
    var s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let w1 = w0 + wpc, w2 = w1 + wpc, w3 = w2 + wpc
    let pairs = run / 2
    for ky in 0..<k {
        let ar = a + ky * rowStride
        let o = ky * run
        for j in 0..<pairs {
            let i = 2 * j
            let x = SIMD2(ar[i], ar[i + 1])
            v0 &+= (x ^ SIMD2(w0[o + i], w0[o + i + 1])).nonzeroBitCount
            v1 &+= (x ^ SIMD2(w1[o + i], w1[o + i + 1])).nonzeroBitCount
            v2 &+= (x ^ SIMD2(w2[o + i], w2[o + i + 1])).nonzeroBitCount
            v3 &+= (x ^ SIMD2(w3[o + i], w3[o + i + 1])).nonzeroBitCount
        }
        if run & 1 == 1 {
            let i = run - 1
            let x = ar[i]
            s0 &+= (x ^ w0[o + i]).nonzeroBitCount
            s1 &+= (x ^ w1[o + i]).nonzeroBitCount
            s2 &+= (x ^ w2[o + i]).nonzeroBitCount
            s3 &+= (x ^ w3[o + i]).nonzeroBitCount
        }
    }
    return SIMD4(Int32(truncatingIfNeeded: Int(v0.wrappedSum()) &+ s0),
                 Int32(truncatingIfNeeded: Int(v1.wrappedSum()) &+ s1),
                 Int32(truncatingIfNeeded: Int(v2.wrappedSum()) &+ s2),
                 Int32(truncatingIfNeeded: Int(v3.wrappedSum()) &+ s3))
}

/// The aarch64 NEON tier.
public enum NEONKernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        // Same loop nest as the blocked kernel; only the patch popcount differs.
        _binaryConvBlocked(p, rows: rows) { a, rs, k, run, w, wpc in
            _neonPatchPopcount4(a, rowStride: rs, kernel: k, run: run, weights: w, wordsPerChannel: wpc)
        }
    }
}

extension KernelSet {
    /// The aarch64 NEON tier.
    public static let arm64NEON = KernelSet(tier: .arm64NEON, binaryConv: NEONKernels.binaryConv,
                                          xorPopcountLoop: GenericKernels.xorPopcountLoop)
}
#endif
