import CFFmpeg

/// Raster layouts that BitSpot's writers accept.
public enum PixelLayout: Sendable {
    /// One byte per pixel, grey.
    case gray8
    /// Three bytes per pixel, red, green, blue.
    case rgb24

    var bytesPerPixel: Int { self == .gray8 ? 1 : 3 }
    var avFormat: AVPixelFormat { self == .gray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24 }
}

/// A packed raster (rows with no padding) handed to the PNG and video writers.
public struct Raster: Sendable {
    public let width: Int
    public let height: Int
    public let layout: PixelLayout
    public var bytes: [UInt8]

    public init(width: Int, height: Int, layout: PixelLayout, bytes: [UInt8]) {
        precondition(bytes.count == width * height * layout.bytesPerPixel, "raster size does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.layout = layout
        self.bytes = bytes
    }

    public init(_ frame: LumaFrame) {
        self.init(width: frame.width, height: frame.height, layout: .gray8, bytes: frame.pixels)
    }

    /// A copy of this raster at another size and/or layout, through swscale (area averaging when shrinking).
    public func resized(to size: FrameSize, layout target: PixelLayout? = nil) throws -> Raster {
        let outLayout = target ?? layout
        if size.width == width, size.height == height, outLayout == layout { return self }
        // Bit-exact, accurately rounded scaling: the same pixels on every CPU and FFmpeg version, so a
        // board reads exactly what the workstation read (swscale's SIMD paths otherwise differ by a level).
        let flags = ((size.width < width || size.height < height) ? SWS_AREA : SWS_BILINEAR) | SWS_BITEXACT | SWS_ACCURATE_RND
        guard let sws = sws_getContext(Int32(width), Int32(height), layout.avFormat, Int32(size.width), Int32(size.height),
                                       outLayout.avFormat, flags, nil, nil, nil) else {
            throw VideoIOError(.unsupported, "image", "swscale cannot resize \(width)x\(height) to \(size)")
        }
        defer { sws_freeContext(sws) }
        let count = size.width * size.height * outLayout.bytesPerPixel
        var out = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                var srcStrides: [Int32] = [Int32(width * layout.bytesPerPixel), 0, 0, 0]
                var dstPlanes: [UnsafeMutablePointer<UInt8>?] = [dst.baseAddress, nil, nil, nil]
                var dstStrides: [Int32] = [Int32(size.width * outLayout.bytesPerPixel), 0, 0, 0]
                _ = sws_scale(sws, &srcPlanes, &srcStrides, 0, Int32(height), &dstPlanes, &dstStrides)
            }
        }
        return Raster(width: size.width, height: size.height, layout: outLayout, bytes: out)
    }
}
