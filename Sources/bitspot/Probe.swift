import ArgumentParser
import Energy
import Foundation
import VideoIO

/// `bitspot probe`: what a video holds, and how fast it decodes in each sampling mode.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a video and measure its decode throughput in each sampling mode.",
        discussion: """
            Prints container, codec, size, rate, duration and frame count, then decodes the input once per \
            mode (all frames at the video's size, all frames scaled to --scaled-size, every Nth, a target \
            rate, key frames only) and reports frames/s and ms per kept frame. Standard input is decoded \
            once (all frames); live inputs stop after --max-frames frames or 20 s per mode.
            """
    )

    @OptionGroup var source: InputOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(help: "Stride of the every-Nth run.")
    var every: Int = 10

    @Option(help: "Rate of the fixed-rate run, frames per second.")
    var fps: Double = 2

    @Option(name: .customLong("scaled-size"), help: ArgumentHelp("Working size of the scaled run.", valueName: "WxH"))
    var scaledSize: String = "640x360"

    @Option(name: .customLong("max-frames"), help: "Stop each run after this many decoded frames (default: whole file; 90 for live inputs).")
    var maxFrames: Int?

    @Option(help: "Runs per mode; the median is reported.")
    var `repeat`: Int = 1

    @Flag(name: .customLong("no-decode"), help: "Only read the header; skip the throughput runs.")
    var noDecode = false

    func validate() throws {
        guard `repeat` >= 1, `repeat` <= 100 else { throw ValidationError("--repeat must be between 1 and 100") }
        if let m = maxFrames, m < 1 { throw ValidationError("--max-frames must be 1 or more") }
    }

    func run() throws {
        try reportingFailures {
            let input = try source.inputSpec()
            let scaled = try FrameSize(parsing: scaledSize)
            try SamplingMode.every(every).validate()
            try SamplingMode.rate(fps).validate()
            let first = try VideoSource(input: input, options: source.decodeOptions(size: nil, sampling: .all, gate: nil))
            let info = first.info
            let limit = maxFrames ?? (input.isLive ? 90 : nil)

            var runs: [ThroughputRun] = []
            if !noDecode {
                var plan: [(SamplingMode, FrameSize?)] = [(.all, nil)]
                if input.isRepeatable {
                    plan += [(.all, scaled), (.every(every), nil), (.rate(fps), nil), (.keyFrames, nil)]
                }
                for (index, (mode, size)) in plan.enumerated() {
                    var samples: [ThroughputRun] = []
                    for rep in 0..<(input.isRepeatable ? `repeat` : 1) {
                        let reuse = index == 0 && rep == 0
                        let src = reuse ? first : try VideoSource(input: input, options: source.decodeOptions(size: size, sampling: mode, gate: nil))
                        samples.append(try measure(src, label: "\(mode.name)\(size.map { " @\($0)" } ?? "")", limit: limit, total: info.frameCount))
                    }
                    runs.append(ThroughputRun.median(samples))
                }
            }
            let report = ProbeReport(input: input.original, info: info, decoderThreads: source.decoderThreads,
                                     countedFrames: runs.first.map { $0.decoded }, runs: runs, ffmpeg: FFmpegVersion.summary)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.text)
            }
        }
    }

    private func measure(_ src: VideoSource, label: String, limit: Int?, total: Int?) throws -> ThroughputRun {
        var bar = ProgressBar(label: label, total: limit.map { min($0, total ?? $0) } ?? total)
        bar.enabled = !json || isatty(STDERR_FILENO) != 0
        let wall0 = DispatchTime.now().uptimeNanoseconds
        // A live input gets at most 20 s per mode, so that a mode that keeps none of its frames ends.
        if src.input.isLive { src.readDeadline = VideoSource.monotonicNow() + 20_000_000_000 }
        let cpu0 = Clocks.processCPU()
        var delivered = 0
        while let _ = try src.next() {
            delivered += 1
            bar.update(src.counters.decoded + src.counters.skippedUndecoded)
            if let limit, src.counters.decoded >= limit { break }
        }
        bar.finish()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9
        let cpu = Clocks.processCPU() - cpu0
        let c = src.counters
        return ThroughputRun(mode: src.options.sampling.name, size: (src.options.size ?? FrameSize(width: src.info.width, height: src.info.height)).description,
                             decoded: c.decoded, delivered: c.delivered, skippedUndecoded: c.skippedUndecoded,
                             decodeErrors: c.decodeErrors, wallSeconds: wall, cpuSeconds: cpu)
    }
}

