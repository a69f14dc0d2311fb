import CFFmpeg

/// Turns decoded frames into packed 8-bit luma at a working size, through swscale.
///
/// Planar YUV, NV12 and grey frames already carry 8-bit luma in their first plane: at the video's
/// own size its rows are copied as they are, and for another size only that plane goes through
/// swscale (grey to grey, area averaging). Other formats (RGB, palettes, high bit depth) go
/// through swscale's full conversion to grey.
final class LumaScaler {
    private var context: OpaquePointer?
    private var contextKey: [Int32] = []

    deinit { sws_freeContext(context) }

    /// Converts `frame` to `target` (or to its own size when `target` is nil).
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, to target: FrameSize?) throws -> (pixels: [UInt8], size: FrameSize) {
        let srcW = frame.pointee.width, srcH = frame.pointee.height
        guard srcW > 0, srcH > 0, let data0 = frame.pointee.data.0 else {
            throw VideoIOError(.inputInvalid, "frame", "decoder returned an empty frame")
        }
        let size = target ?? FrameSize(width: Int(srcW), height: Int(srcH))
        let format = AVPixelFormat(rawValue: frame.pointee.format)
        let lumaPlane = Self.firstPlaneIsLuma8(format)
        let linesize = Int(frame.pointee.linesize.0)

        if lumaPlane, size.width == Int(srcW), size.height == Int(srcH) {
            let w = size.width, h = size.height
            let pixels = [UInt8](unsafeUninitializedCapacity: w * h) { buffer, count in
                let dst = buffer.baseAddress!
                if linesize == w {
                    dst.update(from: data0, count: w * h)
                } else {
                    for y in 0..<h { (dst + y * w).update(from: data0 + y * linesize, count: w) }
                }
                count = w * h
            }
            return (pixels, size)
        }

        let srcFormat = lumaPlane ? AV_PIX_FMT_GRAY8 : format
        let flags = (size.width < Int(srcW) || size.height < Int(srcH)) ? SWS_AREA : SWS_BILINEAR
        let key = [srcW, srcH, srcFormat.rawValue, Int32(size.width), Int32(size.height)]
        if key != contextKey {
            context = sws_getCachedContext(context, srcW, srcH, srcFormat, Int32(size.width), Int32(size.height),
                                           AV_PIX_FMT_GRAY8, flags, nil, nil, nil)
            guard context != nil else {
                let name = av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "unknown"
                throw VideoIOError(.unsupported, "frame", "swscale cannot convert pixel format \(name) to grey")
            }
            contextKey = key
        }
        let w = size.width, h = size.height
        var failed = false
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h) { buffer, count in
            var dstPlanes: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var dstStrides: [Int32] = [Int32(w), 0, 0, 0]
            var srcPlanes: [UnsafePointer<UInt8>?] = withUnsafeBytes(of: frame.pointee.data) { raw in
                raw.bindMemory(to: UnsafeMutablePointer<UInt8>?.self).prefix(4).map { UnsafePointer($0) }
            }
            var srcStrides: [Int32] = withUnsafeBytes(of: frame.pointee.linesize) { raw in
                Array(raw.bindMemory(to: Int32.self).prefix(4))
            }
            if lumaPlane { srcPlanes = [srcPlanes[0], nil, nil, nil]; srcStrides = [srcStrides[0], 0, 0, 0] }
            let lines = sws_scale(context, &srcPlanes, &srcStrides, 0, srcH, &dstPlanes, &dstStrides)
            if lines != Int32(h) { failed = true }
            count = w * h
        }
        if failed { throw VideoIOError(.unsupported, "frame", "swscale failed to convert a frame") }
        return (pixels, size)
    }

    /// Whether the format's first plane is plain 8-bit luma (planar YUV, NV12/NV21, grey).
    static func firstPlaneIsLuma8(_ format: AVPixelFormat) -> Bool {
        guard let desc = av_pix_fmt_desc_get(format) else { return false }
        let d = desc.pointee
        let excluded = UInt64(AV_PIX_FMT_FLAG_RGB) | UInt64(AV_PIX_FMT_FLAG_PAL) | UInt64(AV_PIX_FMT_FLAG_BITSTREAM)
            | UInt64(AV_PIX_FMT_FLAG_HWACCEL) | UInt64(AV_PIX_FMT_FLAG_BE)
        if d.flags & excluded != 0 { return false }
        let c = d.comp.0
        return c.plane == 0 && c.depth == 8 && c.step == 1 && c.shift == 0 && c.offset == 0
    }
}
