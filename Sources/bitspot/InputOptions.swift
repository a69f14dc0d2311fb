import ArgumentParser
import Foundation
import VideoIO

/// Options shared by every command that reads video.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Video file, '-' for standard input, a URL, /dev/videoN, or FORMAT:SPEC (e.g. lavfi:testsrc2=size=1280x720:rate=30). Default: the sample video.", valueName: "input"))
    var input: String?

    @Option(name: .customLong("input-format"), help: ArgumentHelp("Force an FFmpeg input format (e.g. v4l2, lavfi).", valueName: "name"))
    var inputFormat: String?

    @Option(name: .customLong("camera-size"), help: ArgumentHelp("Capture size for cameras (WxH).", valueName: "WxH"))
    var cameraSize: String?

    @Option(name: .customLong("camera-rate"), help: ArgumentHelp("Capture rate for cameras, frames per second.", valueName: "fps"))
    var cameraRate: Double?

    @Option(name: .customLong("decoder-threads"), help: "Decoder threads.")
    var decoderThreads: Int = 1

    @Option(name: .customLong("decoder"), help: ArgumentHelp("Video decoder: 'auto' for the codec's V4L2 hardware decoder when one opens (Raspberry Pi 3/4: h264_v4l2m2m), else software; or a name from `ffmpeg -decoders`. Default: FFmpeg's software decoder.", valueName: "name"))
    var decoder: String?

    @Flag(name: .customLong("ffmpeg-log"), help: "Show FFmpeg's own warnings and errors.")
    var ffmpegLog = false

    @Option(name: .customLong("input-timeout"), help: ArgumentHelp("Fail a read that waits longer than this for data (default: 10 for streams given as URLs, no limit otherwise).", valueName: "seconds"))
    var inputTimeout: Double?

    /// The stall timeout for streams given as URLs when --input-timeout is not given.
    static let defaultStreamTimeout = 10.0

    /// The input to open: what the user gave, or the sample video.
    func inputSpec() throws -> InputSpec {
        VideoIO.setUp()
        FFmpegLog.set(verbose: ffmpegLog)
        if let input { return try InputSpec(input, inputFormat: inputFormat) }
        guard let sample = ResourceLocator.sampleVideo() else {
            throw VideoIOError(.inputMissing, "sample video", "not found; give an input, or run from the BitSpot folder (Samples/sample.mp4)")
        }
        return try InputSpec(sample)
    }

    /// The decode options of a command with `SamplingOptions` (its mode, size and skips; `gate` is the
    /// change gate VideoSource applies, nil where the command gates by itself).
    func decodeOptions(_ sampling: SamplingOptions, gate: Double?) throws -> DecodeOptions {
        try decodeOptions(size: try sampling.workingSize(), sampling: sampling.mode, gate: gate,
                          skipNonReference: sampling.skipNonReference, skipLoopFilter: sampling.skipLoopFilter,
                          skipBidirectional: sampling.skipBidirectional, preferKeyFrames: sampling.preferKeyFrames,
                          maxKeyFrameGap: sampling.maxGap)
    }

    func decodeOptions(size: FrameSize?, sampling: SamplingMode, gate: Double?, skipNonReference: Bool = false,
                       skipLoopFilter: Bool = false, skipBidirectional: Bool = false,
                       preferKeyFrames: Bool = false, maxKeyFrameGap: Double? = nil) throws -> DecodeOptions {
        if let r = cameraRate, !(r > 0 && r.isFinite) {
            throw VideoIOError(.badRequest, "--camera-rate", "must be a positive number, got \(r)")
        }
        if let t = inputTimeout, !(t > 0 && t.isFinite) {
            throw VideoIOError(.badRequest, "--input-timeout", "must be a positive number of seconds, got \(t)")
        }
        var timeout = inputTimeout
        if timeout == nil, let spec = try? inputSpec(), spec.isLive, case .url = spec.kind { timeout = Self.defaultStreamTimeout }
        return DecodeOptions(threads: decoderThreads, size: size, sampling: sampling, gateThreshold: gate,
                             cameraSize: try cameraSize.map { try FrameSize(parsing: $0) }, cameraRate: cameraRate,
                             stallTimeout: timeout, skipNonReference: skipNonReference, skipLoopFilter: skipLoopFilter,
                             skipBidirectional: skipBidirectional, decoder: decoder, preferKeyFrames: preferKeyFrames,
                             maxKeyFrameGap: maxKeyFrameGap)
    }
}

/// Finds files that ship with BitSpot (the sample video, models) without machine paths:
/// `$BITSPOT_HOME`, then the current folder, then the folders above the executable
/// (a bundle's `bin/..`, or a `.build/<triple>/<config>/` inside the repository).
enum ResourceLocator {
    static func find(_ relative: String) -> String? {
        var roots: [String] = []
        if let home = ProcessInfo.processInfo.environment["BITSPOT_HOME"] { roots.append(home) }
        roots.append(FileManager.default.currentDirectoryPath)
        var exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            exe = URL(fileURLWithPath: link)
        }
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            roots.append(dir.path)
            dir = dir.deletingLastPathComponent()
        }
        for root in roots {
            let path = URL(fileURLWithPath: root).appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    static func sampleVideo() -> String? { find("Samples/sample.mp4") }
}
