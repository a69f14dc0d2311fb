import ArgumentParser
import VideoIO

/// Which frames a command keeps, shared by `frames` and `bench` (and later `spot`).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Keep every Nth decoded frame.")
    var every: Int?

    @Option(help: "Keep about R frames per second of video.")
    var fps: Double?

    @Flag(help: "Keep key frames only (other frames are never decoded).")
    var keyframes = false

    @Option(name: .customLong("max-gap"),
            help: ArgumentHelp("With --keyframes: where no key frame comes within S seconds of the last kept frame, keep the first frame S seconds on too (decoded through its references), so that streams with rare key frames are still sampled.", valueName: "S"))
    var maxGap: Double?

    @Flag(name: .customLong("skip-nonref"),
          help: "With --every, --fps or --keyframes --max-gap: do not decode frames that no other frame references (most B-frames); each kept frame is the first decoded one at or after its sampling point.")
    var skipNonReference = false

    @Flag(name: .customLong("skip-bidir"),
          help: "Further than --skip-nonref (implied): decode no B-frame at all, once a check on the first frames shows this changes no decoded picture of the video (else --skip-nonref only).")
    var skipBidirectional = false

    @Flag(name: .customLong("skip-loop-filter"),
          help: "Do not run the decoder's deblocking filter (H.264, HEVC, VP8/9): less decoding CPU, pictures slightly blockier than a full decode.")
    var skipLoopFilter = false

    @Flag(name: .customLong("prefer-keyframes"),
          help: "With --fps R or --every N: in each slot (1/R seconds, N frames) that holds a key frame, keep the key frame and do not decode the frames before it that nothing kept needs (most of the decoding when key frames come every second or two, and all but the kept frames of MJPEG; on a live input frames can come up to two slots later).")
    var preferKeyFrames = false

    @Option(help: ArgumentHelp("Change gate: drop frames whose 32x18 block means differ from the last kept frame by less than T grey levels on average.", valueName: "T"))
    var gate: Double?

    @Option(help: ArgumentHelp("Working size of the frames (default: the video's size).", valueName: "WxH"))
    var size: String?

    @Option(name: .customLong("max-frames"), help: "Stop after this many kept frames (needed for live inputs without an end).")
    var maxFrames: Int?

    /// How many of --every, --fps, --keyframes were given.
    var modesChosen: Int { [every != nil, fps != nil, keyframes].filter { $0 }.count }

    func validate() throws {
        guard modesChosen <= 1 else { throw ValidationError("choose at most one of --every N, --fps R, --keyframes") }
        if let m = maxFrames, m < 1 { throw ValidationError("--max-frames must be 1 or more") }
        if let g = maxGap {
            guard keyframes else { throw ValidationError("--max-gap goes with --keyframes (it fills long gaps between key frames)") }
            guard g > 0 && g.isFinite else { throw ValidationError("--max-gap must be a positive number of seconds, got \(g)") }
        }
        if preferKeyFrames && fps == nil && every == nil {
            throw ValidationError("--prefer-keyframes needs --fps R or --every N (it chooses one frame per slot)")
        }
    }

    /// The chosen mode; all frames when none was given.
    var mode: SamplingMode {
        if let every { return .every(every) }
        if let fps { return .rate(fps) }
        if keyframes { return .keyFrames }
        return .all
    }

    /// The working size, parsed.
    func workingSize() throws -> FrameSize? { try size.map { try FrameSize(parsing: $0) } }
}
