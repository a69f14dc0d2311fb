/// The real 1x1 convolution with eight output channels per SIMD vector.
///
/// Same arithmetic as ``RealOps/conv1x1(_:_:weights:bias:outChannels:stride:into:rows:)``, the
/// reference: each output channel's sum starts at 0, adds `w[c] * x[c]` for `c = 0, 1, ...` in order
/// (a multiply, then an add: no fused multiply-add), then the bias. The lanes of a vector are
/// different output channels, so no sum is reordered and the result is bit-identical to the
/// reference. Weights are transposed once, at model load, to `inC x paddedOut` with the output
/// channels padded with zeros to a multiple of 8
/// (``RealOps/transposeConv1x1Weights(_:outChannels:inChannels:into:)``), so that eight neighbouring
/// output channels' weights for one input channel are one load, and a last partial vector (a head
/// with 2 or 37 outputs) is computed like the others and only its real lanes are stored.
extension RealOps {
    /// Output channels rounded up to the vector width: the row length of the transposed weights.
    @inlinable
    public static func conv1x1PaddedOutChannels(_ outChannels: Int) -> Int { (outChannels + 7) & ~7 }

    /// The 1x1 weights `outC x inC` as `inC x paddedOut` (`dst[i * paddedOut + o] = src[o * inC + i]`,
    /// zeros in the padding); `dst` holds `inC * conv1x1PaddedOutChannels(outC)` floats.
    public static func transposeConv1x1Weights(_ src: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                               into dst: UnsafeMutablePointer<Float>) {
        let padded = conv1x1PaddedOutChannels(outChannels)
        dst.initialize(repeating: 0, count: inChannels * padded)
        for o in 0..<outChannels {
            for i in 0..<inChannels { dst[i * padded + o] = src[o * inChannels + i] }
        }
    }

    /// A real 1x1 convolution (stride 1 or 2, no padding) from weights transposed and padded by
    /// ``transposeConv1x1Weights(_:outChannels:inChannels:into:)``; rows `rows` of the output.
    /// Bit-identical to the reference ``conv1x1(_:_:weights:bias:outChannels:stride:into:rows:)``.
    /// `columns` (all when nil) limits the output pixels of each row that are computed.
    @inlinable @inline(__always)
    public static func conv1x1Lanes(_ src: UnsafePointer<Float>, _ layout: RealLayout, transposedWeights wt: UnsafePointer<Float>,
                                    bias: UnsafePointer<Float>, outChannels: Int, stride: Int,
                                    into dst: UnsafeMutablePointer<Float>, rows: Range<Int>, columns: Range<Int>? = nil) {
        let inC = layout.channels
        let outW = convOutputSize(layout.width, kernel: 1, stride: stride, padding: 0)
        let rowBytes = conv1x1PaddedOutChannels(outChannels) * 4
        let raw = UnsafeRawPointer(wt)
        let cols = columns?.clamped(to: 0..<outW) ?? 0..<outW
        for oy in rows {
            for ox in cols {
                let s = src + ((oy * stride) * layout.width + ox * stride) * inC
                let d = dst + (oy * outW + ox) * outChannels
                var oc = 0
                while oc < outChannels {
                    var acc = SIMD8<Float>(repeating: 0)
                    var offset = oc * 4
                    for c in 0..<inC {
                        let product = raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * s[c]
                        acc = acc + product
                        offset += rowBytes
                    }
                    if oc + 8 <= outChannels {
                        let b = UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: oc * 4, as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(d).storeBytes(of: acc + b, toByteOffset: oc * 4, as: SIMD8<Float>.self)
                    } else {
                        for lane in 0..<(outChannels - oc) { d[oc + lane] = acc[lane] + bias[oc + lane] }
                    }
                    oc += 8
                }
            }
        }
    }
}
