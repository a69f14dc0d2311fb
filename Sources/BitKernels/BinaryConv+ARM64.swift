#if arch(arm64)
// The aarch64 tier. AArch64 always has NEON (Advanced SIMD), so no run-time check is needed.
//
// Inner loop per 128 bits and output channel: `eor`, `cnt.16b`, `add.16b` (the byte counts pile up in
// 16 byte lanes, as in Larq Compute Engine's aarch64 kernels); every at most 31 steps the bytes are folded
// into two 64-bit lanes. `SIMD16<UInt8>.nonzeroBitCount` lowers to one `cnt.16b` on aarch64 (checked in
// the assembly; Scripts/bench/neon_mca.sh feeds this loop to llvm-mca). Four output channels share each
// input load. Patches whose rows are an odd number of words finish with a scalar word.

@inline(__always)
func _load16(_ p: UnsafePointer<UInt64>) -> SIMD16<UInt8> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt8>.self)
}

/// Sums the 8 bytes of each 64-bit lane.
@inline(__always)
func _byteSums(_ v: SIMD16<UInt8>) -> SIMD2<UInt64> {
    var x = unsafeBitCast(v, to: SIMD2<UInt64>.self)
    x = (x & 0x00FF_00FF_00FF_00FF) &+ ((x &>> 8) & 0x00FF_00FF_00FF_00FF)
    x = (x & 0x0000_FFFF_0000_FFFF) &+ ((x &>> 16) & 0x0000_FFFF_0000_FFFF)
    return (x & 0xFFFF_FFFF) &+ (x &>> 32)
}

@inline(__always)
func _neonPatchPopcount4(_ a: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int, run: Int,
                         weights w0: UnsafePointer<UInt64>, wordsPerChannel wpc: Int) -> SIMD4<Int32> {
    var t0 = SIMD2<UInt64>(), t1 = SIMD2<UInt64>(), t2 = SIMD2<UInt64>(), t3 = SIMD2<UInt64>()
    var s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let w1 = w0 + wpc, w2 = w1 + wpc, w3 = w2 + wpc
    let pairs = run >> 1
    for ky in 0..<k {
        let ar = a + ky &* rowStride
        let o = ky &* run
        var j = 0
        while j < pairs {
            let end = min(pairs, j &+ 31)
            var b0 = SIMD16<UInt8>(), b1 = SIMD16<UInt8>(), b2 = SIMD16<UInt8>(), b3 = SIMD16<UInt8>()
            while j < end {
                let i = j &<< 1
                let x = _load16(ar + i)
                b0 &+= (x ^ _load16(w0 + (o &+ i))).nonzeroBitCount
                b1 &+= (x ^ _load16(w1 + (o &+ i))).nonzeroBitCount
                b2 &+= (x ^ _load16(w2 + (o &+ i))).nonzeroBitCount
                b3 &+= (x ^ _load16(w3 + (o &+ i))).nonzeroBitCount
                j &+= 1
            }
            t0 &+= _byteSums(b0)
            t1 &+= _byteSums(b1)
            t2 &+= _byteSums(b2)
            t3 &+= _byteSums(b3)
        }
        if run & 1 == 1 {
            let i = run &- 1
            let x = ar[i]
            s0 &+= (x ^ w0[o &+ i]).nonzeroBitCount
            s1 &+= (x ^ w1[o &+ i]).nonzeroBitCount
            s2 &+= (x ^ w2[o &+ i]).nonzeroBitCount
            s3 &+= (x ^ w3[o &+ i]).nonzeroBitCount
        }
    }
    return SIMD4(Int32(truncatingIfNeeded: Int(t0.wrappedSum()) &+ s0),
                 Int32(truncatingIfNeeded: Int(t1.wrappedSum()) &+ s1),
                 Int32(truncatingIfNeeded: Int(t2.wrappedSum()) &+ s2),
                 Int32(truncatingIfNeeded: Int(t3.wrappedSum()) &+ s3))
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
