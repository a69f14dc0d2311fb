// The blocked XNOR-popcount convolution shared by the generic tier and the tuned x86-64 tier.
//
// It is `@inlinable @inline(__always)` on purpose: the generic tier instantiates it in this module
// (compiled for the baseline CPU), the x86-64 tier instantiates it in BitKernelsX86, which is compiled
// with AVX2 + POPCNT, so the same source becomes `popcnt` instructions there.

/// Popcounts of the patch at `a` against four consecutive output channels' weights.
@inlinable @inline(__always)
public func _patchPopcount4(_ a: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int, run: Int,
                            weights w0: UnsafePointer<UInt64>, wordsPerChannel wpc: Int) -> SIMD4<Int32> {
    var s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let w1 = w0 + wpc, w2 = w1 + wpc, w3 = w2 + wpc
    for ky in 0..<k {
        let ar = a + ky * rowStride
        let o = ky * run
        for i in 0..<run {
            let x = ar[i]
            s0 &+= (x ^ w0[o + i]).nonzeroBitCount
            s1 &+= (x ^ w1[o + i]).nonzeroBitCount
            s2 &+= (x ^ w2[o + i]).nonzeroBitCount
            s3 &+= (x ^ w3[o + i]).nonzeroBitCount
        }
    }
    return SIMD4(Int32(truncatingIfNeeded: s0), Int32(truncatingIfNeeded: s1),
                 Int32(truncatingIfNeeded: s2), Int32(truncatingIfNeeded: s3))
}

/// Popcount of the patch at `a` against one output channel's weights.
@inlinable @inline(__always)
public func _patchPopcount1(_ a: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int, run: Int,
                            weights w0: UnsafePointer<UInt64>) -> Int32 {
    var s0 = 0
    for ky in 0..<k {
        let ar = a + ky * rowStride
        let o = ky * run
        for i in 0..<run { s0 &+= (ar[i] ^ w0[o + i]).nonzeroBitCount }
    }
    return Int32(truncatingIfNeeded: s0)
}

/// The real-valued epilogue of one output value.
@inlinable @inline(__always)
public func _realEpilogue(_ popcount: Int32, depth: Int32, channel c: Int, pixel: Int,
                          scale: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          shortcut: Shortcut?, prelu: ShiftedPReLU?) -> Float {
    var y = scale[c] * Float(depth &- 2 &* popcount) + bias[c]
    if let s = shortcut {
        let sc = s.map.map { Int($0[c]) } ?? c
        y += s.values[pixel * s.channels + sc]
    }
    if let r = prelu { y = r.apply(y, c) }
    return y
}

/// The signature of a four-channel patch popcount (`_patchPopcount4` and its per-architecture twins).
public typealias _PatchPopcount4 = (UnsafePointer<UInt64>, Int, Int, Int, UnsafePointer<UInt64>, Int) -> SIMD4<Int32>

