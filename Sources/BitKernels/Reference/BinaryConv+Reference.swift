/// The obviously-right binary convolution: one ±1 multiply per channel, tap and output.
public enum ReferenceKernels {
    /// The ±1 value of channel `c` of pixel `(y, x)`, +1 outside the image (the padding rule).
    @inlinable
    public static func value(_ p: UnsafePointer<UInt64>, _ l: PackedLayout, _ y: Int, _ x: Int, _ c: Int) -> Int {
        if y < 0 || x < 0 || y >= l.height || x >= l.width { return 1 }
        let word = p[l.offset(y, x) + c / 64]
        return (word >> UInt64(c % 64)) & 1 == 1 ? -1 : 1
    }

    /// Runs output rows `rows` of `p`.
    public static func binaryConv(_ p: BinaryConvParams, rows: Range<Int>) {
        let k = p.kernel, pad = p.padding, cin = p.inLayout.channels, inWords = p.inLayout.words
        let outW = p.outWidth
        for oy in rows {
            for ox in p.columnRange {
                for oc in 0..<p.outChannels {
                    var dot = 0, dot2 = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let y = oy * p.stride - pad + ky, x = ox * p.stride - pad + kx
                            for c in 0..<cin {
                                let a = value(p.input, p.inLayout, y, x, c)
                                let wi = ((oc * k + ky) * k + kx) * inWords + c / 64
                                let w = (p.weights[wi] >> UInt64(c % 64)) & 1 == 1 ? -1 : 1
                                dot += a * w
                                if let sb = p.second { dot2 += value(sb.input, p.inLayout, y, x, c) * w }
                            }
                        }
                    }
                    let popcount = (p.depth - dot) / 2
                    switch p.output {
                    case .bits(let out, let l, let thresholds):
                        let i = l.offset(oy, ox) + oc / 64
                        let bit = UInt64(1) << UInt64(oc % 64)
                        if popcount >= Int(thresholds[oc]) { out[i] |= bit } else { out[i] &= ~bit }
                    case .real(let out, let scale, let bias, let shortcut, let prelu):
                        let i = (oy * outW + ox) * p.outChannels + oc
                        var y = scale[oc] * Float(dot) + bias[oc]
                        if let s = shortcut {
                            let sc = s.map.map { Int($0[oc]) } ?? oc
                            y += s.values[(oy * outW + ox) * s.channels + sc]
                        }
                        if let sb = p.second {
                            // The second base's layer, then the first base's with it as the shortcut.
                            var y2 = sb.scale[oc] * Float(dot2) + sb.bias[oc]
                            if let s = sb.shortcut {
                                let sc = s.map.map { Int($0[oc]) } ?? oc
                                y2 += s.values[(oy * outW + ox) * s.channels + sc]
                            }
                            y += y2
                        }
                        if let r = prelu { y = r.apply(y, oc) }
                        out[i] = y
                        if let sp = p.signPack {
                            let j = sp.layout.offset(oy, ox) + oc / 64
                            let bit = UInt64(1) << UInt64(oc % 64)
                            if y < sp.thresholds[oc] { sp.bits[j] |= bit } else { sp.bits[j] &= ~bit }
                            if let b2 = sp.bits2, let t2 = sp.thresholds2 {
                                if y < t2[oc] { b2[j] |= bit } else { b2[j] &= ~bit }
                            }
                        }
                    }
                }
            }
        }
    }
}
