import ArgumentParser
import Foundation
import VideoIO

/// `bitspot frames`: sampled frames of a video as PNG files.
struct Frames: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save sampled frames of a video as PNG files (8-bit grey).",
        discussion: """
            Writes OUT/frame-NNNNNN.png (NNNNNN: the frame's index in the stream) and OUT/frames.jsonl \
            (one line per frame: index, time in seconds, key frame, file). OUT must not exist or be empty; \
            frames are written to a temporary folder beside it that is renamed into place at the end, so a \
            failed run leaves nothing behind. Ctrl-C (SIGINT) or SIGTERM stops reading and still writes the \
            frames saved so far, then exits with 130.
            """
    )

    @OptionGroup var source: InputOptions

    @OptionGroup var sampling: SamplingOptions

    @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
    var out: String

    @Option(name: .customLong("contact-sheet"), help: ArgumentHelp("Also write a PNG grid of thumbnails of the kept frames.", valueName: "file"))
    var contactSheet: String?

    func validate() throws {
        guard sampling.modesChosen == 1 else { throw ValidationError("choose exactly one of --every N, --fps R, --keyframes") }
    }

    func run() throws {
        try reportingFailures {
            let input = try source.inputSpec()
            let options = try source.decodeOptions(sampling, gate: sampling.gate)
            try options.sampling.validate()
            try AtomicOutput.checkFolderDestination(out)
            let video = try VideoSource(input: input, options: options)
            let folder = try FrameFolder(out)
            var sheet = ContactSheet()
            var index = ""
            var bar = ProgressBar(label: "frames", total: video.info.frameCount)
            var kept = 0
            let interruption = Interruption()
            while !interruption.isSet, let frame = try video.next() {
                let name = try folder.save(frame)
                index += String(format: "{\"index\":%d,\"time\":%.6f,\"key\":%@,\"file\":\"%@\"}\n",
                                frame.index, frame.time, frame.isKeyFrame ? "true" : "false", name)
                if contactSheet != nil { try sheet.add(frame) }
                kept += 1
                bar.update(video.counters.decoded + video.counters.skippedUndecoded)
                if let maxFrames = sampling.maxFrames, kept >= maxFrames { break }
            }
            bar.finish()
            try folder.write(Data(index.utf8), name: "frames.jsonl")
            if let contactSheet, let image = sheet.render() {
                try PNGEncoder().write(image, to: contactSheet)
            }
            try folder.finish()
            let c = video.counters
            if interruption.isSet { printError("bitspot: interrupted; \(kept) frames saved so far were written to \(out)") }
            print("\(kept) frames written to \(out) (\(options.maxKeyFrameGap.map { String(format: "key frames, and a frame at least every %g s", $0) } ?? options.sampling.description)): decoded \(c.decoded), not decoded \(c.notDecoded), "
                  + "dropped by sampling \(c.droppedBySampling), dropped by gate \(c.droppedByGate), decode errors \(c.decodeErrors)"
                  + [c.bidirectionalSummary, video.decoderSummary].filter { !$0.isEmpty }.map { ", " + $0 }.joined())
            if interruption.isSet { throw ExitCode(ExitCodes.interrupted) }
        }
    }
}
