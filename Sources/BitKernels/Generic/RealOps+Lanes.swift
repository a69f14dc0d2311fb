/// Average pooling and the shifted PReLU with eight channels per SIMD vector.
///
/// Each lane is one channel and does the reference's arithmetic in the reference's order
/// (``RealOps/avgPool(_:_:ph:pw:into:)``, ``RealOps/prelu(_:_:_:into:)``), so the results are
/// bit-identical; channels beyond the last multiple of 8 take the scalar path.
extension RealOps {
    /// ``avgPool(_:_:ph:pw:into:)`` with eight channels per vector.
    @inlinable @inline(__always)
    public static func avgPoolLanes(_ src: UnsafePointer<Float>, _ layout: RealLayout, ph: Int, pw: Int,
                                    into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        let vectorEnd = c & ~7
        let oh = poolOutputSize(layout.height, size: ph), ow = poolOutputSize(layout.width, size: pw)
        let raw = UnsafeRawPointer(src)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let y1 = min(layout.height, oy * ph + ph), x1 = min(layout.width, ox * pw + pw)
                let n = Float((y1 - oy * ph) * (x1 - ox * pw))
                let d = dst + (oy * ow + ox) * c
                var ch = 0
                while ch < vectorEnd {
                    var acc = SIMD8<Float>(repeating: 0)
                    for y in (oy * ph)..<y1 {
                        for x in (ox * pw)..<x1 {
                            acc = acc + raw.loadUnaligned(fromByteOffset: ((y * layout.width + x) * c + ch) * 4, as: SIMD8<Float>.self)
                        }
                    }
                    UnsafeMutableRawPointer(d).storeBytes(of: acc / SIMD8(repeating: n), toByteOffset: ch * 4, as: SIMD8<Float>.self)
                    ch += 8
                }
                while ch < c {
                    var acc: Float = 0
                    for y in (oy * ph)..<y1 {
                        for x in (ox * pw)..<x1 { acc += src[(y * layout.width + x) * c + ch] }
                    }
                    d[ch] = acc / n
                    ch += 1
                }
            }
        }
    }

    /// ``prelu(_:_:_:into:)`` with eight channels per vector.
    @inlinable @inline(__always)
    public static func preluLanes(_ src: UnsafePointer<Float>, _ layout: RealLayout, _ f: ShiftedPReLU,
                                  into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        let vectorEnd = c & ~7
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        let shiftIn = UnsafeRawPointer(f.shiftIn), slope = UnsafeRawPointer(f.slope), shiftOut = UnsafeRawPointer(f.shiftOut)
        for i in 0..<(layout.height * layout.width) {
            var ch = 0
            while ch < vectorEnd {
                let at = (i * c + ch) * 4
                let t = s.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                    - shiftIn.loadUnaligned(fromByteOffset: ch * 4, as: SIMD8<Float>.self)
                let negative = slope.loadUnaligned(fromByteOffset: ch * 4, as: SIMD8<Float>.self) * t
                let y = t.replacing(with: negative, where: t .< 0)
                    + shiftOut.loadUnaligned(fromByteOffset: ch * 4, as: SIMD8<Float>.self)
                d.storeBytes(of: y, toByteOffset: at, as: SIMD8<Float>.self)
                ch += 8
            }
            while ch < c {
                dst[i * c + ch] = f.apply(src[i * c + ch], ch)
                ch += 1
            }
        }
    }
}
