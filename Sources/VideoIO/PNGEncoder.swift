import CFFmpeg
import Foundation

/// PNG encoding through libavcodec's PNG encoder.
public final class PNGEncoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var key: (Int, Int, PixelLayout)?

    public init() {}

    deinit { close() }

    private func close() {
        avcodec_free_context(&context)
        av_frame_free(&frame)
        av_packet_free(&packet)
        key = nil
    }

    /// The PNG file bytes of a raster.
    public func encode(_ image: Raster) throws -> Data {
        if key == nil || key! != (image.width, image.height, image.layout) { try open(image) }
        guard let ctx = context, let frame, let packet else {
            throw VideoIOError(.outputFailed, "png", "encoder not open")
        }
        guard av_frame_make_writable(frame) >= 0, let plane = frame.pointee.data.0 else {
            throw VideoIOError(.outputFailed, "png", "cannot get a writable frame")
        }
        let rowBytes = image.width * image.layout.bytesPerPixel
        let stride = Int(frame.pointee.linesize.0)
        image.bytes.withUnsafeBufferPointer { src in
            for y in 0..<image.height { (plane + y * stride).update(from: src.baseAddress! + y * rowBytes, count: rowBytes) }
        }
        var r = avcodec_send_frame(ctx, frame)
        guard r >= 0 else { throw VideoIOError(.outputFailed, "png", "encoder refused a frame (\(FFmpegCall.message(r)))") }
        r = avcodec_receive_packet(ctx, packet)
        guard r >= 0, let data = packet.pointee.data else {
            throw VideoIOError(.outputFailed, "png", "encoder produced no image (\(FFmpegCall.message(r)))")
        }
        defer { av_packet_unref(packet) }
        return Data(bytes: data, count: Int(packet.pointee.size))
    }

    /// Encodes and writes a PNG file atomically.
    public func write(_ image: Raster, to path: String) throws {
        try AtomicOutput.write(try encode(image), to: path)
    }

    private func open(_ image: Raster) throws {
        close()
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let ctx = avcodec_alloc_context3(codec) else {
            throw VideoIOError(.unsupported, "png", "this FFmpeg build has no PNG encoder")
        }
        context = ctx
        ctx.pointee.width = Int32(image.width)
        ctx.pointee.height = Int32(image.height)
        ctx.pointee.pix_fmt = image.layout.avFormat
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        let r = avcodec_open2(ctx, codec, nil)
        guard r >= 0 else { throw VideoIOError(.outputFailed, "png", "cannot open the PNG encoder (\(FFmpegCall.message(r)))") }
        frame = av_frame_alloc()
        packet = av_packet_alloc()
        guard let frame, packet != nil else { throw VideoIOError(.outputFailed, "png", "out of memory") }
        frame.pointee.format = image.layout.avFormat.rawValue
        frame.pointee.width = Int32(image.width)
        frame.pointee.height = Int32(image.height)
        guard av_frame_get_buffer(frame, 0) >= 0 else { throw VideoIOError(.outputFailed, "png", "out of memory") }
        key = (image.width, image.height, image.layout)
    }
}
