#if arch(x86_64) && BITSPOT_X86_TIER
import BitKernels
import _Builtin_intrinsics.intel

// The tuned x86-64 tier. This target is compiled with `-Xcc -mavx2 -Xcc -mpopcnt` (Package.swift), which
// is what changes Swift's code generation (the clang importer's target features reach LLVM) and lets Swift
// call the AVX2 intrinsics of <immintrin.h> through `_Builtin_intrinsics.intel`. Only call it when
// `bitkernels_cpu_has_x86_avx2_popcnt()` says the CPU has both.
//
// Micro-kernel: 2 output pixels x 8 output channels. Weights are interleaved by 8 output channels
// (`WeightLayout.interleaved8`), so one input word is broadcast into a 256-bit register and xor-ed with the
// same word of 4 output channels at once. The popcount is the nibble lookup of Muła et al. (`vpshufb`),
// summed per byte; at most every 31 words (31 * 8 < 256) the bytes are folded into 64-bit lanes with
// `vpsadbw`. About 2 vector instructions per 64-bit word popcounted, plus 2 loads per 16 words.
// (Swift's `SIMD32<UInt8>.nonzeroBitCount` is lowered lane by lane, hence the intrinsics.)

@inline(__always)
private func bytePopcount(_ v: __m256i, _ lut: __m256i, _ low: __m256i) -> __m256i {
    let lo = _mm256_and_si256(v, low)
    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low)
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

@inline(__always)
private func nibbleTable() -> __m256i {
    _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4)
}

/// Byte counters of two pixels x 8 output channels (`p0l`: pixel 0, channels 0-3; `p0h`: 4-7; ...).
private struct ByteCounts {
    var p0l: __m256i, p0h: __m256i, p1l: __m256i, p1h: __m256i

    @inline(__always) init(_ zero: __m256i) { (p0l, p0h, p1l, p1h) = (zero, zero, zero, zero) }

    /// Adds the popcounts of one input word of each pixel against the 8 channels' weight words at `w`.
    @inline(__always)
    mutating func add(_ x0word: UInt64, _ x1word: UInt64, _ w: UnsafeRawPointer, _ lut: __m256i, _ low: __m256i) {
        let wl = _mm256_loadu_si256(w.assumingMemoryBound(to: __m256i.self))
        let wh = _mm256_loadu_si256((w + 32).assumingMemoryBound(to: __m256i.self))
        let x0 = _mm256_set1_epi64x(Int64(bitPattern: x0word))
        let x1 = _mm256_set1_epi64x(Int64(bitPattern: x1word))
        p0l = _mm256_add_epi8(p0l, bytePopcount(_mm256_xor_si256(x0, wl), lut, low))
        p0h = _mm256_add_epi8(p0h, bytePopcount(_mm256_xor_si256(x0, wh), lut, low))
        p1l = _mm256_add_epi8(p1l, bytePopcount(_mm256_xor_si256(x1, wl), lut, low))
        p1h = _mm256_add_epi8(p1h, bytePopcount(_mm256_xor_si256(x1, wh), lut, low))
    }
}

/// Popcounts of two patches (`a0`, `a1`) against one block of 8 output channels (lanes 0-3, 4-7).
@inline(__always)
private func patchPopcount2x8(_ a0: UnsafePointer<UInt64>, _ a1: UnsafePointer<UInt64>, rowStride: Int,
                              kernel k: Int, run: Int, weights w: UnsafePointer<UInt64>)
    -> (__m256i, __m256i, __m256i, __m256i) {
    let lut = nibbleTable(), low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256()
    var t00 = zero, t01 = zero, t10 = zero, t11 = zero
    var wp = UnsafeRawPointer(w)
    if k * run <= 31 {
        // The whole patch fits the byte counters (at most 31 * 8 < 256 per byte): one fold at the end.
        var b = ByteCounts(zero)
        for ky in 0..<k {
            let r0 = a0 + ky * rowStride, r1 = a1 + ky * rowStride
            for i in 0..<run {
                b.add(r0[i], r1[i], wp, lut, low)
                wp += 64
            }
        }
        return (_mm256_sad_epu8(b.p0l, zero), _mm256_sad_epu8(b.p0h, zero), _mm256_sad_epu8(b.p1l, zero), _mm256_sad_epu8(b.p1h, zero))
    }
    for ky in 0..<k {
        let r0 = a0 + ky * rowStride, r1 = a1 + ky * rowStride
        var i = 0
        while i < run {
            let end = min(run, i + 31)
            var b = ByteCounts(zero)
            while i < end {
                b.add(r0[i], r1[i], wp, lut, low)
                wp += 64
                i += 1
            }
            t00 = _mm256_add_epi64(t00, _mm256_sad_epu8(b.p0l, zero))
            t01 = _mm256_add_epi64(t01, _mm256_sad_epu8(b.p0h, zero))
            t10 = _mm256_add_epi64(t10, _mm256_sad_epu8(b.p1l, zero))
            t11 = _mm256_add_epi64(t11, _mm256_sad_epu8(b.p1h, zero))
        }
    }
    return (t00, t01, t10, t11)
}

