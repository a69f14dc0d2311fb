// The first layer vectorised over output channels, with the input gathered eight output pixels at a time.
//
// For each run of eight output pixels of a row, the 3x3 x inC input values (minus the zero point, 0 for
// padding) are gathered into a small tile `x[tap][pixel]` as Float: for one grey input channel with the
// whole run inside the image, with three vector loads per kernel row (stride 2: the even and odd lanes of
// two 16-byte loads; stride 1: three 8-byte loads), else value by value. Then, per block of eight output
// channels, each pixel's taps are broadcast against the block's weights.
//
// Float is exact here: the values are integers (8-bit inputs minus the zero point times 8-bit weights,
// at most 36 of them, |sum| < 2^24), so every partial sum is the Int32 sum of the scalar `firstConv`
// whatever the order, and the outputs are bit-identical to it. Weights are prepared once
// (`prepareFirstConvWeights`) as Float `[3*3*inC][outC rounded up to 8]`.

extension RealOps {
    /// Float count of `prepareFirstConvWeights`' output.
    public static func firstConvPreparedCount(outChannels: Int, inChannels: Int) -> Int {
        9 * inChannels * ((outChannels + 7) / 8 * 8)
    }

    /// Transposes 8-bit weights `outC x 3 x 3 x inC` into Float `[9*inC][outC8]`, zero-padded channels.
    public static func prepareFirstConvWeights(_ w: UnsafePointer<Int8>, outChannels: Int, inChannels: Int,
                                               into dst: UnsafeMutablePointer<Float>) {
        let oc8 = (outChannels + 7) / 8 * 8, taps = 9 * inChannels
        dst.update(repeating: 0, count: taps * oc8)
        for oc in 0..<outChannels {
            for k in 0..<taps { dst[k * oc8 + oc] = Float(w[oc * taps + k]) }
        }
    }

    /// Floats of the tile `_firstConvRows` needs: 8 pixels x 9 taps x the input channels (288 bytes for grey
    /// input, so that `withUnsafeTemporaryAllocation` keeps it on the stack: no heap allocation per run).
    @inlinable
    public static func firstConvTileCount(_ p: FirstConvParams) -> Int { 72 * p.layout.channels }

    /// Same results as `firstConv`, with prepared weights; `inChannels` at most 4.
    public static func firstConvVector(_ src: UnsafePointer<UInt8>, _ layout: RealLayout, zeroPoint: Int32,
                                       preparedWeights wT: UnsafePointer<Float>, outChannels: Int, stride: Int,
                                       output: FirstConvOutput, rows: Range<Int>) {
        firstConvVector(FirstConvParams(image: src, layout: layout, zeroPoint: zeroPoint, weights: wT, outChannels: outChannels,
                                        stride: stride, output: output), rows: rows)
    }

