import CFFmpeg
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a ``VideoSource`` decodes and samples.
public struct DecodeOptions: Sendable {
    /// Decoder threads (1 keeps decoding on the calling thread).
    public var threads: Int = 1
    /// Working size of the delivered luma; nil keeps the video's own size.
    public var size: FrameSize?
    /// Which decoded frames are kept.
    public var sampling: SamplingMode = .all
    /// Change-gate threshold in grey levels; nil disables the gate.
    public var gateThreshold: Double?
    /// Camera capture size (`video_size` of libavdevice inputs).
    public var cameraSize: FrameSize?
    /// Camera capture rate (`framerate` of libavdevice inputs).
    public var cameraRate: Double?
    /// A read (or the opening) that waits longer than this many seconds for data fails as a stalled
    /// input; nil waits for ever. Applies to inputs read through FFmpeg's I/O layer (files, pipes, URLs).
    public var stallTimeout: Double?
    /// With `--every` or `--fps` sampling: frames that no other frame references (most B-frames) are
    /// not decoded at all (`AVDISCARD_NONREF`), and the kept frame is the first decoded one at or after
    /// each sampling point (frame numbers then come from the frame times). Ignored for all frames and
    /// key frames.
    public var skipNonReference: Bool
    /// Do not run the decoder's in-loop deblocking filter (`skip_loop_filter = AVDISCARD_ALL`; H.264,
    /// HEVC, VP8/9 and others honour it): less decoding work, and pictures that differ slightly from a
    /// full decode (blocking the filter would have smoothed, carried along until the next key frame).
    public var skipLoopFilter: Bool
    /// Further than `skipNonReference` (which it implies): leave every B-frame undecoded
    /// (`AVDISCARD_BIDIR`), once a check on the first pictures has shown that this changes no picture
    /// of the stream (``BidirectionalCheck``); where it would, decoding goes on as `skipNonReference`.
    public var skipBidirectional: Bool
    /// Which decoder: nil for FFmpeg's default (software) decoder of the stream's codec; a name from
    /// `ffmpeg -decoders` (e.g. `h264_v4l2m2m`, the Raspberry Pi 3/4 hardware H.264 decoder); or
    /// ``DecodeOptions/autoDecoder``: the codec's V4L2 memory-to-memory hardware decoder when one opens,
    /// else the default.
    public var decoder: String?
    /// With `--fps R` or `--every N` sampling: in a slot (1/R seconds, or N frames) that holds a key
    /// frame, keep the key frame instead of the slot's first frame, and do not decode the packets before
    /// it that nothing kept needs (``KeyFrameSlots``; frame numbers then come from the frame times).
    /// Packets are read ahead to decide: on a live input a frame can come out up to two slots later
    /// (where every frame is a key frame, as from MJPEG cameras, one frame later). Ignored for all frames
    /// and key frames, and for `--every` on a stream without a frame rate.
    public var preferKeyFrames: Bool
    /// With key-frames-only sampling: also keep a frame wherever no key frame comes within this many
    /// seconds of the last kept frame (the first frame at or after that point, decoded through its
    /// reference chain; ``KeyFrameGaps``), so that a stream with rare key frames is still sampled. nil:
    /// key frames only.
    public var maxKeyFrameGap: Double?
    /// The `decoder` value that asks for a hardware decoder when there is one.
    public static let autoDecoder = "auto"

    public init(threads: Int = 1, size: FrameSize? = nil, sampling: SamplingMode = .all, gateThreshold: Double? = nil,
                cameraSize: FrameSize? = nil, cameraRate: Double? = nil, stallTimeout: Double? = nil,
                skipNonReference: Bool = false, skipLoopFilter: Bool = false, skipBidirectional: Bool = false,
                decoder: String? = nil, preferKeyFrames: Bool = false, maxKeyFrameGap: Double? = nil) {
        self.threads = threads
        self.size = size
        self.sampling = sampling
        self.gateThreshold = gateThreshold
        self.cameraSize = cameraSize
        self.cameraRate = cameraRate
        self.stallTimeout = stallTimeout
        self.skipNonReference = skipNonReference
        self.skipLoopFilter = skipLoopFilter
        self.skipBidirectional = skipBidirectional
        self.decoder = decoder
        self.preferKeyFrames = preferKeyFrames
        self.maxKeyFrameGap = maxKeyFrameGap
    }

    /// Whether non-reference frames are left undecoded: asked for, and sampling that drops frames anyway.
    var skipsNonReference: Bool {
        switch sampling {
        case .every(let n): return (skipNonReference || skipBidirectional) && n > 1
        case .rate: return skipNonReference || skipBidirectional
        case .keyFrames: return (skipNonReference || skipBidirectional) && fillsKeyFrameGaps
        case .all: return false
        }
    }

