// The byte-counting patch popcount of the aarch64 NEON tier, in portable Swift.
//
// Per 128 bits and output channel: xor, a per-byte popcount (`SIMD16<UInt8>.nonzeroBitCount`, one
// `cnt.16b` on aarch64) and a byte add; the byte counts pile up in 16 lanes and are folded into two
// 64-bit lanes every at most 31 steps (31 * 8 < 256). Four output channels share each input load; rows
// with an odd number of words finish with a scalar word. On x86-64 the stdlib lowers the byte popcount
// lane by lane (slow), so there it only serves the tests (`GenericKernels.binaryConvByteCounting`).

@inlinable @inline(__always)
public func _load16(_ p: UnsafePointer<UInt64>) -> SIMD16<UInt8> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt8>.self)
}

/// Sums the 8 bytes of each 64-bit lane.
@inlinable @inline(__always)
public func _byteSums(_ v: SIMD16<UInt8>) -> SIMD2<UInt64> {
    var x = unsafeBitCast(v, to: SIMD2<UInt64>.self)
    x = (x & 0x00FF_00FF_00FF_00FF) &+ ((x &>> 8) & 0x00FF_00FF_00FF_00FF)
    x = (x & 0x0000_FFFF_0000_FFFF) &+ ((x &>> 16) & 0x0000_FFFF_0000_FFFF)
    return (x & 0xFFFF_FFFF) &+ (x &>> 32)
}

@inlinable @inline(__always)
public func _bytePatchPopcount4(_ a: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int, run: Int,
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

extension GenericKernels {
    /// The NEON tier's algorithm compiled for this target (correctness tests on any architecture).
    public static func binaryConvByteCounting(_ p: BinaryConvParams, rows: Range<Int>) {
        _binaryConvBlocked(p, rows: rows) { a, rs, k, run, w, wpc in
            _bytePatchPopcount4(a, rowStride: rs, kernel: k, run: run, weights: w, wordsPerChannel: wpc)
        }
    }
}
