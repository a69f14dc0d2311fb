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

/// Two patches (`a0`, `a1`: neighbouring output pixels) against four output channels: each weight load
/// serves two pixels, each input load four channels (6 loads per 8 byte-popcounts).
@inlinable @inline(__always)
public func _bytePatchPopcount2x4(_ a0: UnsafePointer<UInt64>, _ a1: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int,
                                  run: Int, weights w0: UnsafePointer<UInt64>, wordsPerChannel wpc: Int)
    -> (SIMD4<Int32>, SIMD4<Int32>) {
    var t00 = SIMD2<UInt64>(), t01 = SIMD2<UInt64>(), t02 = SIMD2<UInt64>(), t03 = SIMD2<UInt64>()
    var t10 = SIMD2<UInt64>(), t11 = SIMD2<UInt64>(), t12 = SIMD2<UInt64>(), t13 = SIMD2<UInt64>()
    var tail0 = SIMD4<Int>(), tail1 = SIMD4<Int>()
    let w1 = w0 + wpc, w2 = w1 + wpc, w3 = w2 + wpc
    let pairs = run >> 1
    for ky in 0..<k {
        let r0 = a0 + ky &* rowStride, r1 = a1 + ky &* rowStride
        let o = ky &* run
        var j = 0
        while j < pairs {
            let end = min(pairs, j &+ 31)
            var b00 = SIMD16<UInt8>(), b01 = SIMD16<UInt8>(), b02 = SIMD16<UInt8>(), b03 = SIMD16<UInt8>()
            var b10 = SIMD16<UInt8>(), b11 = SIMD16<UInt8>(), b12 = SIMD16<UInt8>(), b13 = SIMD16<UInt8>()
            while j < end {
                let i = j &<< 1
                let x0 = _load16(r0 + i), x1 = _load16(r1 + i)
                let v0 = _load16(w0 + (o &+ i)), v1 = _load16(w1 + (o &+ i))
                let v2 = _load16(w2 + (o &+ i)), v3 = _load16(w3 + (o &+ i))
                b00 &+= (x0 ^ v0).nonzeroBitCount
                b01 &+= (x0 ^ v1).nonzeroBitCount
                b02 &+= (x0 ^ v2).nonzeroBitCount
                b03 &+= (x0 ^ v3).nonzeroBitCount
                b10 &+= (x1 ^ v0).nonzeroBitCount
                b11 &+= (x1 ^ v1).nonzeroBitCount
                b12 &+= (x1 ^ v2).nonzeroBitCount
                b13 &+= (x1 ^ v3).nonzeroBitCount
                j &+= 1
            }
            t00 &+= _byteSums(b00); t01 &+= _byteSums(b01); t02 &+= _byteSums(b02); t03 &+= _byteSums(b03)
            t10 &+= _byteSums(b10); t11 &+= _byteSums(b11); t12 &+= _byteSums(b12); t13 &+= _byteSums(b13)
        }
        if run & 1 == 1 {
            let i = run &- 1
            let x0 = r0[i], x1 = r1[i]
            let ws = SIMD4(w0[o &+ i], w1[o &+ i], w2[o &+ i], w3[o &+ i])
            for c in 0..<4 {
                tail0[c] &+= (x0 ^ ws[c]).nonzeroBitCount
                tail1[c] &+= (x1 ^ ws[c]).nonzeroBitCount
            }
        }
    }
    func total(_ t: SIMD2<UInt64>, _ s: Int) -> Int32 { Int32(truncatingIfNeeded: Int(t.wrappedSum()) &+ s) }
    return (SIMD4(total(t00, tail0[0]), total(t01, tail0[1]), total(t02, tail0[2]), total(t03, tail0[3])),
            SIMD4(total(t10, tail1[0]), total(t11, tail1[1]), total(t12, tail1[2]), total(t13, tail1[3])))
}