    /// Key frames only with `maxKeyFrameGap`: frames between key frames are decoded where a gap is filled.
    var fillsKeyFrameGaps: Bool { sampling == .keyFrames && maxKeyFrameGap != nil }

    /// Whether `preferKeyFrames` applies to this sampling mode.
    var prefersKeyFrames: Bool {
        switch sampling {
        case .rate: return preferKeyFrames
        case .every(let n): return preferKeyFrames && n > 1
        case .all, .keyFrames: return false
        }
    }

    /// Whether B-frames are to be left out once the check passes.
    var skipsBidirectional: Bool { skipBidirectional && skipsNonReference }
}

/// Demuxes and decodes one video stream into sampled 8-bit luma frames.
///
/// ```swift
/// let source = try VideoSource(input: InputSpec("clip.mp4"), options: DecodeOptions(sampling: .rate(2)))
/// while let frame = try source.next() { ... }
/// ```
/// Corrupt packets are counted in ``counters`` (`decodeErrors`) and decoding goes on. Frame times never
/// go backwards: when the stream's timestamps jump back (a restarted camera or encoder, concatenated
/// recordings) the times continue from the last one, one frame step later.
public final class VideoSource: @unchecked Sendable {
    public let input: InputSpec
    public let options: DecodeOptions
    public let info: StreamInfo
    public private(set) var counters = SamplingCounters()
    /// Stop reading (as at the end of the stream) once this `CLOCK_MONOTONIC` time in nanoseconds has
    /// passed: bounds a measurement on a live input whose frames the sampling might never keep (FFmpeg 7.1
    /// marks no lavfi frame as a key frame, so `--keyframes` waits forever).
    public var readDeadline: UInt64?
    /// The decoder in use (FFmpeg's name, e.g. `h264` or `h264_v4l2m2m`).
    public let decoderName: String
    /// With ``DecodeOptions/autoDecoder``: why no hardware decoder is in use (nil when one is, or when
    /// not asked for).
    public let hardwareDecoderNote: String?

    /// For summaries: the decoder, and why no hardware one opened under `auto` (empty when the default
    /// decoder was not overridden).
    public var decoderSummary: String {
        guard options.decoder != nil else { return "" }
        return "decoder \(decoderName)" + (hardwareDecoderNote.map { " (no hardware decoder: \($0))" } ?? "")
    }

    private let handles: Handles
    private var format: UnsafeMutablePointer<AVFormatContext>? { handles.format }
    private var decoder: UnsafeMutablePointer<AVCodecContext>? { handles.decoder }
    private var packet: UnsafeMutablePointer<AVPacket>? { handles.packet }
    private var frame: UnsafeMutablePointer<AVFrame>? { handles.frame }
    private let streamIndex: Int32
    private let timeBase: Double
    private var startTimestamp: Int64?
    private let scaler = LumaScaler()
    private var sampler: FrameSampler
    private var gate: ChangeGate?
    private var flushed = false
    private var finished = false
    private var lastTime: Double?
    /// Added to the stream's times after a backward jump, so delivered times stay monotonic.
    private var timeOffset = 0.0
    private var consecutiveReadErrors = 0
    private let interrupt: ReadInterrupt
    /// `skipBidirectional`: the check still running (nil once decided, or when not asked for).
    private var bidirectionalCheck: BidirectionalCheck?
    /// After the hand-over to the B-frame-skipping decoder: the last timestamp the first decoder gave,
    /// so pictures both decoders produced are not delivered twice.
    private var handOverTimestamp: Int64?
    /// While the check runs: the last timestamp the first decoder gave.
    private var lastDecodedTimestamp: Int64?
    /// `preferKeyFrames` in effect (nil when not asked for, not applicable, or given up after the
    /// stream's timestamps went backwards): which packets are left out.
    private var keySlots: KeyFrameSlots?
    /// `maxKeyFrameGap` in effect (nil when not asked for, or given up after the stream's timestamps went
    /// backwards: then every packet is decoded).
    private var keyGaps: KeyFrameGaps?
    /// Frame numbers come from the frame times (frames are left undecoded, so they cannot be counted).
    private let estimatedIndices: Bool
    /// Packets read ahead of the decoder for `keySlots` or `keyGaps`.
    private let lookahead = PacketQueue()
    /// Time origin of packet times and slots when the stream gives no start time (the first packet's).
    private var slotOrigin: Int64?
    /// The highest packet slot read so far (a slot far below it means the timestamps went back).
    private var highestPacketSlot: Int64?
    /// The latest packet time read so far (`maxKeyFrameGap`: a time far below it means the times went back).
    private var highestPacketTime: Double?

