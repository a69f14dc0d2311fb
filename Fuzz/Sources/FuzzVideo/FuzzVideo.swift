import FuzzSupport
import VideoIO

/// The video input path: the bytes are written to a file in /dev/shm and opened with `VideoSource`
/// (FFmpeg probes the container from the content: MP4, MPEG-TS, Matroska, ...), and at most
/// `frameLimit` frames are decoded, converted to luma, scaled and passed through the change gate.
///
/// The last byte of the input picks the options (mutating it explores them, and a real video's last
/// byte hardly matters to its decoding): bits 0-1 the sampling mode (all, every 2nd, 7.5 fps, key
/// frames), bit 2 the change gate (off or 2 grey levels), bits 3-4 the working size (64x48 = the seeds'
/// own size, so their rows are copied; 40x30, scaled down by swscale; 96x72, scaled up; or the video's
/// own size, which may change mid-stream), bit 5 `skipNonReference` (frames nothing references are not
/// decoded; kept frames are numbered by their times), bit 6 `skipLoopFilter` (no deblocking), bit 7
/// `skipBidirectional` (a second decoder that skips B-frames is checked against the first and may take over).
/// Bit 0 of the byte before it: `preferKeyFrames` (packets read ahead; those before a key frame of the same
/// slot are not decoded); bit 1: `maxKeyFrameGap` of 0.2 s (with key frames only: packets read ahead, frames
/// between key frames decoded where a gap is filled).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVideo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    guard Fuzz.write(buffer, to: videoPath) else { fatalError("cannot write \(videoPath)") }
    let selector = size > 0 ? data[size - 1] : 0
    let selector2 = size > 1 ? data[size - 2] : 0
    let sampling: SamplingMode = [.all, .every(2), .rate(7.5), .keyFrames][Int(selector & 3)]
    let gate: Double? = selector & 4 != 0 ? 2 : nil
    let working: FrameSize? = [FrameSize(width: 64, height: 48), FrameSize(width: 40, height: 30),
                               FrameSize(width: 96, height: 72), nil][Int(selector >> 3 & 3)]
    let options = DecodeOptions(threads: 1, size: working, sampling: sampling, gateThreshold: gate,
                                skipNonReference: selector & 32 != 0, skipLoopFilter: selector & 64 != 0,
                                skipBidirectional: selector & 128 != 0, preferKeyFrames: selector2 & 1 != 0,
                                maxKeyFrameGap: selector2 & 2 != 0 ? 0.2 : nil)
    do {
        let source = try VideoSource(input: try InputSpec(videoPath), options: options)
        let info = source.info
        Fuzz.check(info.width > 0 && info.height > 0, "an opened video has a frame size")
        // At the video's own size, a huge declared size would make every frame a big copy: skip those.
        if working == nil, info.width * info.height > 1 << 20 { return 0 }
        var frames = 0
        while frames < frameLimit, let frame = try source.next() {
            frames += 1
            Fuzz.check(frame.pixels.count == frame.width * frame.height, "luma buffer matches \(frame.width)x\(frame.height)")
            if let working { Fuzz.check(frame.width == working.width && frame.height == working.height, "frame has the working size") }
        }
        let c = source.counters
        Fuzz.check(c.delivered == frames, "delivered \(c.delivered), seen \(frames)")
        Fuzz.check(c.delivered + c.droppedBySampling + c.droppedByGate <= c.decoded, "counters add up: \(c)")
        Fuzz.check(c.skippedNonReference >= 0 && c.skippedNonReference <= c.packetsDecoded, "non-reference count: \(c)")
        Fuzz.check(c.bidirectionalPassed <= c.bidirectionalChecks && c.bidirectionalChecks <= 1, "B-frame check counts: \(c)")
        Fuzz.check(c.packetsDecoded + c.skippedUndecoded + c.skippedBeforeKeyFrame <= c.packetsRead, "packet counts: \(c)")
    } catch {
        Fuzz.check(error is VideoIOError, "VideoSource threw \(type(of: error)): \(error)")
    }
    return 0
}

/// Frames decoded per input at most (each input must finish in well under a second).
private let frameLimit = 50

private let videoPath: String = {
    let p = Fuzz.scratchPath("video")
    Fuzz.removeAtExit(p)
    return p
}()
