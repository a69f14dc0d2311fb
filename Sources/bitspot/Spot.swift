import ArgumentParser
import BitNet
import Energy
import Foundation
import Spotting
import VideoIO

/// `bitspot spot`: the text in a video, camera or stream.
struct Spot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Spot text: detector, recognizer and tracker over the sampled frames; JSON lines and a summary.",
        discussion: """
            Reads the input (default: the sample video), keeps the frames the sampling options choose, runs the \
            binary detector on each (its tile head skips frames with no text; long boxes of small text are looked \
            at again, zoomed in, to split joined words, and small boxes to confirm them), reads every word box with the \
            binary recognizer (its early head answers crops it is sure of), groups words into signs and \
            follows each word across frames. --json prints one JSON line per processed frame and one per track \
            (docs/spot-output.md); the summary goes to standard error then. --annotate writes the processed \
            frames as an MP4 with every word's box and its text drawn on it. Ctrl-C stops and still writes \
            everything found so far (exit 130).
            """
    )

    @OptionGroup var source: InputOptions
    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var network: NetworkOptions

    @Option(help: "Inference threads.")
    var threads: Int = 1

    @Flag(help: "Print JSON lines (frames and tracks) on standard output.")
    var json = false

    @Option(help: ArgumentHelp("Also write the JSON lines to this file (complete or not at all).", valueName: "file"))
    var jsonl: String?

    @Option(help: ArgumentHelp("Save a PNG of each frame where new text appeared into this folder.", valueName: "dir"))
    var snapshots: String?

    @Option(help: ArgumentHelp("Write subtitles (SubRip) of what was seen when.", valueName: "file"))
    var srt: String?

    @Option(help: ArgumentHelp("Write the processed frames with every word's box and text drawn on them (MP4, colour, at the working size).", valueName: "file"))
    var annotate: String?

    @Option(name: .customLong("annotate-font"), help: ArgumentHelp("Font file for --annotate's labels (default: DejaVu Sans Bold from fonts-dejavu-core, else fontconfig's Sans).", valueName: "file"))
    var annotateFont: String?

    @Option(help: ArgumentHelp("LPCV 2020 questions file (words separated by ';').", valueName: "file"))
    var questions: String?

    @Option(help: ArgumentHelp("Where to write the LPCV 2020 answers to --questions.", valueName: "file"))
    var answers: String?

    @Option(name: .customLong("min-sightings"), help: ArgumentHelp("Leave tracks seen in fewer than this many processed frames out of the summary and --srt (the JSON lines keep every track); runs of fewer than 10 processed frames list everything.", valueName: "count"))
    var minSightings = 2

    @Flag(help: "Drop the oldest waiting frame when inference falls behind, as for cameras (files otherwise never drop).")
    var realtime = false

    @Option(help: ArgumentHelp("When a live input (camera, stream) is lost, open it again up to this many times, waiting 1 s, 2 s, 4 s ... (at most 30 s) between tries; 0 ends the run, keeping what was found (exit 74).", valueName: "count"))
    var reconnect: Int = 0

    func validate() throws {
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64") }
        guard (questions == nil) == (answers == nil) else { throw ValidationError("--questions and --answers go together") }
        guard annotateFont == nil || annotate != nil else { throw ValidationError("--annotate-font needs --annotate FILE") }
        guard (0...1_000_000).contains(reconnect) else { throw ValidationError("--reconnect must be between 0 and 1000000") }
        guard minSightings >= 1 else { throw ValidationError("--min-sightings must be 1 or more") }
    }

    func run() throws {
        try reportingFailures {
            let input = try source.inputSpec()
            let options = try source.decodeOptions(sampling, gate: sampling.gate)
            try options.sampling.validate()
            guard let folder = network.modelsFolder else {
                throw BitNetError(.missing, "Models/detector.bitnet and recognizer.bitnet not found; give --models DIR")
            }
            let questionWords = try questions.map { path -> [String] in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw VideoIOError(.inputMissing, path, "cannot read the questions file")
                }
                return LPCVAnswers.parseQuestions(text)
            }
            let spotter = try network.spotter(folder: folder, threads: threads)
            let snapshotFolder = try snapshots.map { try FrameFolder($0) }
            let video = try VideoSource(input: input, options: options)
            let decoderNote = video.decoderSummary
            let info = video.info
            let annotated = try annotate.map {
                try AnnotatedVideo(path: $0, font: annotateFont, info: info, workingSize: options.size, sampling: options.sampling)
            }
            // Decoding runs on a thread of its own; a live input keeps only the newest frames.
            let dropOldest = input.isLive || realtime
            let live = input.isLive
            let pump = FramePump(source: video, capacity: dropOldest ? 2 : 4, dropOldest: dropOldest,
                                 reconnect: live ? ReconnectPolicy(attempts: reconnect) : .never,
                                 reopen: { try VideoSource(input: input, options: options) },
                                 onEvent: { printError("bitspot: \(input): \($0)") })
            let lines = JSONLines(file: jsonl, echo: json)
            try lines.open()

            var tracker = WordTracker()
            var signMemory = SignMemory()
            var bar = ProgressBar(label: "spot", total: info.frameCount)
            bar.enabled = !json || isatty(STDERR_FILENO) != 0
            let interruption = Interruption()
            interruption.onSignal { pump.cancel() }
            var processed = 0, detectorExits = 0, crops = 0, recognizerExits = 0, regionFrames = 0, zoomed = 0, zoomSplit = 0, zoomDropped = 0
            var regionShare = 0.0
            let cpu0 = Clocks.processCPU(), wall0 = Date()
            pump.start()
            defer { pump.stop() }
            // An input lost part-way (read error, stall) ends the loop; what was found is still written.
            var inputFailure: (any Error)?
            while !interruption.isSet {
                let next: LumaFrame?
                do { next = try pump.next() } catch { inputFailure = error; break }
                guard let frame = next else { break }
                let spots = try spotter.process(frame)
                processed += 1
                if spots.detectorExited { detectorExits += 1 }
                if let share = spots.detectorRegionShare {
                    regionFrames += 1
                    regionShare += share
                }
                crops += spots.cropsRead
                recognizerExits += spots.recognizerExits
                zoomed += spots.boxesZoomed
                zoomSplit += spots.boxesSplit
                zoomDropped += spots.boxesDropped
                let tracksBefore = tracker.tracks.count
                let readings = spots.words.map { WordTracker.Reading(time: frame.time, box: $0.box, text: $0.text, confidence: $0.confidence, sign: $0.sign) }
                let ids = tracker.update(readings)
                try annotated?.add(frame, words: spots.words, tracks: ids, tracker: tracker)
                signMemory.record(tracks: ids, signs: spots.words.map(\.sign))
                if let snapshotFolder, ids.contains(where: { $0 >= tracksBefore }) { try snapshotFolder.save(frame) }
                try lines.write(FrameLine(frame: frame.index, time: frame.time, detectorExit: spots.detectorExited,
                                          words: zip(spots.words, ids).map { WordLine($0.0, track: $0.1) }))
                if !json, input.isLive {
                    for w in spots.words { print(String(format: "%8.2f s  %@", frame.time, w.text)) }
                }
                bar.update(frame.index + 1)
                if let m = sampling.maxFrames, processed >= m { break }
            }
            pump.stop()
            bar.finish()
            let tracks = tracker.tracks.filter { !$0.text.isEmpty }
            for t in tracks { try lines.write(TrackLine(t)) }
            try lines.close()
            try snapshotFolder?.finish()
            try annotated?.finish()
            // Brief tracks (a letter misread in one frame) are left out of what people read, on runs long enough to tell.
            let listed = processed < 10 ? tracks : tracks.filter { $0.sightings >= minSightings }
            if let srt { try AtomicOutput.write(Data(SubRip.render(listed).utf8), to: srt) }
            if let answers, let questionWords {
                try AtomicOutput.write(Data(LPCVAnswers.answers(questions: questionWords, signs: signMemory.signs(tracks)).utf8), to: answers)
            }

            let cpu = Clocks.processCPU() - cpu0, wall = Date().timeIntervalSince(wall0)
            let dropped = pump.queue.dropped
            let reconnected = pump.reconnections > 0 ? ", input reopened \(pump.reconnections) time\(pump.reconnections == 1 ? "" : "s")" : ""
            let c = pump.counters
            let bframes = c.bidirectionalSummary.isEmpty ? "" : ", " + c.bidirectionalSummary
            let leftOut = (c.skippedBeforeKeyFrame > 0 ? ", \(c.skippedBeforeKeyFrame) left out before key frames" : "")
                + (c.skippedUndecoded > 0 ? ", \(c.skippedUndecoded) non-key frames left out" : "")
            var summary = "\(processed) frames processed (\(c.decoded) decoded\(leftOut)\(decoderNote.isEmpty ? "" : ", \(decoderNote)")\(bframes)\(dropped > 0 ? ", \(dropped) dropped while busy" : "")\(reconnected)) in \(String(format: "%.1f", wall)) s, "
                + String(format: "%.1f ms CPU per processed frame", processed > 0 ? cpu * 1000 / Double(processed) : 0)
                + "; detector exits \(detectorExits)"
                + (regionFrames > 0 ? String(format: ", tile regions %d (%.0f %% of the later layers' cells)", regionFrames, 100 * regionShare / Double(regionFrames)) : "")
                + (network.zoomSplit > 0 || network.zoomSmall > 0 ? ", boxes looked at again \(zoomed) (\(zoomSplit) split, \(zoomDropped) dropped)" : "")
                + ", crops read \(crops) (early exits \(recognizerExits))\n"
            let brief = tracks.count - listed.count
            let briefNote = brief > 0 ? "; \(brief) seen in fewer than \(minSightings) frames not listed" : ""
            summary += listed.isEmpty ? "no text seen\(briefNote)\n" : "text seen (\(listed.count) tracks\(briefNote)):\n"
            for t in listed.sorted(by: { $0.firstTime < $1.firstTime }) {
                summary += String(format: "  %7.2f-%7.2f s  %@  (%d sightings)\n", t.firstTime, t.lastTime, t.text, t.sightings)
            }
            if json { printError(summary.trimmingCharacters(in: .newlines)) } else { print(summary, terminator: "") }
            if interruption.isSet { throw ExitCode(ExitCodes.interrupted) }
            if let inputFailure {
                printError("bitspot: the input was lost; the results up to then were written")
                throw inputFailure
            }
        }
    }
}

