import ArgumentParser
import Energy
import Foundation
import Spotting
import VideoIO

/// `bitspot bench pipeline`: runs the pipeline's stages on a video, accounts for each stage's latency
/// and energy, checks a budget, and writes reports.
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run the pipeline on a video; print latency and energy per stage; exit 3 when a budget is missed.",
        discussion: """
            Stages: decode (demux, decode, sampling, scaling), gate (the controller's stride and the change \
            gate), and with models (--models, or the shipped Models/) detect, recognize, track and output (each \
            processed frame's JSON line as `spot` writes it: to --jsonl FILE, or encoded and written to /dev/null). Every energy figure says \
            whether it was measured (--meter rapl, hwmon, pi5-pmic, csv:FILE) or modelled (board profile x \
            per-stage CPU time, plus idle power over wall time). Budgets: --budget p95=60ms,energy=80mJ/frame,total=2Wh \
            (see docs/energy.md). Exit codes: 0 within budget, 3 budget missed, 64 bad option or budget, 66 meter \
            source missing, 69 meter not permitted, 65 meter gave garbage.
            """
    )

    @OptionGroup var source: InputOptions

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var network: NetworkOptions

    @Flag(name: .customLong("no-network"), help: "Measure decoding and the gate only, without the networks.")
    var noNetwork = false

    @Option(help: ArgumentHelp("Write the output stage's JSON lines (as `spot --jsonl`) to this file; by default they go to /dev/null.", valueName: "file"))
    var jsonl: String?

    @Option(help: ArgumentHelp("auto, rapl, hwmon[:NAME[:LABEL,...]], pi5-pmic, csv:FILE, model[:BOARD] (pizero2w, pi3b+, pi4b, pi5, x86-64).", valueName: "meter"))
    var meter: String = "auto"

    @Option(help: ArgumentHelp("Budget items, e.g. p95=60ms,energy=80mJ/frame,total=2Wh.", valueName: "items"))
    var budget: String?

    @Option(name: .customLong("budget-file"), help: ArgumentHelp("A file of budget items, one or more per line, # comments.", valueName: "file"))
    var budgetFile: String?

    @Flag(help: "Let the adaptive controller move the stride, gate threshold and early-exit thresholds to stay within budget.")
    var adapt = false

    @Option(name: .customLong("adapt-window"), help: "Frames per controller decision.")
    var adaptWindow: Int = 30

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the JSON report (docs/energy-report.schema.json).", valueName: "file"))
    var reportJSON: String?

    @Option(name: .customLong("report-md"), help: ArgumentHelp("Write the Markdown summary.", valueName: "file"))
    var reportMD: String?

    @Option(help: ArgumentHelp("Write SVG charts (latency.svg, energy-stages.svg, early-exits.svg) into this folder.", valueName: "dir"))
    var charts: String?

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Write Prometheus metrics (node_exporter textfile collector).", valueName: "file"))
    var metricsFile: String?

    @Flag(help: "Measure the metering's own cost: run the pipeline with and without metering, alternately, and print the ratio.")
    var overhead = false

    @Option(name: .customLong("overhead-rounds"), help: "Rounds of each for --overhead (medians are reported).")
    var overheadRounds: Int = 3

    @Option(name: .customLong("simulate-stage"), help: ArgumentHelp("Add a stage 'simulated' after the gate that burns MS milliseconds of CPU on every processed frame: a stand-in for detection, to try budgets and --adapt before the detector exists. Its figures are real measurements of a fake workload.", valueName: "ms"))
    var simulateStage: Double?

    @Flag(help: "Do not print the summary (reports and the exit status still say everything).")
    var quiet = false

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Root folder for /sys and /proc (for tests).", visibility: .hidden))
    var sysfsRoot: String = "/"

    @Option(help: ArgumentHelp("The vcgencmd program for pi5-pmic.", visibility: .hidden))
    var vcgencmd: String = "vcgencmd"

    @Option(name: .customLong("pmic-interval"), help: ArgumentHelp("Seconds between PMIC samples.", visibility: .hidden))
    var pmicInterval: Double = 0.2

    func validate() throws {
        if adaptWindow < 4 { throw ValidationError("--adapt-window must be 4 or more") }
        if overheadRounds < 1 { throw ValidationError("--overhead-rounds must be 1 or more") }
        if let ms = simulateStage, !(ms >= 0 && ms <= 10_000) { throw ValidationError("--simulate-stage must be between 0 and 10000 ms") }
        if !(pmicInterval > 0) { throw ValidationError("--pmic-interval must be positive") }
    }

    /// The detector and recognizer, unless --no-network or no models are given or shipped.
    func makeSpotter() throws -> TextSpotter? {
        if noNetwork { return nil }
        return try network.modelsFolder.map { try network.spotter(folder: $0) }
    }

    func run() throws {
        try reportingFailures {
            // Everything the user wrote is checked before any video is opened.
            let spec = try MeterSpec(parsing: meter)
            var limits = Budget()
            if let budgetFile { try limits.merge(Budget(file: budgetFile)) }
            if let budget { try limits.merge(Budget(parsing: budget)) }
            if adapt && limits.isEmpty {
                throw EnergyError(.badRequest, "--adapt", "needs a budget to steer by (--budget or --budget-file)")
            }
            let gate = sampling.gate, maxFrames = sampling.maxFrames
            if let g = gate, !(g >= 0 && g <= 255) {
                throw EnergyError(.badRequest, "--gate", "threshold must be between 0 and 255 grey levels, got \(g)")
            }
            let input = try source.inputSpec()
            let options = try source.decodeOptions(sampling, gate: nil)
            try options.sampling.validate()
            let env = MeterEnvironment(files: FileAccess(root: sysfsRoot), vcgencmd: vcgencmd, pmicInterval: pmicInterval)
            let choice = try spec.open(env)
            if charts != nil { try prepareChartsFolder() }

            if overhead {
                try measureOverhead(input: input, options: options, choice: choice)
                return
            }

            let spotter = try makeSpotter()
            var run = PipelineRun(input: input, options: options, meter: choice.meter, profile: choice.profile,
                                      budget: limits, adapt: adapt, adaptWindow: adaptWindow, gate: gate, maxFrames: maxFrames, simulatedStageCPU: simulateStage.map { $0 / 1000 }, spotter: spotter)
            run.jsonl = jsonl
            let result = try run.execute(metered: true)
            guard let account = result.account else { return }
            var report = account.report(tool: "bitspot \(BitSpotVersion.string) bench pipeline", input: input.original,
                                        meterNotes: choice.notes, pipelineCounters: result.counters)
            if !limits.isEmpty { report.budget = limits.check(report) }
            report.controller = result.controller
            if result.controller != nil {
                report.notes.append("the controller steers by the \(choice.meter != nil && result.steeredByMeasured ? "measured" : "modelled") energy of each frame")
            }
            if result.interrupted { report.notes.append("interrupted: the figures cover the frames before the interruption") }
            if !result.decoder.isEmpty {
                report.notes.append("\(result.decoder); a hardware decoder's own power is not in the CPU-time model, only in a measuring meter's figures")
            }
            try write(report)
            if !quiet { print(report.markdown(), terminator: "") }
            if result.interrupted { throw ExitCode(ExitCodes.interrupted) }
            if let b = report.budget, !b.met {
                for v in b.verdicts where !v.met { printError("bitspot: budget missed: \(v.item): \(v.summary)") }
                throw ExitCode(ExitCodes.budgetMissed)
            }
        }
    }

    func prepareChartsFolder() throws {
        guard let charts else { return }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: charts, isDirectory: &isDir) {
            if !isDir.boolValue { throw EnergyError(.outputFailed, charts, "exists and is not a folder") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: charts, withIntermediateDirectories: true) } catch {
            throw EnergyError(.outputFailed, charts, "cannot create the charts folder (\(error.localizedDescription))")
        }
    }

    func write(_ report: EnergyReport) throws {
        if let reportJSON {
            do { try AtomicFile.write(try report.json(), to: reportJSON) } catch let e as EnergyError { throw e } catch {
                throw EnergyError(.outputFailed, reportJSON, "cannot encode the report (\(error))")
            }
        }
        if let reportMD { try AtomicFile.write(report.markdown(), to: reportMD) }
        if let charts {
            for chart in report.charts() { try AtomicFile.write(chart.svg, to: charts + "/" + chart.name) }
        }
        if let metricsFile { try AtomicFile.write(report.prometheus(), to: metricsFile) }
    }

    /// Runs the pipeline alternately without and with metering; prints medians and the ratio.
    func measureOverhead(input: InputSpec, options: DecodeOptions, choice: MeterChoice) throws {
        var off: [(wall: Double, cpu: Double)] = [], on: [(wall: Double, cpu: Double)] = []
        var frames = 0
        for round in 0..<overheadRounds {
            for metered in (round % 2 == 0 ? [false, true] : [true, false]) {
                let run = PipelineRun(input: input, options: options, meter: metered ? choice.meter : nil, profile: choice.profile,
                                          budget: Budget(), adapt: false, adaptWindow: adaptWindow, gate: sampling.gate, maxFrames: sampling.maxFrames, simulatedStageCPU: simulateStage.map { $0 / 1000 }, spotter: try makeSpotter())
                let r = try run.execute(metered: metered)
                frames = r.frames
                if metered { on.append((r.wall, r.cpu)) } else { off.append((r.wall, r.cpu)) }
            }
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        let offWall = median(off.map(\.wall)), onWall = median(on.map(\.wall))
        let offCPU = median(off.map(\.cpu)), onCPU = median(on.map(\.cpu))
        let meterName = choice.meter?.name ?? "model:\(choice.profile.name)"
        print("metering overhead, meter \(meterName), \(frames) frames per run, \(overheadRounds) rounds of each (alternating), medians:")
        print(String(format: "  wall  off %.4f s  on %.4f s  ratio %.4f  (%+.2f%%)", offWall, onWall, onWall / offWall, (onWall / offWall - 1) * 100))
        print(String(format: "  cpu   off %.4f s  on %.4f s  ratio %.4f  (%+.2f%%)", offCPU, onCPU, onCPU / offCPU, (onCPU / offCPU - 1) * 100))
        print("  per round (wall s): off " + off.map { String(format: "%.4f", $0.wall) }.joined(separator: " ")
              + "; on " + on.map { String(format: "%.4f", $0.wall) }.joined(separator: " "))
        // The metering's own cost in isolation: empty stages, measured the same way (2 stages per frame).
        let acct = Accountant(stages: ["a", "b"], meter: choice.meter, profile: choice.profile)
        let sa = acct.stage("a"), sb = acct.stage("b")
        try acct.start()
        let calls = 20_000
        let c0 = Clocks.processCPU(), w0 = Clocks.monotonic()
        for i in 0..<calls / 2 {
            acct.measure(sa) { () }
            acct.measure(sb) { () }
            acct.endFrame(index: i, time: 0, processed: true)
        }
        let perFrameCPU = (Clocks.processCPU() - c0) / Double(calls / 2), perFrameWall = (Clocks.monotonic() - w0) / Double(calls / 2)
        _ = try acct.finish()
        let pipelinePerFrame = offCPU / Double(max(1, frames))
        print(String(format: "  metering alone: %.2f us CPU (%.2f us wall) per frame of 2 stages; pipeline without metering: %.1f us CPU per frame; ratio %.4f",
                     perFrameCPU * 1e6, perFrameWall * 1e6, pipelinePerFrame * 1e6, 1 + perFrameCPU / pipelinePerFrame))
    }
}