    public init(input: InputSpec, options: DecodeOptions = DecodeOptions()) throws {
        try options.sampling.validate()
        guard (1...64).contains(options.threads) else {
            throw VideoIOError(.badRequest, "--threads", "must be between 1 and 64, got \(options.threads)")
        }
        self.input = input
        self.options = options
        self.estimatedIndices = options.sampling == .keyFrames || options.skipsNonReference || options.prefersKeyFrames
        if let g = options.maxKeyFrameGap, !(g > 0 && g.isFinite) {
            throw VideoIOError(.badRequest, "--max-gap", "must be a positive number of seconds, got \(g)")
        }
        self.sampler = FrameSampler(mode: options.sampling, estimatedIndices: options.skipsNonReference || options.prefersKeyFrames,
                                    maxGap: options.fillsKeyFrameGaps ? options.maxKeyFrameGap : nil)
        if options.prefersKeyFrames { keySlots = KeyFrameSlots() }
        if options.fillsKeyFrameGaps { keyGaps = KeyFrameGaps(gap: options.maxKeyFrameGap!) }
        self.gate = try options.gateThreshold.map { try ChangeGate(threshold: $0) }
        try input.checkFileExists()
        if let t = options.stallTimeout, !(t > 0 && t.isFinite) {
            throw VideoIOError(.badRequest, "--input-timeout", "must be a positive number of seconds, got \(t)")
        }
        let interrupt = ReadInterrupt(timeout: options.stallTimeout)
        self.interrupt = interrupt
        let handles = Handles(interrupt: interrupt)
        self.handles = handles

        var ctx: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        guard ctx != nil else { throw VideoIOError(.readFailed, input.original, "out of memory") }
        ctx!.pointee.interrupt_callback = interrupt.callback
        interrupt.arm()
        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        var inputFormat: UnsafePointer<AVInputFormat>? = nil
        if case .device(let name) = input.kind {
            inputFormat = VideoIO.findInputFormat(name)
            if inputFormat == nil, let why = VideoIO.devicesUnavailable {
                throw VideoIOError(.deviceUnavailable, input.original, why)
            }
            if let s = options.cameraSize { av_dict_set(&dict, "video_size", s.description, 0) }
            if let r = options.cameraRate { av_dict_set(&dict, "framerate", String(r), 0) }
        }
        let openResult = avformat_open_input(&ctx, input.openName, inputFormat, &dict)
        guard openResult >= 0, let opened = ctx else {
            // avformat_open_input frees the context on failure.
            if openResult == bitspot_averror_exit(), interrupt.reason == .stalled {
                throw VideoIOError(.readFailed, input.original, "no data within \(Self.seconds(options.stallTimeout)) while opening (stalled input)")
            }
            throw Self.openError(openResult, input)
        }
        handles.format = opened

        // What was opened so far is freed by `handles` if the set-up below throws.
        do {
            interrupt.arm()
            let infoResult = avformat_find_stream_info(opened, nil)
            if infoResult < 0 {
                throw VideoIOError(.inputInvalid, input.original, "cannot read stream information (\(FFmpegCall.message(infoResult)))")
            }
            var codec: UnsafePointer<AVCodec>? = nil
            let best = av_find_best_stream(opened, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
            if best == bitspot_averror_stream_not_found() {
                throw VideoIOError(.inputInvalid, input.original, "has no video stream")
            }
            if best == bitspot_averror_decoder_not_found() || codec == nil {
                let name = Self.firstVideoCodecName(opened) ?? "unknown"
                throw VideoIOError(.unsupported, input.original, "no decoder for video codec '\(name)' in this FFmpeg build")
            }
            guard best >= 0, let stream = opened.pointee.streams[Int(best)] else {
                throw VideoIOError(.inputInvalid, input.original, "cannot select a video stream (\(FFmpegCall.message(best)))")
            }
            streamIndex = best
            let tb = stream.pointee.time_base
            timeBase = tb.den != 0 ? Double(tb.num) / Double(tb.den) : 1.0 / 90000
            if stream.pointee.start_time != bitspot_nopts_value() { startTimestamp = stream.pointee.start_time }

            let streamCodec = avcodec_get_name(stream.pointee.codecpar.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            var chosen = codec!
            var hardwareNote: String? = nil
            var openedDecoder: UnsafeMutablePointer<AVCodecContext>? = nil
            switch options.decoder {
            case nil:
                break
            case DecodeOptions.autoDecoder?:
                let hwName = "\(String(cString: codec!.pointee.name))_v4l2m2m"
                if let hw = avcodec_find_decoder_by_name(hwName) {
                    do {
                        openedDecoder = try Self.openDecoder(hw, stream: stream, options: options, input: input)
                        chosen = hw
                    } catch let e as VideoIOError {
                        hardwareNote = e.cause
                    }
                } else {
                    hardwareNote = "this FFmpeg has no \(hwName)"
                }
            case let name?:
                guard let named = avcodec_find_decoder_by_name(name) else {
                    throw VideoIOError(.badRequest, "--decoder", "no decoder named '\(name)' in this FFmpeg build (`ffmpeg -decoders` lists them)")
                }
                guard named.pointee.id == stream.pointee.codecpar.pointee.codec_id else {
                    let other = avcodec_get_name(named.pointee.id).map { String(cString: $0) } ?? "another codec"
                    throw VideoIOError(.badRequest, "--decoder", "\(name) decodes \(other), but \(input.original) is \(streamCodec)")
                }
                chosen = named
            }
            if openedDecoder == nil {
                do {
                    openedDecoder = try Self.openDecoder(chosen, stream: stream, options: options, input: input)
                } catch let e as VideoIOError where options.decoder != nil && options.decoder != DecodeOptions.autoDecoder {
                    // The decoder asked for by name exists but does not open here (a hardware decoder
                    // without its device): say which, as an unavailable device.
                    throw VideoIOError(.deviceUnavailable, "--decoder \(options.decoder!)", e.cause)
                }
            }
            let dec = openedDecoder!
            handles.decoder = dec
            decoderName = String(cString: chosen.pointee.name)
            hardwareDecoderNote = hardwareNote
            let isHardware = chosen.pointee.capabilities & Int32(bitspot_codec_cap_hardware()) != 0
            handles.packet = av_packet_alloc()
            handles.frame = av_frame_alloc()
            if handles.packet == nil || handles.frame == nil { throw VideoIOError(.readFailed, input.original, "out of memory") }
            if options.skipsBidirectional, !isHardware {
                // (A hardware decoder is not doubled: its device may allow one session, and it decodes
                // B-frames without the CPU anyway.)
                counters.bidirectionalChecks = 1
                if let second = try? Self.openDecoder(chosen, stream: stream, options: options, input: input, skipFrame: AVDISCARD_BIDIR) {
                    bidirectionalCheck = BidirectionalCheck(decoder: second)
                }
                if bidirectionalCheck == nil { counters.bidirectionalFailure = "the B-frame-skipping decoder did not open" }
            }
            info = Self.describe(opened, stream: stream, decoder: dec)
            if case .every = options.sampling, info.frameRate == nil { keySlots = nil }
            if info.width <= 0 || info.height <= 0 {
                throw VideoIOError(.inputInvalid, input.original, "video stream has no frame size (damaged header)")
            }
        }
    }

    /// Allocates, configures and opens a decoder for the stream; throws (having freed it) when it does not open.
    /// `skipFrame` replaces the frames the options leave undecoded (the B-frame check's second decoder).
    private static func openDecoder(_ codec: UnsafePointer<AVCodec>, stream: UnsafeMutablePointer<AVStream>,
                                    options: DecodeOptions, input: InputSpec,
                                    skipFrame: AVDiscard? = nil) throws -> UnsafeMutablePointer<AVCodecContext> {
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw VideoIOError(.readFailed, input.original, "out of memory allocating a decoder")
        }
        var dec: UnsafeMutablePointer<AVCodecContext>? = allocated
        let name = String(cString: codec.pointee.name)
        let par = avcodec_parameters_to_context(dec, stream.pointee.codecpar)
        if par < 0 {
            avcodec_free_context(&dec)
            throw VideoIOError(.unsupported, input.original, "the \(name) decoder rejects the stream parameters (\(FFmpegCall.message(par)))")
        }
        dec!.pointee.thread_count = Int32(options.threads)
        dec!.pointee.pkt_timebase = stream.pointee.time_base
        if options.sampling == .keyFrames && !options.fillsKeyFrameGaps { dec!.pointee.skip_frame = AVDISCARD_NONKEY }
        if options.skipsNonReference { dec!.pointee.skip_frame = AVDISCARD_NONREF }
        if let skipFrame { dec!.pointee.skip_frame = skipFrame }
        if options.skipLoopFilter { dec!.pointee.skip_loop_filter = AVDISCARD_ALL }
        let openCodec = avcodec_open2(dec, codec, nil)
        if openCodec < 0 {
            avcodec_free_context(&dec)
            throw VideoIOError(.unsupported, input.original, "cannot open the \(name) decoder (\(FFmpegCall.message(openCodec)))")
        }
        return dec!
    }

    /// The FFmpeg objects of one source, freed together.
    private final class Handles {
        /// Kept alive as long as the format context that calls it.
        let interrupt: ReadInterrupt
        init(interrupt: ReadInterrupt) { self.interrupt = interrupt }
        var format: UnsafeMutablePointer<AVFormatContext>?
        var decoder: UnsafeMutablePointer<AVCodecContext>?
        var packet: UnsafeMutablePointer<AVPacket>?
        var frame: UnsafeMutablePointer<AVFrame>?

        /// Frees the decoder and takes `next` in its place.
        func replaceDecoder(with next: UnsafeMutablePointer<AVCodecContext>) {
            avcodec_free_context(&decoder)
            decoder = next
        }

        deinit {
            av_frame_free(&frame)
            av_packet_free(&packet)
            avcodec_free_context(&decoder)
            avformat_close_input(&format)
        }
    }

    /// Makes a read blocked in ``next()`` (on another thread) return, and ends the stream: the next
    /// ``next()`` gives nil. For stopping on a signal while a live input waits for data.
    public func cancel() { interrupt.cancel() }

    /// The next frame that passes sampling and the change gate, or nil at the end of the stream.
    public func next() throws -> LumaFrame? {
        while !finished {
            if let kept = try receiveFrames() { return kept }
            if finished { break }
            if let deadline = readDeadline, Self.monotonicNow() >= deadline { return nil }
            try feedDecoder()
        }
        return nil
    }

    /// Packets of a live input read in `--keyframes` mode before one flagged key must have come.
    static let keyFrameSearchLimit = 3000

    /// `CLOCK_MONOTONIC` now, in nanoseconds (the clock of `readDeadline`).
    public static func monotonicNow() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Pulls decoded frames until one is kept, the decoder wants input, or the stream ends.
    private func receiveFrames() throws -> LumaFrame? {
        guard let dec = decoder, let frame else { return nil }
        while true {
            let r = avcodec_receive_frame(dec, frame)
            if r == FFmpegCall.again {
                if flushed { finished = true }
                return nil
            }
            if r == FFmpegCall.eof {
                finished = true
                if options.skipsNonReference { counters.skippedNonReference = max(0, counters.packetsDecoded - counters.decoded) }
                bidirectionalCheck?.streamEnded()
                settleBidirectionalCheck()
                return nil
            }
            if r < 0 { counters.decodeErrors += 1; if flushed { finished = true; return nil }; continue }
            defer { av_frame_unref(frame) }
            if let h = handOverTimestamp {
                // The first pictures of the hand-over decoder that the first decoder already gave.
                let ts = frame.pointee.best_effort_timestamp
                if ts != bitspot_nopts_value() && ts <= h { continue }
                handOverTimestamp = nil
            }
            if let check = bidirectionalCheck {
                check.noteMain(frame)
                if frame.pointee.best_effort_timestamp != bitspot_nopts_value() { lastDecodedTimestamp = frame.pointee.best_effort_timestamp }
            }
            counters.decoded += 1
            if frame.pointee.decode_error_flags != 0 { counters.decodeErrors += 1 }
            let time = frameTime(frame)
            let index = estimatedIndices ? estimatedIndex(time) : counters.decoded - 1
            guard sampler.keeps(index: index, time: time, isKey: bitspot_frame_is_key(frame) != 0) else {
                counters.droppedBySampling += 1
                continue
            }
            let converted: (pixels: [UInt8], size: FrameSize)
            do {
                converted = try scaler.convert(frame, to: options.size)
            } catch let e as VideoIOError {
                throw VideoIOError(e.category, input.original, e.cause)
            }
            let luma = LumaFrame(width: converted.size.width, height: converted.size.height, pixels: converted.pixels,
                                 time: time, index: index, isKeyFrame: bitspot_frame_is_key(frame) != 0)
            if gate != nil, !gate!.admits(luma) {
                counters.droppedByGate += 1
                continue
            }
            counters.delivered += 1
            return luma
        }
    }

    /// Reads the next packet of the video stream and sends it to the decoder (or flushes at the end).
    private func feedDecoder() throws {
        settleBidirectionalCheck()
        guard let dec = decoder, let pkt = packet else { finished = true; return }
        if flushed { finished = true; return }
        while true {
            let read = keySlots != nil || keyGaps != nil || !lookahead.isEmpty ? try nextLookaheadPacket(into: pkt) : try readVideoPacket(into: pkt)
            switch read {
            case .stopped:
                finished = true
                return
            case .end:
                avcodec_send_packet(dec, nil)
                flushed = true
                bidirectionalCheck?.streamEnded()
                settleBidirectionalCheck()
                return
            case .packet:
                break
            }
            defer { av_packet_unref(pkt) }
            if options.sampling == .keyFrames, !options.fillsKeyFrameGaps, bitspot_packet_is_key(pkt) == 0 {
                counters.skippedUndecoded += 1
                // A live input that flags no packet as key (lavfi under FFmpeg 7.1) would be read forever.
                if input.isLive && counters.packetsDecoded == 0 && counters.skippedUndecoded >= Self.keyFrameSearchLimit {
                    throw VideoIOError(.inputInvalid, input.original, "no key frame in the first \(Self.keyFrameSearchLimit) packets "
                                       + "(this input flags none); sample it with --every or --fps instead of --keyframes")
                }
                // `next()` ends the read once the deadline has passed.
                if let deadline = readDeadline, Self.monotonicNow() >= deadline { return }
                continue
            }
            counters.packetsDecoded += 1
            let s = avcodec_send_packet(dec, pkt)
            if s < 0 && s != FFmpegCall.again {
                if s == bitspot_averror(ENOMEM) {
                    throw VideoIOError(.readFailed, input.original, "decoder out of memory")
                }
                counters.decodeErrors += 1
            }
            bidirectionalCheck?.feed(pkt)
            return
        }
    }

    private enum PacketRead { case packet, end, stopped }

    /// Reads the next packet of the video stream into `pkt` (the caller unreferences it): `.end` at the
    /// end of the stream, `.stopped` when the read was cancelled or interrupted.
    private func readVideoPacket(into pkt: UnsafeMutablePointer<AVPacket>) throws -> PacketRead {
        guard let fmt = format else { return .stopped }
        while true {
            interrupt.arm()
            let r = av_read_frame(fmt, pkt)
            if r == bitspot_averror_exit() || interrupt.isCancelled {
                if r >= 0 { av_packet_unref(pkt) }
                if interrupt.reason == .stalled && !interrupt.isCancelled {
                    throw VideoIOError(.readFailed, input.original,
                                       "no data for \(Self.seconds(options.stallTimeout)) after \(counters.decoded) frames (stalled input)")
                }
                return .stopped
            }
            if r == FFmpegCall.eof { return .end }
            if r == FFmpegCall.again { usleep(2000); continue }
            if r == FFmpegCall.invalidData {
                // Damaged container data: count it and read on, unless nothing readable follows.
                counters.decodeErrors += 1
                consecutiveReadErrors += 1
                if consecutiveReadErrors > 1000 {
                    throw VideoIOError(.inputInvalid, input.original, "too many consecutive damaged packets")
                }
                continue
            }
            if r < 0 {
                throw VideoIOError(.readFailed, input.original,
                                   "read error after \(counters.decoded) frames (\(FFmpegCall.message(r)))")
            }
            consecutiveReadErrors = 0
            guard pkt.pointee.stream_index == streamIndex else { av_packet_unref(pkt); continue }
            counters.packetsRead += 1
            return .packet
        }
    }

    /// `preferKeyFrames` and `maxKeyFrameGap`: the next packet the decoder needs, into `pkt`, reading ahead
    /// as far as the decision takes and leaving out the packets a later key frame makes unnecessary.
    private func nextLookaheadPacket(into pkt: UnsafeMutablePointer<AVPacket>) throws -> PacketRead {
        while true {
            // While the B-frame check runs both decoders get every packet.
            let (queue, ended, full) = (lookahead.entries, lookahead.ended, lookahead.isFull)
            let decision = bidirectionalCheck != nil ? .decode
                : keySlots?.decide(queue, ended: ended, full: full) ?? keyGaps?.decide(queue, ended: ended, full: full) ?? .decode
            if decision == .readMore || (lookahead.isEmpty && !lookahead.ended) {
                switch try readVideoPacket(into: pkt) {
                case .stopped: return .stopped
                case .end: lookahead.ended = true
                case .packet:
                    let entry = KeyFrameSlots.Entry(slot: packetSlot(pkt), key: bitspot_packet_is_key(pkt) != 0,
                                                    time: keyGaps != nil ? packetTime(pkt) : nil)
                    guard lookahead.push(moving: pkt, entry: entry) else {
                        av_packet_unref(pkt)
                        throw VideoIOError(.readFailed, input.original, "out of memory reading ahead")
                    }
                }
                continue
            }
            if lookahead.isEmpty { return .end }
            if decision == .skip {
                lookahead.popFirst(into: nil)
                if keyGaps != nil { counters.skippedUndecoded += 1 } else { counters.skippedBeforeKeyFrame += 1 }
                continue
            }
            keySlots?.sent(lookahead.entries.first!)
            keyGaps?.sent(lookahead.entries.first!)
            lookahead.popFirst(into: pkt)
            return .packet
        }
    }

    /// A packet's presentation time in seconds from the stream's start, or from the first packet's when
    /// the stream gives no start time (nil without a time).
    private func secondsFromStart(_ pkt: UnsafeMutablePointer<AVPacket>) -> Double? {
        let pts = pkt.pointee.pts
        guard pts != bitspot_nopts_value() else { return nil }
        let origin = startTimestamp ?? slotOrigin ?? pts
        if startTimestamp == nil { slotOrigin = origin }
        return Double(pts &- origin) * timeBase
    }

    /// A packet's presentation time in seconds from the stream's start (nil without one), for
    /// `maxKeyFrameGap`; gives it up when the times go backwards (every packet is then decoded).
    private func packetTime(_ pkt: UnsafeMutablePointer<AVPacket>) -> Double? {
        guard keyGaps != nil, let time = secondsFromStart(pkt) else { return nil }
        if let h = highestPacketTime, time < h - 2 || counters.timestampJumps > 0 {
            keyGaps = nil
            return nil
        }
        highestPacketTime = max(highestPacketTime ?? time, time)
        return time
    }

    /// The rate-sampling slot of a packet's presentation time (nil without one); gives up
    /// `preferKeyFrames` when the times go backwards (a restarted stream, where slots would mislead).
    private func packetSlot(_ pkt: UnsafeMutablePointer<AVPacket>) -> Int64? {
        guard keySlots != nil, let time = secondsFromStart(pkt) else { return nil }
        let slot: Int64
        switch options.sampling {
        case .every(let n): slot = FrameSampler.slot(index: estimatedIndex(time), every: n)  // (has a frame rate here)
        case .rate(let r): slot = FrameSampler.slot(time: time, rate: r)
        case .all, .keyFrames: return nil
        }
        if let h = highestPacketSlot, slot < h - 2 || counters.timestampJumps > 0 {
            keySlots = nil
            return nil
        }
        highestPacketSlot = max(highestPacketSlot ?? slot, slot)
        return slot
    }

    /// Acts on a decided B-frame check: hands decoding over to the decoder that skips B-frames (passed),
    /// or drops it (failed). Called between packets, with the main decoder drained.
    private func settleBidirectionalCheck() {
        guard let check = bidirectionalCheck, check.state != .checking else { return }
        bidirectionalCheck = nil
        if check.state == .passed, !flushed, let next = check.takeDecoder() {
            handles.replaceDecoder(with: next)
            handOverTimestamp = lastDecodedTimestamp
            counters.bidirectionalPassed = 1
            counters.bidirectionalFrom = counters.packetsDecoded
        } else {
            counters.bidirectionalFailure = check.state == .passed ? "the stream ended during the check" : check.reason
        }
    }

    /// Presentation time in seconds from the stream's start.
    private func frameTime(_ frame: UnsafeMutablePointer<AVFrame>) -> Double {
        let ts = frame.pointee.best_effort_timestamp
        if ts == bitspot_nopts_value() {
            let step = info.frameRate.map { 1 / $0 } ?? (1.0 / 30)
            let t = lastTime.map { $0 + step } ?? 0
            lastTime = t
            return t
        }
        if startTimestamp == nil { startTimestamp = ts }
        var t = Double(ts &- startTimestamp!) * timeBase + timeOffset
        if let last = lastTime, t < last - 1e-3 {
            // The stream's clock went backwards: continue one frame step after the last time.
            let step = info.frameRate.map { 1 / $0 } ?? (1.0 / 30)
            timeOffset += last + step - t
            t = last + step
            counters.timestampJumps += 1
        }
        lastTime = t
        return t
    }

    private static func seconds(_ t: Double?) -> String {
        guard let t else { return "?" }
        return t == t.rounded() ? "\(Int(t)) s" : "\(t) s"
    }

    /// The frame number a time corresponds to, for key-frames-only mode where others are not decoded.
    private func estimatedIndex(_ time: Double) -> Int {
        // Clamped like the sampler's slots: absurd times must not trap in Int(_:).
        if let fps = info.frameRate, fps > 0 { return Int(max(-9e18, min(9e18, (time * fps).rounded()))) }
        return counters.packetsRead - 1
    }

    private static func describe(_ fmt: UnsafeMutablePointer<AVFormatContext>, stream: UnsafeMutablePointer<AVStream>,
                                 decoder: UnsafeMutablePointer<AVCodecContext>) -> StreamInfo {
        let par = stream.pointee.codecpar.pointee
        let iformat = fmt.pointee.iformat.pointee
        func rate(_ r: AVRational) -> Double? { r.num > 0 && r.den > 0 ? Double(r.num) / Double(r.den) : nil }
        var duration: Double? = nil
        if stream.pointee.duration != bitspot_nopts_value(), stream.pointee.duration > 0 {
            duration = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        } else if fmt.pointee.duration != bitspot_nopts_value(), fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(bitspot_time_base())
        }
        let pixName = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } ?? "unknown"
        let fps = rate(stream.pointee.avg_frame_rate) ?? rate(stream.pointee.r_frame_rate)
        return StreamInfo(
            container: String(cString: iformat.name),
            containerLongName: iformat.long_name.map { String(cString: $0) } ?? "",
            codec: String(cString: avcodec_get_name(par.codec_id)),
            width: Int(par.width), height: Int(par.height),
            pixelFormat: pixName,
            frameRate: fps,
            duration: duration,
            frameCount: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil,
            bitRate: par.bit_rate > 0 ? Int(par.bit_rate) : (fmt.pointee.bit_rate > 0 ? Int(fmt.pointee.bit_rate) : nil)
        )
    }

    private static func firstVideoCodecName(_ fmt: UnsafeMutablePointer<AVFormatContext>) -> String? {
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let s = fmt.pointee.streams[i], s.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO else { continue }
            let par = s.pointee.codecpar.pointee
            if par.codec_id != AV_CODEC_ID_NONE { return String(cString: avcodec_get_name(par.codec_id)) }
            // An unknown tag: show the four characters the container gave.
            let tag = par.codec_tag
            let chars = (0..<4).map { UInt8((tag >> (8 * UInt32($0))) & 0xFF) }
            if chars.allSatisfy({ $0 >= 32 && $0 < 127 }) { return "unknown (tag \(String(decoding: chars, as: UTF8.self)))" }
            return "unknown"
        }
        return nil
    }

    private static func openError(_ code: Int32, _ input: InputSpec) -> VideoIOError {
        let name = input.original
        let isDevice: Bool
        if case .device = input.kind { isDevice = true } else { isDevice = false }
        switch code {
        case FFmpegCall.posix(ENOENT), FFmpegCall.posix(ENODEV), FFmpegCall.posix(ENXIO):
            return VideoIOError(.inputMissing, name, isDevice ? "no such camera or device (is it plugged in?)" : "no such file or resource")
        case FFmpegCall.posix(EBUSY) where isDevice:
            return VideoIOError(.deviceUnavailable, name, "device is busy (another program is using it)")
        case FFmpegCall.posix(EACCES), FFmpegCall.posix(EPERM):
            return VideoIOError(.deviceUnavailable, name, "permission denied")
        case FFmpegCall.eof:
            return VideoIOError(.inputInvalid, name, input.kind == .standardInput
                                ? "standard input ended before any video data (empty or closed early)"
                                : "ended before any video data (empty or truncated)")
        case FFmpegCall.invalidData where input.kind == .standardInput:
            return VideoIOError(.inputInvalid, name, "standard input held no video FFmpeg can read (empty, closed early, or not a video)")
        case FFmpegCall.invalidData:
            return VideoIOError(.inputInvalid, name, "not a video FFmpeg can read (unknown format, or a damaged or truncated file)")
        case FFmpegCall.posix(EINVAL) where isDevice:
            return VideoIOError(.badRequest, name, "the device rejected the request (check the device spec, size and rate)")
        case FFmpegCall.posix(EIO):
            return VideoIOError(isDevice ? .deviceUnavailable : .readFailed, name, "cannot open (\(FFmpegCall.message(code)))")
        default:
            if input.kind == .file {
                // A demuxer refusing what a file's header says (FFmpeg's errno-style codes mean little here:
                // an absurd picture size in a Y4M header comes back as EBUSY).
                return VideoIOError(.inputInvalid, name, "FFmpeg refuses its header (damaged or absurd values: \(FFmpegCall.message(code)))")
            }
            return VideoIOError(isDevice ? .deviceUnavailable : .readFailed, name, "cannot open (\(FFmpegCall.message(code)))")
        }
    }
}
