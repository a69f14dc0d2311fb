import CFFmpeg
import Foundation

/// Writes an MP4 video: H.264 when the FFmpeg build has libx264, MPEG-4 part 2 otherwise.
///
/// Frames go to a temporary file beside `path`; ``finish()`` renames it into place, and a writer
/// dropped without ``finish()`` deletes it, so a half-written video never appears.
///
/// Frames are evenly spaced at `frameRate` unless ``append(_:at:)`` gives each its time: then the video
/// has variable frame durations (e.g. only the frames a pipeline sampled, each shown until the next).
public final class VideoWriter {
    public let path: String
    public let size: FrameSize
    /// The encoder in use: `libx264` or `mpeg4`.
    public let encoderName: String
    public private(set) var framesWritten = 0

    private let temporaryPath: String
    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var scalerKey: [Int32] = []
    private var finished = false
    /// Time stamps in ticks of 1/`clockRate` s (the encoder's time base).
    private var lastPTS: Int64?
    private var firstTime: Double?
    private var ticksPerFrame: Int64 = 1
    private var lastDuration: Int64 = 1

    /// Opens `path` for a video of `size` (rounded down to even numbers) at `frameRate` frames per second.
    /// `clockRate` (default: `frameRate`) is the resolution of the times given to ``append(_:at:)``, in
    /// ticks per second; a source's own frame rate keeps its frames' times exact. `x264Preset` trades
    /// encoding time for file size (`ultrafast` takes about half `veryfast`'s time for about twice the bytes).
    public init(path: String, size: FrameSize, frameRate: Double, preferH264: Bool = true, clockRate: Double? = nil,
                x264Preset: String = "veryfast") throws {
        self.path = path
        let even = FrameSize(width: max(2, size.width & ~1), height: max(2, size.height & ~1))
        self.size = even
        temporaryPath = AtomicOutput.temporaryPath(for: path.hasSuffix(".mp4") ? path : path + ".mp4")
        guard frameRate > 0, frameRate.isFinite else { throw VideoIOError(.badRequest, path, "frame rate must be positive") }
        let clock = clockRate ?? frameRate
        guard clock > 0, clock.isFinite else { throw VideoIOError(.badRequest, path, "clock rate must be positive") }

        var codec: UnsafePointer<AVCodec>? = preferH264 ? avcodec_find_encoder_by_name("libx264") : nil
        if codec == nil { codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4) }
        guard let codec else { throw VideoIOError(.unsupported, path, "this FFmpeg build has neither libx264 nor an MPEG-4 encoder") }
        encoderName = String(cString: codec.pointee.name)

        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&oc, nil, "mp4", temporaryPath) >= 0, let oc else {
            throw VideoIOError(.outputFailed, path, "cannot create an MP4 muxer")
        }
        output = oc
        do {
            guard let st = avformat_new_stream(oc, nil), let ctx = avcodec_alloc_context3(codec) else {
                throw VideoIOError(.outputFailed, path, "out of memory")
            }
            stream = st
            encoder = ctx
            let rate = av_d2q(frameRate, 100_000)
            // MPEG-4 part 2 allows time base denominators up to 65535.
            let ticks = av_d2q(clock, 65_535)
            ctx.pointee.width = Int32(even.width)
            ctx.pointee.height = Int32(even.height)
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            ctx.pointee.time_base = AVRational(num: ticks.den, den: ticks.num)
            ctx.pointee.framerate = rate
            ticksPerFrame = max(1, Int64((av_q2d(ticks) / frameRate).rounded()))
            lastDuration = ticksPerFrame
            ctx.pointee.gop_size = Int32(max(1, frameRate.rounded()))
            ctx.pointee.thread_count = 1
            // No B-frames: no reordering delay, and no MP4 edit list that would hide the last frame.
            ctx.pointee.max_b_frames = 0
            if encoderName == "libx264" {
                av_opt_set(ctx.pointee.priv_data, "preset", x264Preset, 0)
                av_opt_set(ctx.pointee.priv_data, "crf", "23", 0)
            } else {
                ctx.pointee.bit_rate = Int64(even.width * even.height) * 4
            }
            if bitspot_needs_global_header(oc) != 0 { bitspot_set_global_header(ctx) }
            var r = avcodec_open2(ctx, codec, nil)
            guard r >= 0 else { throw VideoIOError(.outputFailed, path, "cannot open the \(encoderName) encoder (\(FFmpegCall.message(r)))") }
            r = avcodec_parameters_from_context(st.pointee.codecpar, ctx)
            guard r >= 0 else { throw VideoIOError(.outputFailed, path, "cannot set stream parameters") }
            st.pointee.time_base = ctx.pointee.time_base
            if bitspot_fmt_nofile(oc) == 0 {
                r = avio_open(&oc.pointee.pb, temporaryPath, AVIO_FLAG_WRITE)
                guard r >= 0 else { throw VideoIOError(.outputFailed, path, "cannot create file (\(FFmpegCall.message(r)))") }
            }
            r = avformat_write_header(oc, nil)
            guard r >= 0 else { throw VideoIOError(.outputFailed, path, "cannot write the MP4 header (\(FFmpegCall.message(r)))") }
            frame = av_frame_alloc()
            packet = av_packet_alloc()
            guard let frame, packet != nil else { throw VideoIOError(.outputFailed, path, "out of memory") }
            frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            frame.pointee.width = Int32(even.width)
            frame.pointee.height = Int32(even.height)
            guard av_frame_get_buffer(frame, 0) >= 0 else { throw VideoIOError(.outputFailed, path, "out of memory") }
        } catch {
            discard()
            throw error
        }
    }

    deinit { if !finished { discard() } }

    /// Appends one picture; it is scaled to the video's size if it differs.
    public func append(_ image: Raster) throws {
        guard !finished, let enc = encoder, let frame else { throw VideoIOError(.outputFailed, path, "writer already finished") }
        let key = [Int32(image.width), Int32(image.height), image.layout.avFormat.rawValue]
        if key != scalerKey {
            scaler = sws_getCachedContext(scaler, Int32(image.width), Int32(image.height), image.layout.avFormat,
                                          Int32(size.width), Int32(size.height), AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
            guard scaler != nil else { throw VideoIOError(.outputFailed, path, "swscale cannot convert to yuv420p") }
            scalerKey = key
        }
        guard av_frame_make_writable(frame) >= 0 else { throw VideoIOError(.outputFailed, path, "cannot get a writable frame") }
        image.bytes.withUnsafeBufferPointer { src in
            var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
            var srcStrides: [Int32] = [Int32(image.width * image.layout.bytesPerPixel), 0, 0, 0]
            var dstPlanes: [UnsafeMutablePointer<UInt8>?] = withUnsafeBytes(of: frame.pointee.data) { raw in
                Array(raw.bindMemory(to: UnsafeMutablePointer<UInt8>?.self).prefix(4))
            }
            var dstStrides: [Int32] = withUnsafeBytes(of: frame.pointee.linesize) { raw in Array(raw.bindMemory(to: Int32.self).prefix(4)) }
            _ = sws_scale(scaler, &srcPlanes, &srcStrides, 0, Int32(image.height), &dstPlanes, &dstStrides)
        }
        try encode(frame, encoder: enc, at: nil)
    }

    /// Appends one colour picture of the video's size, at `time` seconds when given (times must increase;
    /// the first becomes 0 s), otherwise one frame after the last.
    public func append(_ picture: YUV420Picture, at time: Double? = nil) throws {
        guard !finished, let enc = encoder, let frame else { throw VideoIOError(.outputFailed, path, "writer already finished") }
        guard picture.width == size.width, picture.height == size.height else {
            throw VideoIOError(.badRequest, path, "picture is \(picture.width)x\(picture.height), the video is \(size)")
        }
        guard av_frame_make_writable(frame) >= 0 else { throw VideoIOError(.outputFailed, path, "cannot get a writable frame") }
        FrameAnnotator.copy(picture, into: frame)
        try encode(frame, encoder: enc, at: time)
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>, encoder enc: UnsafeMutablePointer<AVCodecContext>, at time: Double?) throws {
        var pts = (lastPTS ?? -ticksPerFrame) + ticksPerFrame
        if let time, time.isFinite {
            if firstTime == nil { firstTime = time }
            let tb = enc.pointee.time_base
            // Strictly increasing, whatever the times (equal after rounding, or a stream that restarted).
            pts = max(lastPTS.map { $0 + 1 } ?? 0, Int64(((time - firstTime!) * Double(tb.den) / Double(tb.num)).rounded()))
        }
        if let lastPTS { lastDuration = pts - lastPTS }
        lastPTS = pts
        frame.pointee.pts = pts
        try send(frame, encoder: enc)
        framesWritten += 1
    }

    /// Flushes the encoder, writes the trailer and moves the file into place.
    public func finish() throws {
        guard !finished, let enc = encoder, let oc = output else { return }
        try send(nil, encoder: enc)
        let r = av_write_trailer(oc)
        if bitspot_fmt_nofile(oc) == 0 { avio_closep(&oc.pointee.pb) }
        finished = true
        freeAll()
        guard r >= 0 else {
            unlink(temporaryPath)
            throw VideoIOError(.outputFailed, path, "cannot finish the MP4 file (\(FFmpegCall.message(r)))")
        }
        try AtomicOutput.commit(temporaryPath, to: path)
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?, encoder enc: UnsafeMutablePointer<AVCodecContext>) throws {
        guard let oc = output, let pkt = packet, let st = stream else { return }
        var r = avcodec_send_frame(enc, frame)
        guard r >= 0 else { throw VideoIOError(.outputFailed, path, "encoder refused a frame (\(FFmpegCall.message(r)))") }
        while true {
            r = avcodec_receive_packet(enc, pkt)
            if r == FFmpegCall.again || r == FFmpegCall.eof { return }
            guard r >= 0 else { throw VideoIOError(.outputFailed, path, "encoding failed (\(FFmpegCall.message(r)))") }
            // One frame per packet; without a duration the MP4 edit list would end before the last frame
            // (the muxer takes the other frames' durations from the next frame's time).
            if pkt.pointee.duration <= 0 { pkt.pointee.duration = lastDuration }
            av_packet_rescale_ts(pkt, enc.pointee.time_base, st.pointee.time_base)
            pkt.pointee.stream_index = st.pointee.index
            r = av_interleaved_write_frame(oc, pkt)
            guard r >= 0 else { throw VideoIOError(.outputFailed, path, "cannot write to the file (\(FFmpegCall.message(r)))") }
        }
    }

    /// Abandons the video: closes everything and deletes the temporary file.
    public func discard() {
        if let oc = output, bitspot_fmt_nofile(oc) == 0, oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
        freeAll()
        unlink(temporaryPath)
        finished = true
    }

    private func freeAll() {
        sws_freeContext(scaler)
        scaler = nil
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&encoder)
        avformat_free_context(output)
        output = nil
    }
}