/// One pass over a video through the stages that exist, measured by an ``Accountant`` or not at all.
struct PipelineRun {
    struct Result {
        var account: Account?
        var controller: ControllerReport?
        var counters: [String: Int]
        var frames: Int
        var wall: Double
        var cpu: Double
        var interrupted: Bool
        var steeredByMeasured: Bool
        /// The decoder, when `--decoder` chose it (empty otherwise).
        var decoder = ""
    }

    let input: InputSpec
    let options: DecodeOptions
    let meter: EnergyMeter?
    let profile: BoardProfile
    let budget: Budget
    let adapt: Bool
    let adaptWindow: Int
    let gate: Double?
    let maxFrames: Int?
    /// CPU seconds a stand-in stage after the gate burns per processed frame (nil: no such stage).
    var simulatedStageCPU: Double? = nil
    /// The networks: detect, recognize, track and output stages run on kept frames when present.
    var spotter: TextSpotter? = nil
    /// Where the output stage writes its JSON lines (nil: /dev/null).
    var jsonl: String? = nil

    /// Spins until the calling thread has used `seconds` more CPU time.
    static func burn(_ seconds: Double) {
        let end = Clocks.threadCPU() + seconds
        var x: UInt64 = 1
        while Clocks.threadCPU() < end {
            for _ in 0..<1000 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
        }
        if x == 0 { print("") }
    }

