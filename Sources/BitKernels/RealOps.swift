/// The real-valued operations around the binary convolutions: the first layer, 1x1 convolutions
/// (heads and shortcut projections), pooling, the shortcut add and the shifted PReLU.
/// Tensors are dense channels-last `Float` unless they say otherwise.
public enum RealOps {
    /// The first layer: a 3x3 convolution (padding 1, stride 1 or 2) of 8-bit input with 8-bit
    /// weights `outC x 3 x 3 x inC`, accumulated exactly in Int32 as `sum w * (x - zeroPoint)`;
    /// padding pixels equal `zeroPoint`, so they add nothing.
    /// Output bits: bit = 1 iff `acc < thresholds[c]`. Output real: `scale[c] * acc + bias[c]`.
    public static func firstConv(_ src: UnsafePointer<UInt8>, _ layout: RealLayout, zeroPoint: Int32,
                                 weights: UnsafePointer<Int8>, outChannels: Int, stride: Int,
                                 output: FirstConvOutput, rows: Range<Int>) {
        let inC = layout.channels
        let outW = convOutputSize(layout.width, kernel: 3, stride: stride, padding: 1)
        for oy in rows {
            for ox in 0..<outW {
                var word: UInt64 = 0
                for oc in 0..<outChannels {
                    var acc: Int32 = 0
                    let w = weights + oc * 9 * inC
                    for ky in 0..<3 {
                        let y = oy * stride - 1 + ky
                        if y < 0 || y >= layout.height { continue }
                        for kx in 0..<3 {
                            let x = ox * stride - 1 + kx
                            if x < 0 || x >= layout.width { continue }
                            let s = src + (y * layout.width + x) * inC
                            let wk = w + (ky * 3 + kx) * inC
                            for c in 0..<inC { acc &+= Int32(wk[c]) &* (Int32(s[c]) &- zeroPoint) }
                        }
                    }
                    switch output {
                    case .bits(let out, let l, let thr):
                        if acc < thr[oc] { word |= UInt64(1) << UInt64(oc & 63) }
                        if oc & 63 == 63 || oc == outChannels - 1 {
                            out[l.offset(oy, ox) + (oc >> 6)] = word
                            word = 0
                        }
                    case .real(let out, let scale, let bias):
                        out[(oy * outW + ox) * outChannels + oc] = scale[oc] * Float(acc) + bias[oc]
                    }
                }
            }
        }
    }

    /// A real 1x1 convolution (stride 1 or 2, no padding): `y = W x + bias`, weights `outC x inC`.
    public static func conv1x1(_ src: UnsafePointer<Float>, _ layout: RealLayout, weights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, outChannels: Int, stride: Int,
                               into dst: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let inC = layout.channels
        let outW = convOutputSize(layout.width, kernel: 1, stride: stride, padding: 0)
        for oy in rows {
            for ox in 0..<outW {
                let s = src + ((oy * stride) * layout.width + ox * stride) * inC
                let d = dst + (oy * outW + ox) * outChannels
                for oc in 0..<outChannels {
                    let w = weights + oc * inC
                    var acc: Float = 0
                    for c in 0..<inC { acc += w[c] * s[c] }
                    d[oc] = acc + bias[oc]
                }
            }
        }
    }

    /// Average pooling over `ph x pw` windows with the same stride, ceil mode: a partial window at the
    /// bottom or right averages only the pixels it covers (PyTorch `ceil_mode=True, count_include_pad=False`).
    public static func avgPool(_ src: UnsafePointer<Float>, _ layout: RealLayout, ph: Int, pw: Int,
                               into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        let oh = poolOutputSize(layout.height, size: ph), ow = poolOutputSize(layout.width, size: pw)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let y1 = min(layout.height, oy * ph + ph), x1 = min(layout.width, ox * pw + pw)
                let n = Float((y1 - oy * ph) * (x1 - ox * pw))
                let d = dst + (oy * ow + ox) * c
                for ch in 0..<c {
                    var acc: Float = 0
                    for y in (oy * ph)..<y1 {
                        for x in (ox * pw)..<x1 { acc += src[(y * layout.width + x) * c + ch] }
                    }
                    d[ch] = acc / n
                }
            }
        }
    }

    /// Global average pooling to `1 x 1 x C`.
    public static func globalAvgPool(_ src: UnsafePointer<Float>, _ layout: RealLayout, into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels, n = layout.height * layout.width
        for ch in 0..<c { dst[ch] = 0 }
        for i in 0..<n {
            for ch in 0..<c { dst[ch] += src[i * c + ch] }
        }
        for ch in 0..<c { dst[ch] /= Float(n) }
    }

    /// `dst = a + b`, with `b`'s channel `map[c]` added to channel `c` when a map is given.
    public static func add(_ a: UnsafePointer<Float>, _ layout: RealLayout, _ b: UnsafePointer<Float>,
                           bChannels: Int, map: UnsafePointer<Int32>?, into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        for i in 0..<(layout.height * layout.width) {
            for ch in 0..<c {
                let bc = map.map { Int($0[ch]) } ?? ch
                dst[i * c + ch] = a[i * c + ch] + b[i * bChannels + bc]
            }
        }
    }

    /// The shifted PReLU on every channel.
    public static func prelu(_ src: UnsafePointer<Float>, _ layout: RealLayout, _ f: ShiftedPReLU,
                             into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        for i in 0..<(layout.height * layout.width) {
            for ch in 0..<c { dst[i * c + ch] = f.apply(src[i * c + ch], ch) }
        }
    }

    /// Max pooling of ±1 values on packed bits over `ph x pw` windows, stride = window, ceil mode.
    /// The maximum of ±1 values is -1 only when all are -1: a bitwise AND (bit 1 = -1).
    public static func bitMaxPool(_ src: UnsafePointer<UInt64>, _ layout: PackedLayout, ph: Int, pw: Int,
                                  into dst: UnsafeMutablePointer<UInt64>, _ out: PackedLayout) {
        let words = layout.words
        for oy in 0..<out.height {
            for ox in 0..<out.width {
                let d = dst + out.offset(oy, ox)
                let y1 = min(layout.height, oy * ph + ph), x1 = min(layout.width, ox * pw + pw)
                for w in 0..<words {
                    var acc = UInt64.max
                    for y in (oy * ph)..<y1 {
                        for x in (ox * pw)..<x1 { acc &= src[layout.offset(y, x) + w] }
                    }
                    d[w] = acc
                }
            }
        }
    }
}

/// What the first layer writes.
public enum FirstConvOutput: @unchecked Sendable {
    case bits(UnsafeMutablePointer<UInt64>, PackedLayout, thresholds: UnsafePointer<Int32>)
    case real(UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>)
}