    /// `firstConvVector` with its arguments in one value (the portable `RealKernels` table's entry).
    public static func firstConvVector(_ p: FirstConvParams, rows: Range<Int>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: firstConvTileCount(p)) { tile in
            _firstConvRows(p, rows: rows, tile: tile.baseAddress!)
        }
    }

    /// `firstConvVector` with the caller's tile of `firstConvTileCount(p)` floats (a tier target allocates it in
    /// its own code, so that the whole loop is compiled with its flags).
    @inlinable @inline(__always)
    public static func _firstConvRows(_ p: FirstConvParams, rows: Range<Int>, tile x: UnsafeMutablePointer<Float>) {
        let src = p.image, layout = p.layout, zeroPoint = p.zeroPoint, wT = p.weights
        let outChannels = p.outChannels, stride = p.stride, output = p.output
        let inC = layout.channels, taps = 9 * inC
        precondition(inC <= 4)
        let oc8 = (outChannels + 7) / 8 * 8
        let outW = convOutputSize(layout.width, kernel: 3, stride: stride, padding: 1)
        // x[k * 8 + j]: tap k of pixel j of the run (beyond a short last run, old values whose sums are not stored).
        x.initialize(repeating: 0, count: firstConvTileCount(p))
        for oy in rows {
            var ox = 0
            while ox < outW {
                let n = min(8, outW - ox)
                _gatherRun(src, layout, zeroPoint: zeroPoint, stride: stride, oy: oy, ox: ox, count: n, into: x)
                var ob = 0
                while ob < oc8 {
                    // Eight pixels at a time: eight independent sums (no chain of dependent adds) share
                    // each weight load.
                    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                    var acc4 = SIMD8<Float>(), acc5 = SIMD8<Float>(), acc6 = SIMD8<Float>(), acc7 = SIMD8<Float>()
                    for k in 0..<taps {
                        let w = UnsafeRawPointer(wT + k * oc8 + ob).loadUnaligned(as: SIMD8<Float>.self)
                        let xk = x + k * 8
                        acc0 += w * SIMD8(repeating: xk[0])
                        acc1 += w * SIMD8(repeating: xk[1])
                        acc2 += w * SIMD8(repeating: xk[2])
                        acc3 += w * SIMD8(repeating: xk[3])
                        acc4 += w * SIMD8(repeating: xk[4])
                        acc5 += w * SIMD8(repeating: xk[5])
                        acc6 += w * SIMD8(repeating: xk[6])
                        acc7 += w * SIMD8(repeating: xk[7])
                    }
                    _firstConvStore(acc0, output, oy: oy, ox: ox, outW: outW, outChannels: outChannels, block: ob)
                    if n > 1 { _firstConvStore(acc1, output, oy: oy, ox: ox + 1, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 2 { _firstConvStore(acc2, output, oy: oy, ox: ox + 2, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 3 { _firstConvStore(acc3, output, oy: oy, ox: ox + 3, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 4 { _firstConvStore(acc4, output, oy: oy, ox: ox + 4, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 5 { _firstConvStore(acc5, output, oy: oy, ox: ox + 5, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 6 { _firstConvStore(acc6, output, oy: oy, ox: ox + 6, outW: outW, outChannels: outChannels, block: ob) }
                    if n > 7 { _firstConvStore(acc7, output, oy: oy, ox: ox + 7, outW: outW, outChannels: outChannels, block: ob) }
                    ob += 8
                }
                ox += 8
            }
        }
    }

    /// Writes the sums of output channels `block ..< block + 8` of pixel `(oy, ox)`.
    @inlinable @inline(__always)
    public static func _firstConvStore(_ acc: SIMD8<Float>, _ output: FirstConvOutput, oy: Int, ox: Int, outW: Int,
                                       outChannels: Int, block ob: Int) {
        let m = min(8, outChannels - ob)
        switch output {
        case .bits(let out, let l, let thr):
            // acc is an integer below 2^24 in magnitude: comparing it with the Float of an Int32 threshold
            // gives the Int32 comparison (rounding only moves thresholds beyond 2^24, which stay beyond acc).
            var byte: UInt64 = 0
            if m == 8 {
                let t = SIMD8<Float>(UnsafeRawPointer(thr + ob).loadUnaligned(as: SIMD8<Int32>.self))
                let bitWeights = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)
                byte = UInt64(UInt32(bitPattern: SIMD8<Int32>().replacing(with: bitWeights, where: acc .< t).wrappedSum()))
            } else {
                for c in 0..<m where acc[c] < Float(thr[ob + c]) { byte |= 1 << UInt64(c) }
            }
            let o = out + l.offset(oy, ox) + (ob >> 6)
            if ob & 63 == 0 { o.pointee = byte } else { o.pointee |= byte << UInt64(ob & 63) }
        case .real(let out, let scale, let bias):
            let o = out + (oy * outW + ox) * outChannels
            if m == 8 {
                let s = UnsafeRawPointer(scale + ob).loadUnaligned(as: SIMD8<Float>.self)
                let b = UnsafeRawPointer(bias + ob).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(o + ob).storeBytes(of: s * acc + b, as: SIMD8<Float>.self)
            } else {
                for c in 0..<m { o[ob + c] = scale[ob + c] * acc[c] + bias[ob + c] }
            }
        }
    }

    /// Fills `x[k * 8 + j]` with tap `k` (ky, kx, channel) of output pixel `(oy, ox + j)`, `j < count`.
    @inlinable @inline(__always)
    public static func _gatherRun(_ src: UnsafePointer<UInt8>, _ layout: RealLayout, zeroPoint: Int32, stride: Int,
                          oy: Int, ox: Int, count: Int, into x: UnsafeMutablePointer<Float>) {
        let inC = layout.channels, w = layout.width
        let left = ox * stride - 1
        // Bytes the vector loads read from `left`: 17 for stride 2 (two 16-byte loads at left, left + 2),
        // 10 for stride 1 (8-byte loads at left, left + 1, left + 2).
        let span = stride == 2 ? 18 : 10
        let vector = inC == 1 && count == 8 && (stride == 1 || stride == 2) && left >= 0 && left + span <= w
        let zp = SIMD8<Int32>(repeating: zeroPoint)
        for ky in 0..<3 {
            let y = oy * stride - 1 + ky
            let row = x + ky * 3 * inC * 8
            guard y >= 0 && y < layout.height else {
                row.update(repeating: 0, count: 3 * inC * 8)
                continue
            }
            let line = UnsafeRawPointer(src + y * w * inC)
            if vector {
                let taps: (SIMD8<UInt8>, SIMD8<UInt8>, SIMD8<UInt8>)
                if stride == 2 {
                    let a = line.loadUnaligned(fromByteOffset: left, as: SIMD16<UInt8>.self)
                    let b = line.loadUnaligned(fromByteOffset: left + 2, as: SIMD16<UInt8>.self)
                    taps = (a.evenHalf, a.oddHalf, b.evenHalf)
                } else {
                    taps = (line.loadUnaligned(fromByteOffset: left, as: SIMD8<UInt8>.self),
                            line.loadUnaligned(fromByteOffset: left + 1, as: SIMD8<UInt8>.self),
                            line.loadUnaligned(fromByteOffset: left + 2, as: SIMD8<UInt8>.self))
                }
                func put(_ v: SIMD8<UInt8>, _ kx: Int) {
                    let f = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: v) &- zp)
                    UnsafeMutableRawPointer(row + kx * 8).storeBytes(of: f, as: SIMD8<Float>.self)
                }
                put(taps.0, 0)
                put(taps.1, 1)
                put(taps.2, 2)
                continue
            }
            for j in 0..<count {
                for kx in 0..<3 {
                    let xx = left + j * stride + kx
                    for c in 0..<inC {
                        row[(kx * inC + c) * 8 + j] = xx >= 0 && xx < w
                            ? Float(Int32(src[(y * w + xx) * inC + c]) &- zeroPoint) : 0
                    }
                }
            }
        }
    }
}
