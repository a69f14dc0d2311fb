import CFFmpeg

/// Decides whether a stream's B-frames may all be left undecoded (`DecodeOptions.skipBidirectional`).
///
/// Leaving out every B-frame (`AVDISCARD_BIDIR`) is exact only when no P-frame references a B-frame:
/// true of many encodings (x264 with `ref=1`, most camera and phone encoders), false of others (x264's
/// default `ref=3` with B-pyramids), where FFmpeg conceals the missing pictures silently and the
/// P-frames after them come out wrong. So this check feeds a second decoder, one that discards every
/// B-frame, the same packets as the main decoder (which leaves out non-reference frames only, always
/// exact) and compares their luma planes (128-bit MurmurHash3 through libavutil) at equal timestamps. When
/// ``required`` predicted (non-key) pictures have matched, the check passes and the source hands
/// decoding over to the second decoder; the first difference fails it, and decoding goes on skipping
/// non-reference frames only. A stream that changes its structure after the check (concatenated
/// recordings from different encoders) is not checked again.
final class BidirectionalCheck {
    enum State: Equatable { case checking, passed, failed }

    /// Non-key pictures that must match before the check passes.
    let required: Int
    /// Packets after which a check that has not seen `required` comparable pictures gives up (fails).
    let packetLimit: Int
    private(set) var state = State.checking
    private(set) var matched = 0
    private(set) var packets = 0
    /// Why the check failed, for the report.
    private(set) var reason = ""

    /// The decoder that discards B-frames; owned until the source takes it over with ``takeDecoder()``.
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    /// Luma digests of pictures one decoder has given and the other not yet, by timestamp (with key flag).
    private var checkSums: [Int64: (digest: LumaDigest, key: Bool)] = [:]
    private var mainSums: [Int64: LumaDigest] = [:]

    /// Takes over `decoder`, opened like the main decoder but with `skip_frame = AVDISCARD_BIDIR`
    /// (`VideoSource.openDecoder`); nil (the decoder freed) when no frame can be allocated.
    init?(decoder: UnsafeMutablePointer<AVCodecContext>, required: Int = 12, packetLimit: Int = 600) {
        self.required = required
        self.packetLimit = packetLimit
        self.decoder = decoder
        frame = av_frame_alloc()
        if frame == nil { return nil }
    }

    deinit {
        av_frame_free(&frame)
        avcodec_free_context(&decoder)
    }

    /// Hands the second decoder over (after the check passed); the check owns nothing afterwards.
    func takeDecoder() -> UnsafeMutablePointer<AVCodecContext>? {
        let d = decoder
        decoder = nil
        checkSums = [:]
        mainSums = [:]
        return d
    }

    /// Gives the check decoder the packet the main decoder was just given, and compares what it returns.
    func feed(_ packet: UnsafeMutablePointer<AVPacket>) {
        guard state == .checking, let dec = decoder, let frame else { return }
        packets += 1
        if avcodec_send_packet(dec, packet) < 0 {
            // An error the main decoder may well survive, but the two can no longer be compared safely.
            fail("the B-frame-skipping decoder rejected a packet")
            return
        }
        while avcodec_receive_frame(dec, frame) >= 0 {
            let pts = frame.pointee.best_effort_timestamp
            let key = bitspot_frame_is_key(frame) != 0
            let digest = LumaDigest(frame)
            av_frame_unref(frame)
            guard pts != bitspot_nopts_value() else { fail("frames without timestamps cannot be compared"); return }
            guard let digest else { fail("a picture could not be hashed (out of memory)"); return }
            if let m = mainSums.removeValue(forKey: pts) { compare(m, digest, key: key) } else { checkSums[pts] = (digest, key) }
            if state != .checking { return }
        }
        if state == .checking && packets >= packetLimit {
            fail("only \(matched) of \(required) predicted pictures to compare in the first \(packetLimit) packets")
        }
    }

    /// Notes a picture of the main decoder (called before it is sampled or dropped).
    func noteMain(_ mainFrame: UnsafeMutablePointer<AVFrame>) {
        guard state == .checking else { return }
        let pts = mainFrame.pointee.best_effort_timestamp
        guard pts != bitspot_nopts_value() else { fail("frames without timestamps cannot be compared"); return }
        guard let digest = LumaDigest(mainFrame) else { fail("a picture could not be hashed (out of memory)"); return }
        if let c = checkSums.removeValue(forKey: pts) { compare(digest, c.digest, key: c.key) } else { mainSums[pts] = digest }
    }

    /// The stream ended while the check was still running.
    func streamEnded() {
        if state == .checking { fail("the stream ended after \(matched) of \(required) predicted pictures matched") }
    }

    private func compare(_ main: LumaDigest, _ check: LumaDigest, key: Bool) {
        guard main == check else {
            fail("a picture decoded without B-frames differs (P-frames reference B-frames in this stream)")
            return
        }
        if !key { matched += 1 }
        if matched >= required { state = .passed }
    }

    private func fail(_ why: String) {
        state = .failed
        reason = why
        checkSums = [:]
        mainSums = [:]
        avcodec_free_context(&decoder)
    }
}

/// A 128-bit MurmurHash3 of a picture's luma plane (the rows' visible bytes; 8-bit formats, the first
/// plane), through libavutil: about 6x faster than its CRC-32 (0.20 against 1.25 ms for a 1080p plane on
/// the 2-core EPYC), which made the check 3 % of a 1080p run's CPU while it ran. Nil when the frame has no
/// data or no memory is left (the check then fails).
struct LumaDigest: Equatable {
    var low: UInt64 = 0, high: UInt64 = 0

    init?(_ f: UnsafeMutablePointer<AVFrame>) {
        guard let base = f.pointee.data.0 else { return nil }
        let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: f.pointee.format))
        let bytesPerSample = desc.map { Int($0.pointee.comp.0.step) } ?? 1
        let rowBytes = Int(f.pointee.width) * max(1, bytesPerSample)
        var out = (UInt64(0), UInt64(0))
        let ok = withUnsafeMutableBytes(of: &out) {
            bitspot_murmur3_rows(base, Int(f.pointee.linesize.0), Int32(rowBytes), f.pointee.height,
                                 $0.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard ok != 0 else { return nil }
        (low, high) = out
    }
}