/// One decode run of `probe`.
struct ThroughputRun: Codable {
    var mode: String
    var size: String
    var decoded: Int
    var delivered: Int
    var skippedUndecoded: Int
    var decodeErrors: Int
    var wallSeconds: Double
    var cpuSeconds: Double
    /// Frames handed on per second of wall time.
    var deliveredPerSecond: Double { wallSeconds > 0 ? Double(delivered) / wallSeconds : 0 }
    /// Stream frames covered per second of wall time (decoded plus skipped undecoded).
    var streamFramesPerSecond: Double { wallSeconds > 0 ? Double(decoded + skippedUndecoded) / wallSeconds : 0 }
    var msPerDeliveredFrame: Double { delivered > 0 ? wallSeconds * 1000 / Double(delivered) : 0 }

    enum CodingKeys: String, CodingKey {
        case mode, size, decoded, delivered, skippedUndecoded, decodeErrors, wallSeconds, cpuSeconds
        case deliveredPerSecond, streamFramesPerSecond, msPerDeliveredFrame
    }

    init(mode: String, size: String, decoded: Int, delivered: Int, skippedUndecoded: Int, decodeErrors: Int, wallSeconds: Double, cpuSeconds: Double) {
        self.mode = mode; self.size = size; self.decoded = decoded; self.delivered = delivered
        self.skippedUndecoded = skippedUndecoded; self.decodeErrors = decodeErrors
        self.wallSeconds = wallSeconds; self.cpuSeconds = cpuSeconds
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(mode: try c.decode(String.self, forKey: .mode), size: try c.decode(String.self, forKey: .size),
                  decoded: try c.decode(Int.self, forKey: .decoded), delivered: try c.decode(Int.self, forKey: .delivered),
                  skippedUndecoded: try c.decode(Int.self, forKey: .skippedUndecoded), decodeErrors: try c.decode(Int.self, forKey: .decodeErrors),
                  wallSeconds: try c.decode(Double.self, forKey: .wallSeconds), cpuSeconds: try c.decode(Double.self, forKey: .cpuSeconds))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mode, forKey: .mode); try c.encode(size, forKey: .size)
        try c.encode(decoded, forKey: .decoded); try c.encode(delivered, forKey: .delivered)
        try c.encode(skippedUndecoded, forKey: .skippedUndecoded); try c.encode(decodeErrors, forKey: .decodeErrors)
        try c.encode(wallSeconds, forKey: .wallSeconds); try c.encode(cpuSeconds, forKey: .cpuSeconds)
        try c.encode(deliveredPerSecond, forKey: .deliveredPerSecond)
        try c.encode(streamFramesPerSecond, forKey: .streamFramesPerSecond)
        try c.encode(msPerDeliveredFrame, forKey: .msPerDeliveredFrame)
    }

    /// The run with the median wall time.
    static func median(_ runs: [ThroughputRun]) -> ThroughputRun {
        runs.sorted { $0.wallSeconds < $1.wallSeconds }[runs.count / 2]
    }
}

struct ProbeReport: Codable {
    var input: String
    var info: StreamInfo
    var decoderThreads: Int
    /// Frames counted by the full decode run (when one ran).
    var countedFrames: Int?
    var runs: [ThroughputRun]
    var ffmpeg: String

    var text: String {
        var lines: [String] = []
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        lines.append("input      \(input)")
        lines.append("container  \(info.container) (\(info.containerLongName))")
        lines.append("codec      \(info.codec), \(info.pixelFormat), \(info.width)x\(info.height)" + (info.frameRate.map { ", \(f($0, 2)) fps" } ?? ""))
        var d = "duration   " + (info.duration.map { "\(f($0, 2)) s" } ?? "unknown")
        if let n = info.frameCount ?? countedFrames { d += ", \(n) frames" + (info.frameCount == nil ? " (counted)" : "") }
        if let b = info.bitRate { d += ", \(f(Double(b) / 1e6, 2)) Mb/s" }
        lines.append(d)
        lines.append("ffmpeg     \(ffmpeg)")
        if !runs.isEmpty {
            lines.append("")
            lines.append("decode throughput (\(decoderThreads) decoder thread\(decoderThreads == 1 ? "" : "s"))")
            lines.append("mode          size        decoded  skipped     kept  wall s  stream fps  kept fps  ms/kept  errors")
            for r in runs {
                lines.append(r.mode.padding(toLength: 13, withPad: " ", startingAt: 0) + " " +
                             r.size.padding(toLength: 10, withPad: " ", startingAt: 0) +
                             String(format: " %8d %8d %8d %7.2f %11.1f %9.1f %8.2f %7d", r.decoded, r.skippedUndecoded, r.delivered,
                                    r.wallSeconds, r.streamFramesPerSecond, r.deliveredPerSecond, r.msPerDeliveredFrame, r.decodeErrors))
            }
        }
        return lines.joined(separator: "\n")
    }
}
