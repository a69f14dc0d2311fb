// The first layer vectorised over output channels: per output pixel, the 3x3 x inC input values (minus
// the zero point, 0 for padding) are broadcast against eight output channels' weights at a time.
// Weights are prepared once (`prepareFirstConvWeights`) as Int32 `[3*3*inC][outC rounded up to 8]`.

extension RealOps {
    /// Int32 count of `prepareFirstConvWeights`' output.
    public static func firstConvPreparedCount(outChannels: Int, inChannels: Int) -> Int {
        9 * inChannels * ((outChannels + 7) / 8 * 8)
    }

    /// Transposes 8-bit weights `outC x 3 x 3 x inC` into Int32 `[9*inC][outC8]`, zero-padded channels.
    public static func prepareFirstConvWeights(_ w: UnsafePointer<Int8>, outChannels: Int, inChannels: Int,
                                               into dst: UnsafeMutablePointer<Int32>) {
        let oc8 = (outChannels + 7) / 8 * 8, taps = 9 * inChannels
        dst.update(repeating: 0, count: taps * oc8)
        for oc in 0..<outChannels {
            for k in 0..<taps { dst[k * oc8 + oc] = Int32(w[oc * taps + k]) }
        }
    }

    /// Same results as `firstConv`, with prepared weights; `inChannels` at most 4.
    public static func firstConvVector(_ src: UnsafePointer<UInt8>, _ layout: RealLayout, zeroPoint: Int32,
                                       preparedWeights wT: UnsafePointer<Int32>, outChannels: Int, stride: Int,
                                       output: FirstConvOutput, rows: Range<Int>) {
        let inC = layout.channels, taps = 9 * inC
        precondition(inC <= 4)
        let oc8 = (outChannels + 7) / 8 * 8
        let outW = convOutputSize(layout.width, kernel: 3, stride: stride, padding: 1)
        let bitWeights = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 36) { x in
            for oy in rows {
                for ox in 0..<outW {
                    for ky in 0..<3 {
                        let y = oy * stride - 1 + ky
                        for kx in 0..<3 {
                            let xx = ox * stride - 1 + kx
                            let inside = y >= 0 && y < layout.height && xx >= 0 && xx < layout.width
                            for c in 0..<inC {
                                x[(ky * 3 + kx) * inC + c] = inside
                                    ? Int32(src[(y * layout.width + xx) * inC + c]) &- zeroPoint : 0
                            }
                        }
                    }
                    var word: UInt64 = 0
                    var ob = 0
                    while ob < oc8 {
                        var acc = SIMD8<Int32>()
                        for k in 0..<taps {
                            let w = UnsafeRawPointer(wT + k * oc8 + ob).loadUnaligned(as: SIMD8<Int32>.self)
                            acc &+= w &* SIMD8(repeating: x[k])
                        }
                        let n = min(8, outChannels - ob)
                        switch output {
                        case .bits(let out, let l, let thr):
                            var byte: UInt64 = 0
                            if n == 8 {
                                let t = UnsafeRawPointer(thr + ob).loadUnaligned(as: SIMD8<Int32>.self)
                                byte = UInt64(UInt32(bitPattern: SIMD8<Int32>().replacing(with: bitWeights, where: acc .< t).wrappedSum()))
                            } else {
                                for j in 0..<n where acc[j] < thr[ob + j] { byte |= 1 << UInt64(j) }
                            }
                            word |= byte << UInt64(ob & 63)
                            if (ob + 8) & 63 == 0 || ob + 8 >= oc8 {
                                out[l.offset(oy, ox) + (ob >> 6)] = word
                                word = 0
                            }
                        case .real(let out, let scale, let bias):
                            let o = out + (oy * outW + ox) * outChannels
                            if n == 8 {
                                let s = UnsafeRawPointer(scale + ob).loadUnaligned(as: SIMD8<Float>.self)
                                let b = UnsafeRawPointer(bias + ob).loadUnaligned(as: SIMD8<Float>.self)
                                UnsafeMutableRawPointer(o + ob).storeBytes(of: s * SIMD8<Float>(acc) + b, as: SIMD8<Float>.self)
                            } else {
                                for j in 0..<n { o[ob + j] = scale[ob + j] * Float(acc[j]) + bias[ob + j] }
                            }
                        }
                        ob += 8
                    }
                }
            }
        }
    }
}
