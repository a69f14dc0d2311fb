// The fused two-base binary convolution (`BinaryConvParams.second`), shared by the portable tiers.
//
// A block with two activation bases is two convolutions over the same weights in the model file (the second
// base's, then the first base's with the second's result as its shortcut). Run as two layers, the weights
// are streamed twice, the second result goes out to memory as a real tensor and comes back as a shortcut,
// and each layer pays its own loop and thread hand-off. Fused, each weight word is loaded once for both
// bases' patches, the second result lives only in the output row being written (L1), and the epilogue is
// the two layers' float operations in the same order, so the outputs are the same floats.

/// Two patches (`a1`, `a2`: the two bases of one output pixel) against four consecutive output channels.
public typealias _PatchPopcount2x4 = (UnsafePointer<UInt64>, UnsafePointer<UInt64>, Int, Int, Int, UnsafePointer<UInt64>, Int)
    -> (SIMD4<Int32>, SIMD4<Int32>)

/// Popcounts of two patches against four consecutive output channels' weights; each weight word is loaded
/// once for both.
@inlinable @inline(__always)
public func _patchPopcount2x4(_ a1: UnsafePointer<UInt64>, _ a2: UnsafePointer<UInt64>, rowStride: Int, kernel k: Int,
                              run: Int, weights w0: UnsafePointer<UInt64>, wordsPerChannel wpc: Int) -> (SIMD4<Int32>, SIMD4<Int32>) {
    var s = SIMD4<Int>(), t = SIMD4<Int>()
    let w1 = w0 + wpc, w2 = w1 + wpc, w3 = w2 + wpc
    for ky in 0..<k {
        let r1 = a1 + ky * rowStride, r2 = a2 + ky * rowStride
        let o = ky * run
        for i in 0..<run {
            let x = r1[i], z = r2[i]
            let v = SIMD4(w0[o + i], w1[o + i], w2[o + i], w3[o + i])
            for j in 0..<4 {
                s[j] &+= (x ^ v[j]).nonzeroBitCount
                t[j] &+= (z ^ v[j]).nonzeroBitCount
            }
        }
    }
    return (SIMD4<Int32>(truncatingIfNeeded: s), SIMD4<Int32>(truncatingIfNeeded: t))
}

/// The epilogue of four channels `c..<c+4` of pixel `pixel` of a two-base convolution writing `out` (the
/// whole output tensor, `outC` channels): the second base's value is written to the output first and read
/// back as the first base's shortcut, exactly as the unfused pair of layers computes it.
@inlinable @inline(__always)
public func _twoBaseEpilogue4(_ pop1: SIMD4<Int32>, _ pop2: SIMD4<Int32>, depth: Int32, channel c: Int, pixel: Int,
                              scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, second sb: SecondBase,
                              prelu: ShiftedPReLU?, out: UnsafeMutablePointer<Float>, outChannels outC: Int) {
    let row = out + pixel * outC
    _realEpilogue4(pop2, depth: depth, channel: c, pixel: pixel, scale: sb.scale, bias: sb.bias, shortcut: sb.shortcut,
                   prelu: nil, into: row)
    _realEpilogue4(pop1, depth: depth, channel: c, pixel: pixel, scale: scale, bias: bias,
                   shortcut: Shortcut(values: UnsafePointer(out), channels: outC), prelu: prelu, into: row)
}

/// `_twoBaseEpilogue4` for one channel.
@inlinable @inline(__always)
public func _twoBaseEpilogue(_ pop1: Int32, _ pop2: Int32, depth: Int32, channel c: Int, pixel: Int,
                             scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, second sb: SecondBase,
                             prelu: ShiftedPReLU?, out: UnsafeMutablePointer<Float>, outChannels outC: Int) {
    let i = pixel * outC + c
    out[i] = _realEpilogue(pop2, depth: depth, channel: c, pixel: pixel, scale: sb.scale, bias: sb.bias,
                           shortcut: sb.shortcut, prelu: nil)
    out[i] = _realEpilogue(pop1, depth: depth, channel: c, pixel: pixel, scale: scale, bias: bias,
                           shortcut: Shortcut(values: UnsafePointer(out), channels: outC), prelu: prelu)
}

/// Runs output rows `rows` of a two-base convolution (`p.second` is `sb`, the output is real), four output
/// channels at a time with the given two-patch popcount, then one at a time.
@inlinable @inline(__always)
public func _binaryConvTwoBases(_ p: BinaryConvParams, _ sb: SecondBase, rows: Range<Int>, patch2x4: _PatchPopcount2x4) {
    guard case .real(let out, let scale, let bias, _, let prelu) = p.output else { preconditionFailure("two bases need a real output") }
    let k = p.kernel, s = p.stride, pad = p.padding
    let l = p.inLayout
    let run = k * l.words
    let wpc = k * run
    let rowStride = l.rowStride
    let outW = p.outWidth, outC = p.outChannels
    let depth = Int32(p.depth)
    for oy in rows {
        for ox in p.columnRange {
            let offset = l.offset(oy * s - pad, ox * s - pad)
            let a1 = p.input + offset, a2 = sb.input + offset
            let pixel = oy * outW + ox
            var oc = 0
            while oc + 4 <= outC {
                let (c1, c2) = patch2x4(a1, a2, rowStride, k, run, p.weights + oc * wpc, wpc)
                _twoBaseEpilogue4(c1, c2, depth: depth, channel: oc, pixel: pixel, scale: scale, bias: bias, second: sb,
                                  prelu: prelu, out: out, outChannels: outC)
                oc += 4
            }
            while oc < outC {
                let w = p.weights + oc * wpc
                let c1 = _patchPopcount1(a1, rowStride: rowStride, kernel: k, run: run, weights: w)
                let c2 = _patchPopcount1(a2, rowStride: rowStride, kernel: k, run: run, weights: w)
                _twoBaseEpilogue(c1, c2, depth: depth, channel: oc, pixel: pixel, scale: scale, bias: bias, second: sb,
                                 prelu: prelu, out: out, outChannels: outC)
                oc += 1
            }
            p.packPixel(out + pixel * outC, oy, ox)
        }
    }
}