/// The real-valued epilogue of four consecutive output channels `c..<c+4` of one pixel, on vectors;
/// the same float operations in the same order as `_realEpilogue`, so the results are identical.
@inlinable @inline(__always)
public func _realEpilogue4(_ popcounts: SIMD4<Int32>, depth: Int32, channel c: Int, pixel: Int,
                           scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, shortcut: Shortcut?,
                           prelu: ShiftedPReLU?, into out: UnsafeMutablePointer<Float>) {
    func load(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
    let dot = SIMD4<Int32>(repeating: depth) &- popcounts &* 2
    var y = load(scale + c) * SIMD4<Float>(dot) + load(bias + c)
    if let s = shortcut {
        let row = s.values + pixel * s.channels
        if let m = s.map {
            y += SIMD4(row[Int(m[c])], row[Int(m[c + 1])], row[Int(m[c + 2])], row[Int(m[c + 3])])
        } else {
            y += load(row + c)
        }
    }
    if let r = prelu {
        let t = y - load(r.shiftIn + c)
        y = t.replacing(with: load(r.slope + c) * t, where: t .< 0) + load(r.shiftOut + c)
    }
    UnsafeMutableRawPointer(out + c).storeBytes(of: y, as: SIMD4<Float>.self)
}

/// Runs output rows `rows` of a binary convolution, four output channels at a time.
@inlinable @inline(__always)
public func _binaryConvBlocked(_ p: BinaryConvParams, rows: Range<Int>) {
    if let sb = p.second {
        _binaryConvTwoBases(p, sb, rows: rows) { a1, a2, rs, k, run, w, wpc in
            _patchPopcount2x4(a1, a2, rowStride: rs, kernel: k, run: run, weights: w, wordsPerChannel: wpc)
        }
        return
    }
    _binaryConvBlocked(p, rows: rows) { a, rs, k, run, w, wpc in
        _patchPopcount4(a, rowStride: rs, kernel: k, run: run, weights: w, wordsPerChannel: wpc)
    }
}

/// Runs output rows `rows` of a binary convolution with the given four-channel patch popcount.
@inlinable @inline(__always)
public func _binaryConvBlocked(_ p: BinaryConvParams, rows: Range<Int>, patch4: _PatchPopcount4) {
    if let sb = p.second {
        _binaryConvTwoBases(p, sb, rows: rows) { a1, a2, rs, k, run, w, wpc in (patch4(a1, rs, k, run, w, wpc), patch4(a2, rs, k, run, w, wpc)) }
        return
    }
    let k = p.kernel, s = p.stride, pad = p.padding
    let l = p.inLayout
    let run = k * l.words
    let wpc = k * run
    let rowStride = l.rowStride
    let outW = p.outWidth, outC = p.outChannels
    let cols = p.columnRange
    let depth = Int32(p.depth)
    switch p.output {
    case .bits(let out, let ol, let thr):
        for oy in rows {
            for ox in cols {
                let a = p.input + l.offset(oy * s - pad, ox * s - pad)
                let o = out + ol.offset(oy, ox)
                var word: UInt64 = 0
                var oc = 0
                while oc + 4 <= outC {
                    let c = patch4(a, rowStride, k, run, p.weights + oc * wpc, wpc)
                    let t = SIMD4(thr[oc], thr[oc + 1], thr[oc + 2], thr[oc + 3])
                    let m = (c .>= t)
                    var nibble: UInt64 = 0
                    if m[0] { nibble |= 1 }
                    if m[1] { nibble |= 2 }
                    if m[2] { nibble |= 4 }
                    if m[3] { nibble |= 8 }
                    word |= nibble << UInt64(oc & 63)
                    oc += 4
                    if oc & 63 == 0 { o[(oc >> 6) - 1] = word; word = 0 }
                }
                while oc < outC {
                    let c = _patchPopcount1(a, rowStride: rowStride, kernel: k, run: run, weights: p.weights + oc * wpc)
                    if c >= thr[oc] { word |= UInt64(1) << UInt64(oc & 63) }
                    oc += 1
                    if oc & 63 == 0 { o[(oc >> 6) - 1] = word; word = 0 }
                }
                if oc & 63 != 0 { o[oc >> 6] = word }
            }
        }
    case .real(let out, let scale, let bias, let shortcut, let prelu):
        for oy in rows {
            for ox in cols {
                let a = p.input + l.offset(oy * s - pad, ox * s - pad)
                let pixel = oy * outW + ox
                let o = out + pixel * outC
                var oc = 0
                while oc + 4 <= outC {
                    let c = patch4(a, rowStride, k, run, p.weights + oc * wpc, wpc)
                    _realEpilogue4(c, depth: depth, channel: oc, pixel: pixel, scale: scale, bias: bias,
                                   shortcut: shortcut, prelu: prelu, into: o)
                    oc += 4
                }
                while oc < outC {
                    let c = _patchPopcount1(a, rowStride: rowStride, kernel: k, run: run, weights: p.weights + oc * wpc)
                    o[oc] = _realEpilogue(c, depth: depth, channel: oc, pixel: pixel,
                                          scale: scale, bias: bias, shortcut: shortcut, prelu: prelu)
                    oc += 1
                }
                p.packPixel(o, oy, ox)
            }
        }
    }
}

/// The portable tier: the blocked kernel compiled for the baseline CPU of the target.
public enum GenericKernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        _binaryConvBlocked(p, rows: rows)
    }
}