    /// Frames the run will hand on, when the stream says how many it has.
    func expectedFrames(_ info: StreamInfo) -> Int? {
        let count = info.frameCount ?? info.duration.flatMap { d in info.frameRate.map { Int(d * $0) } }
        var n: Int?
        switch options.sampling {
        case .all: n = count
        case .every(let k): n = count.map { ($0 + k - 1) / k }
        case .rate(let r): n = info.duration.map { Int(($0 * r).rounded(.up)) }
        case .keyFrames: n = nil
        }
        if let m = maxFrames { n = n.map { min($0, m) } ?? m }
        return n
    }

    func execute(metered: Bool) throws -> Result {
        let video = try VideoSource(input: input, options: options)
        var stageNames = simulatedStageCPU == nil ? ["decode", "gate"] : ["decode", "gate", "simulated"]
        if spotter != nil { stageNames += ["detect", "recognize", "track", "output"] }
        let lines = spotter == nil ? nil : JSONLines(file: jsonl, echo: false, discard: jsonl == nil)
        try lines?.open()
        var tracker = WordTracker()
        let acct = metered ? Accountant(stages: stageNames, meter: meter, profile: profile) : nil
        let simulatedStage = simulatedStageCPU == nil ? nil : acct?.stage("simulated")
        let decodeStage = acct?.stage("decode"), gateStage = acct?.stage("gate")
        let controller: AdaptiveController? = adapt
            ? AdaptiveController(budget: budget, initial: Knobs(stride: 1, gateThreshold: gate ?? 0,
                                                                exitThresholds: spotter.map { [$0.settings.recognizerExitConfidence] } ?? []),
                                 window: adaptWindow, expectedFrames: expectedFrames(video.info))
            : nil
        var knobs = controller?.knobs ?? Knobs(stride: 1, gateThreshold: gate ?? 0)
        var changeGate: ChangeGate? = (gate != nil || adapt) ? try ChangeGate(threshold: knobs.gateThreshold) : nil
        var lastAdmitted: LumaFrame?
        var droppedByStride = 0, droppedByGate = 0, processed = 0, frames = 0
        let interruption = Interruption()

        let wall0 = Clocks.monotonic(), cpu0 = Clocks.processCPU()
        try acct?.start()
        while !interruption.isSet {
            let next: LumaFrame?
            if let acct, let decodeStage { next = try acct.measure(decodeStage) { try video.next() } } else { next = try video.next() }
            guard let frame = next else { acct?.discardFrame(); break }
            frames += 1
            // The gate stage: the controller's stride, then the change gate.
            let decide = { () -> Bool in
                if knobs.stride > 1, (frames - 1) % knobs.stride != 0 { droppedByStride += 1; return false }
                guard changeGate != nil else { return true }
                if changeGate!.admits(frame) { lastAdmitted = frame; return true }
                droppedByGate += 1
                return false
            }
            let keep: Bool
            if let acct, let gateStage { keep = acct.measure(gateStage, decide) } else { keep = decide() }
            if keep { processed += 1 }
            if keep, let spotter {
                if let acct {
                    let detect = acct.stage("detect"), recognize = acct.stage("recognize"), track = acct.stage("track")
                    let output = acct.stage("output")
                    let detection = try acct.measure(detect) { try spotter.detect(frame) }
                    let spots = try acct.measure(recognize) { try spotter.recognize(frame, detection) }
                    let ids = acct.measure(track) { tracker.update(spots.words.map { WordTracker.Reading(time: frame.time, box: $0.box, text: $0.text, confidence: $0.confidence, sign: $0.sign) }) }
                    try acct.measure(output) {
                        try lines?.write(FrameLine(frame: frame.index, time: frame.time, detectorExit: spots.detectorExited,
                                                   words: zip(spots.words, ids).map { WordLine($0.0, track: $0.1) }))
                    }
                    if detection.exited { acct.count(detect, "early_exits") }
                    if detection.regionShare != nil { acct.count(detect, "tile_regions") }
                    acct.count(detect, "boxes_zoomed", by: detection.zoomed)
                    acct.count(detect, "boxes_split_by_zoom", by: detection.split)
                    acct.count(detect, "boxes_dropped_by_zoom", by: detection.dropped)
                    acct.count(recognize, "crops", by: spots.cropsRead)
                    acct.count(recognize, "early_exits", by: spots.recognizerExits)
                    acct.addOps(detect, NetworkOps.energyCounts(detection.ops))
                    acct.addOps(recognize, NetworkOps.energyCounts(spots.ops))
                } else {
                    let spots = try spotter.process(frame)
                    let ids = tracker.update(spots.words.map { WordTracker.Reading(time: frame.time, box: $0.box, text: $0.text, confidence: $0.confidence, sign: $0.sign) })
                    try lines?.write(FrameLine(frame: frame.index, time: frame.time, detectorExit: spots.detectorExited,
                                               words: zip(spots.words, ids).map { WordLine($0.0, track: $0.1) }))
                }
            }
            if keep, let cpu = simulatedStageCPU {
                if let acct, let simulatedStage { acct.measure(simulatedStage) { Self.burn(cpu) } } else { Self.burn(cpu) }
            }
            if let acct {
                let record = acct.endFrame(index: frame.index, time: frame.time, processed: keep)
                if let controller {
                    let live = acct.measuredLive(record) != nil
                    let joules = acct.measuredLive(record) ?? acct.modelled(record)
                    // What dropping the frame saves: the stages after the gate.
                    let later = record.stages[(gateStage!.index + 1)...]
                    let droppable = later.reduce(0.0) { $0 + ($1.ran ? (live ? $1.measured : acct.modelled($1)) : 0) }
                    if let changed = controller.observe(FrameObservation(index: frame.index, time: frame.time, processed: keep,
                                                                         latency: record.latency, joules: joules, droppableJoules: droppable)) {
                        if changed.gateThreshold != knobs.gateThreshold {
                            changeGate = try ChangeGate(threshold: changed.gateThreshold)
                            // Keep comparing against the last admitted frame.
                            if let lastAdmitted { _ = changeGate!.admits(lastAdmitted) }
                        }
                        knobs = changed
                        // The recognizer's early-exit confidence: lower answers more crops at the early head.
                        if let spotter, let t = changed.exitThresholds.first { spotter.settings.recognizerExitConfidence = t }
                    }
                }
            }
            if let maxFrames, frames >= maxFrames { break }
        }
        // Whether the meter gave each frame's energy live (the controller then steered by it).
        let steeredByMeasured = acct.flatMap { a in a.frames.first.map { a.measuredLive($0) != nil } } ?? false
        if let lines {
            for t in tracker.tracks where !t.text.isEmpty { try lines.write(TrackLine(t)) }
            try lines.close()
        }
        let account = try acct?.finish()
        let wall = Clocks.monotonic() - wall0, cpu = Clocks.processCPU() - cpu0
        let c = video.counters
        let counters: [String: Int] = [
            "video_frames_decoded": c.decoded, "video_frames_not_decoded": c.notDecoded,
            "video_frames_dropped_by_sampling": c.droppedBySampling, "video_decode_errors": c.decodeErrors,
            "frames_dropped_by_stride": droppedByStride, "frames_dropped_by_gate": droppedByGate,
            "video_bframe_checks": c.bidirectionalChecks, "video_bframe_checks_passed": c.bidirectionalPassed,
            "video_packets_left_before_key_frames": c.skippedBeforeKeyFrame,
        ]
        return Result(account: account, controller: controller?.report, counters: counters, frames: frames, wall: wall, cpu: cpu,
                      interrupted: interruption.isSet, steeredByMeasured: steeredByMeasured, decoder: video.decoderSummary)
    }
}