/// A JSON line per processed frame (docs/spot-output.md).
struct FrameLine: Encodable {
    var type = "frame"
    var frame: Int
    var time: Double
    var detectorExit: Bool
    var words: [WordLine]
}

struct WordLine: Encodable {
    var text: String
    var box: [Double]
    var confidence: Double
    var sign: Int
    var track: Int
    var head: String

    init(_ w: SpottedWord, track: Int) {
        text = w.text
        box = [w.box.x0, w.box.y0, w.box.x1, w.box.y1].map { ($0 * 10).rounded() / 10 }
        confidence = (w.confidence * 1000).rounded() / 1000
        sign = w.sign
        self.track = track
        head = w.head
    }
}

/// A JSON line per track, after the frames.
struct TrackLine: Encodable {
    var type = "track"
    var track: Int
    var text: String
    var firstTime: Double
    var lastTime: Double
    var sightings: Int
    var box: [Double]
    var confidence: Double

    init(_ t: WordTracker.Track) {
        track = t.id
        text = t.text
        firstTime = t.firstTime
        lastTime = t.lastTime
        sightings = t.sightings
        box = [t.bestBox.x0, t.bestBox.y0, t.bestBox.x1, t.bestBox.y1].map { ($0 * 10).rounded() / 10 }
        confidence = (t.bestConfidence * 1000).rounded() / 1000
    }
}

/// JSON lines to standard output as they come, and to a file that appears whole at the end.
final class JSONLines {
    let file: String?
    let echo: Bool
    private var temporary: String?
    private var handle: FileHandle?
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// `discard`: encode every line and write it to /dev/null (what the output costs, for `bench`).
    init(file: String?, echo: Bool, discard: Bool = false) {
        self.file = file
        self.echo = echo
        if discard { handle = FileHandle(forWritingAtPath: "/dev/null") }
    }

    func open() throws {
        guard let file else { return }
        let tmp = AtomicOutput.temporaryPath(for: file)
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
            throw VideoIOError(.outputFailed, file, "cannot create the file")
        }
        temporary = tmp
        handle = h
    }

    func write<T: Encodable>(_ value: T) throws {
        let data = try encoder.encode(value) + Data("\n".utf8)
        if echo { FileHandle.standardOutput.write(data) }
        handle?.write(data)
    }

    func close() throws {
        guard let file, let temporary else { try? handle?.close(); handle = nil; return }
        try handle?.close()
        handle = nil
        try AtomicOutput.commit(temporary, to: file)
        self.temporary = nil
    }

    deinit {
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