/// Bit `j` set where lane `j` of `counts` >= lane `j` of `thresholds` (4 lanes).
@inline(__always)
private func compareMask(_ counts: __m256i, _ thresholdsMinusOne: __m256i) -> UInt64 {
    UInt64(UInt32(bitPattern: _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(counts, thresholdsMinusOne)))))
}

@inline(__always)
private func lanes(_ v: __m256i) -> SIMD4<Int64> { v }

/// The four 64-bit lane counts as Int32 (counts are far below 2^31).
@inline(__always)
private func int32Lanes(_ v: __m256i) -> SIMD4<Int32> { SIMD4<Int32>(truncatingIfNeeded: lanes(v)) }

/// The x86-64 AVX2 + POPCNT tier.
public enum X86Kernels {
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        if let sb = p.second { return twoBases(p, sb, rows: rows) }
        let k = p.kernel, s = p.stride, pad = p.padding
        let l = p.inLayout
        let run = k * l.words
        let wpc = k * run
        let rowStride = l.rowStride
        let outW = p.outWidth, outC = p.outChannels
        let cols = p.columnRange
        let blocks = (outC + 7) / 8
        let depth = Int32(p.depth)
        let one = _mm256_set1_epi64x(1)
        for oy in rows {
            var ox = cols.lowerBound
            while ox < cols.upperBound {
                let pair = ox + 1 < cols.upperBound
                let a0 = p.input + l.offset(oy * s - pad, ox * s - pad)
                let a1 = pair ? a0 + s * l.words : a0
                for b in 0..<blocks {
                    let (t00, t01, t10, t11) = patchPopcount2x8(a0, a1, rowStride: rowStride, kernel: k, run: run,
                                                                 weights: p.weights + b * 8 * wpc)
                    let c0 = b * 8
                    let n = min(8, outC - c0)
                    switch p.output {
                    case .bits(let out, let ol, let thr):
                        var m0: UInt64 = 0, m1: UInt64 = 0
                        if n == 8 {
                            let raw = UnsafeRawPointer(thr + c0)
                            let tl = _mm256_sub_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128(raw.assumingMemoryBound(to: __m128i.self))), one)
                            let th = _mm256_sub_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128((raw + 16).assumingMemoryBound(to: __m128i.self))), one)
                            m0 = compareMask(t00, tl) | compareMask(t01, th) << 4
                            m1 = compareMask(t10, tl) | compareMask(t11, th) << 4
                        } else {
                            let v00 = lanes(t00), v01 = lanes(t01), v10 = lanes(t10), v11 = lanes(t11)
                            for j in 0..<n {
                                let t = Int64(thr[c0 + j])
                                if (j < 4 ? v00[j] : v01[j - 4]) >= t { m0 |= 1 << UInt64(j) }
                                if (j < 4 ? v10[j] : v11[j - 4]) >= t { m1 |= 1 << UInt64(j) }
                            }
                        }
                        let word = c0 >> 6, shift = UInt64(c0 & 63)
                        let o0 = out + ol.offset(oy, ox) + word
                        if shift == 0 { o0.pointee = m0 } else { o0.pointee |= m0 << shift }
                        if pair {
                            let o1 = out + ol.offset(oy, ox + 1) + word
                            if shift == 0 { o1.pointee = m1 } else { o1.pointee |= m1 << shift }
                        }
                    case .real(let out, let scale, let bias, let shortcut, let prelu) where n == 8:
                        let pix0 = oy * outW + ox
                        let o0 = out + pix0 * outC
                        _realEpilogue4(int32Lanes(t00), depth: depth, channel: c0, pixel: pix0, scale: scale, bias: bias,
                                       shortcut: shortcut, prelu: prelu, into: o0)
                        _realEpilogue4(int32Lanes(t01), depth: depth, channel: c0 + 4, pixel: pix0, scale: scale, bias: bias,
                                       shortcut: shortcut, prelu: prelu, into: o0)
                        if pair {
                            _realEpilogue4(int32Lanes(t10), depth: depth, channel: c0, pixel: pix0 + 1, scale: scale, bias: bias,
                                           shortcut: shortcut, prelu: prelu, into: o0 + outC)
                            _realEpilogue4(int32Lanes(t11), depth: depth, channel: c0 + 4, pixel: pix0 + 1, scale: scale, bias: bias,
                                           shortcut: shortcut, prelu: prelu, into: o0 + outC)
                        }
                    case .real(let out, let scale, let bias, let shortcut, let prelu):
                        let v00 = lanes(t00), v01 = lanes(t01), v10 = lanes(t10), v11 = lanes(t11)
                        let pix0 = oy * outW + ox
                        for j in 0..<n {
                            let c0v = Int32(truncatingIfNeeded: j < 4 ? v00[j] : v01[j - 4])
                            out[pix0 * outC + c0 + j] = _realEpilogue(c0v, depth: depth, channel: c0 + j, pixel: pix0,
                                                                      scale: scale, bias: bias, shortcut: shortcut, prelu: prelu)
                            if pair {
                                let c1v = Int32(truncatingIfNeeded: j < 4 ? v10[j] : v11[j - 4])
                                out[(pix0 + 1) * outC + c0 + j] = _realEpilogue(c1v, depth: depth, channel: c0 + j, pixel: pix0 + 1,
                                                                                scale: scale, bias: bias, shortcut: shortcut, prelu: prelu)
                            }
                        }
                    }
                }
                if case .real(let out, _, _, _, _) = p.output {
                    p.packPixel(out + (oy * outW + ox) * outC, oy, ox)
                    if pair { p.packPixel(out + (oy * outW + ox + 1) * outC, oy, ox + 1) }
                }
                ox += pair ? 2 : 1
            }
        }
    }

    /// A two-base convolution (`p.second`): the micro-kernel's two patches are one output pixel's two bases,
    /// so each weight load serves both, and the epilogue is `_twoBaseEpilogue4`'s.
    static func twoBases(_ p: BinaryConvParams, _ sb: SecondBase, rows: Range<Int>) {
        guard case .real(let out, let scale, let bias, _, let prelu) = p.output else { preconditionFailure("two bases need a real output") }
        let k = p.kernel, s = p.stride, pad = p.padding
        let l = p.inLayout
        let run = k * l.words
        let wpc = k * run
        let rowStride = l.rowStride
        let outW = p.outWidth, outC = p.outChannels
        let blocks = (outC + 7) / 8
        let depth = Int32(p.depth)
        for oy in rows {
            for ox in p.columnRange {
                let offset = l.offset(oy * s - pad, ox * s - pad)
                let a1 = p.input + offset, a2 = sb.input + offset
                let pixel = oy * outW + ox
                for b in 0..<blocks {
                    let (t10, t11, t20, t21) = patchPopcount2x8(a1, a2, rowStride: rowStride, kernel: k, run: run,
                                                                 weights: p.weights + b * 8 * wpc)
                    let c0 = b * 8
                    let n = min(8, outC - c0)
                    if n == 8 {
                        _twoBaseEpilogue4(int32Lanes(t10), int32Lanes(t20), depth: depth, channel: c0, pixel: pixel, scale: scale,
                                          bias: bias, second: sb, prelu: prelu, out: out, outChannels: outC)
                        _twoBaseEpilogue4(int32Lanes(t11), int32Lanes(t21), depth: depth, channel: c0 + 4, pixel: pixel, scale: scale,
                                          bias: bias, second: sb, prelu: prelu, out: out, outChannels: outC)
                    } else {
                        let v10 = lanes(t10), v11 = lanes(t11), v20 = lanes(t20), v21 = lanes(t21)
                        for j in 0..<n {
                            let c1 = Int32(truncatingIfNeeded: j < 4 ? v10[j] : v11[j - 4])
                            let c2 = Int32(truncatingIfNeeded: j < 4 ? v20[j] : v21[j - 4])
                            _twoBaseEpilogue(c1, c2, depth: depth, channel: c0 + j, pixel: pixel, scale: scale, bias: bias,
                                             second: sb, prelu: prelu, out: out, outChannels: outC)
                        }
                    }
                }
                p.packPixel(out + pixel * outC, oy, ox)
            }
        }
    }

    /// The roofline with the kernel's instruction mix: register-resident words xor-ed with a changing
    /// vector, nibble-lookup popcount, byte accumulation folded with `vpsadbw` every 31 steps. Eight
    /// independent 256-bit streams (32 words) per step, two changing vectors, so that neither latency nor
    /// a dependency chain limits it: the most this instruction mix can do on this core.
    public static func xorPopcountLoop(iterations: Int, seed: UInt64) -> Int {
        let lut = nibbleTable(), low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256()
        let s = Int64(bitPattern: seed)
        let c0 = _mm256_set_epi64x(s, s &* 3, s &* 5, s &* 7), c1 = _mm256_set_epi64x(s &* 11, s &* 13, s &* 17, s &* 19)
        let c2 = _mm256_set_epi64x(s &* 23, s &* 29, s &* 31, s &* 37), c3 = _mm256_set_epi64x(s &* 41, s &* 43, s &* 47, s &* 53)
        let step = _mm256_set1_epi64x(0x1E37_79B9_7F4A_7C15)
        var t = _mm256_set1_epi64x(s), u = _mm256_set1_epi64x(s &* 59)
        var total = zero
        var done = 0
        while done < iterations {
            let n = min(31, iterations - done)
            var b0 = zero, b1 = zero, b2 = zero, b3 = zero, b4 = zero, b5 = zero, b6 = zero, b7 = zero
            for _ in 0..<n {
                t = _mm256_add_epi64(t, step)
                u = _mm256_sub_epi64(u, step)
                b0 = _mm256_add_epi8(b0, bytePopcount(_mm256_xor_si256(c0, t), lut, low))
                b1 = _mm256_add_epi8(b1, bytePopcount(_mm256_xor_si256(c1, t), lut, low))
                b2 = _mm256_add_epi8(b2, bytePopcount(_mm256_xor_si256(c2, t), lut, low))
                b3 = _mm256_add_epi8(b3, bytePopcount(_mm256_xor_si256(c3, t), lut, low))
                b4 = _mm256_add_epi8(b4, bytePopcount(_mm256_xor_si256(c0, u), lut, low))
                b5 = _mm256_add_epi8(b5, bytePopcount(_mm256_xor_si256(c1, u), lut, low))
                b6 = _mm256_add_epi8(b6, bytePopcount(_mm256_xor_si256(c2, u), lut, low))
                b7 = _mm256_add_epi8(b7, bytePopcount(_mm256_xor_si256(c3, u), lut, low))
            }
            let s01 = _mm256_add_epi64(_mm256_sad_epu8(b0, zero), _mm256_sad_epu8(b1, zero))
            let s23 = _mm256_add_epi64(_mm256_sad_epu8(b2, zero), _mm256_sad_epu8(b3, zero))
            let s45 = _mm256_add_epi64(_mm256_sad_epu8(b4, zero), _mm256_sad_epu8(b5, zero))
            let s67 = _mm256_add_epi64(_mm256_sad_epu8(b6, zero), _mm256_sad_epu8(b7, zero))
            total = _mm256_add_epi64(total, _mm256_add_epi64(_mm256_add_epi64(s01, s23), _mm256_add_epi64(s45, s67)))
            done += n
        }
        let v = lanes(total)
        return Int(v[0] &+ v[1] &+ v[2] &+ v[3])
    }

    /// Words popcounted per iteration of `xorPopcountLoop`.
    public static let xorPopcountLoopWords = 32

    /// The portable real-valued kernels (RealKernels.swift) compiled with this target's AVX2 flags: the
    /// eight-lane vectors become one 256-bit register instead of two 128-bit ones.
    public static let real = RealKernels(
        // Each closure is compiled here, with AVX2, and inlines the portable loop it calls.
        firstConv: { p, rows in withUnsafeTemporaryAllocation(of: Float.self, capacity: RealOps.firstConvTileCount(p)) { RealOps._firstConvRows(p, rows: rows, tile: $0.baseAddress!) } },
        conv1x1: { RealOps._conv1x1($0, rows: $1, columns: $2) },
        prelu: { RealOps.preluLanes($0, $1, $2, into: $3) },
        avgPool: { RealOps.avgPoolLanes($0, $1, ph: $2, pw: $3, into: $4) })

    /// The portable roofline loop (`_xorPopcountLoop`, scalar code that LLVM vectorises) compiled for AVX2.
    public static func autoVectorisedLoop(iterations: Int, seed: UInt64) -> Int {
        _xorPopcountLoop(iterations: iterations, seed: seed)
    }
}

extension KernelSet {
    /// The x86-64 AVX2 + POPCNT tier (check the CPU first).
    public static let x86AVX2 = KernelSet(tier: .x86AVX2, weightLayout: .interleaved8, binaryConv: X86Kernels.binaryConv,
                                          xorPopcountLoop: X86Kernels.xorPopcountLoop, xorPopcountLoopWords: 32,
                                          real: X86Kernels.real)
}
#endif