/// The loop nest for pixel pairs: two neighbouring output pixels per pass over four output channels
/// (the last pixel of an odd row runs alone). Same outputs as `_binaryConvBlocked`.
@inlinable @inline(__always)
public func _binaryConvPairs(_ p: BinaryConvParams, rows: Range<Int>) {
    if let sb = p.second {
        // The pair is the pixel's two bases: each weight load serves both.
        _binaryConvTwoBases(p, sb, rows: rows) { a1, a2, rs, k, run, w, wpc in
            _bytePatchPopcount2x4(a1, a2, rowStride: rs, kernel: k, run: run, weights: w, wordsPerChannel: wpc)
        }
        return
    }
    let k = p.kernel, s = p.stride, pad = p.padding
    let l = p.inLayout
    let run = k * l.words
    let wpc = k * run
    let rowStride = l.rowStride
    let outW = p.outWidth, outC = p.outChannels
    let depth = Int32(p.depth)
    let cols = p.columnRange
    for oy in rows {
        var ox = cols.lowerBound
        while ox < cols.upperBound {
            let pair = ox + 1 < cols.upperBound
            let a0 = p.input + l.offset(oy * s - pad, ox * s - pad)
            let a1 = pair ? a0 + s * l.words : a0
            var word0: UInt64 = 0, word1: UInt64 = 0
            var oc = 0
            while oc < outC {
                let (c0, c1): (SIMD4<Int32>, SIMD4<Int32>)
                let n: Int
                if oc + 4 <= outC {
                    (c0, c1) = _bytePatchPopcount2x4(a0, a1, rowStride: rowStride, kernel: k, run: run,
                                                     weights: p.weights + oc * wpc, wordsPerChannel: wpc)
                    n = 4
                } else {
                    let x = _patchPopcount1(a0, rowStride: rowStride, kernel: k, run: run, weights: p.weights + oc * wpc)
                    let y = _patchPopcount1(a1, rowStride: rowStride, kernel: k, run: run, weights: p.weights + oc * wpc)
                    (c0, c1) = (SIMD4(x, 0, 0, 0), SIMD4(y, 0, 0, 0))
                    n = 1
                }
                switch p.output {
                case .bits(let out, let ol, let thr):
                    for j in 0..<n {
                        let bit = UInt64(1) << UInt64((oc + j) & 63)
                        if c0[j] >= thr[oc + j] { word0 |= bit }
                        if c1[j] >= thr[oc + j] { word1 |= bit }
                    }
                    if (oc + n) & 63 == 0 || oc + n == outC {
                        let w = (oc + n - 1) >> 6
                        out[ol.offset(oy, ox) + w] = word0
                        if pair { out[ol.offset(oy, ox + 1) + w] = word1 }
                        word0 = 0
                        word1 = 0
                    }
                case .real(let out, let scale, let bias, let shortcut, let prelu) where n == 4:
                    let pix0 = oy * outW + ox
                    _realEpilogue4(c0, depth: depth, channel: oc, pixel: pix0, scale: scale, bias: bias,
                                   shortcut: shortcut, prelu: prelu, into: out + pix0 * outC)
                    if pair {
                        _realEpilogue4(c1, depth: depth, channel: oc, pixel: pix0 + 1, scale: scale, bias: bias,
                                       shortcut: shortcut, prelu: prelu, into: out + (pix0 + 1) * outC)
                    }
                case .real(let out, let scale, let bias, let shortcut, let prelu):
                    let pix0 = oy * outW + ox
                    for j in 0..<n {
                        out[pix0 * outC + oc + j] = _realEpilogue(c0[j], depth: depth, channel: oc + j, pixel: pix0,
                                                                  scale: scale, bias: bias, shortcut: shortcut, prelu: prelu)
                        if pair {
                            out[(pix0 + 1) * outC + oc + j] = _realEpilogue(c1[j], depth: depth, channel: oc + j, pixel: pix0 + 1,
                                                                            scale: scale, bias: bias, shortcut: shortcut, prelu: prelu)
                        }
                    }
                }
                oc += n
            }
            if case .real(let out, _, _, _, _) = p.output {
                p.packPixel(out + (oy * outW + ox) * outC, oy, ox)
                if pair { p.packPixel(out + (oy * outW + ox + 1) * outC, oy, ox + 1) }
            }
            ox += pair ? 2 : 1
        }
    }
}

extension GenericKernels {
    /// The NEON tier's pixel-pair algorithm compiled for this target (correctness tests on any architecture).
    public static func binaryConvByteCountingPairs(_ p: BinaryConvParams, rows: Range<Int>) {
        _binaryConvPairs(p, rows: rows)
    }
}
