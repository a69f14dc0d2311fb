import Foundation
import Spotting
import VideoIO

/// `spot --annotate FILE`: the processed frames, in colour, with each word's box outlined and its
/// track's text written above it, as an MP4 that appears whole when the run ends (Ctrl-C included).
///
/// Each processed frame is shown from its own time until the next processed frame's, so the video
/// lasts as long as the part of the input that was read and plays in step with it; frames that
/// sampling or the change gate dropped are not in it (see docs/spot-output.md).
final class AnnotatedVideo {
    let writer: VideoWriter
    let annotator: FrameAnnotator

    /// Checks the font and opens the output before any frame is read, so a bad path or a missing font
    /// fails at once (exit 73, or 66 for a --annotate-font that is not there).
    init(path: String, font: String?, info: StreamInfo, workingSize: FrameSize?, sampling: SamplingMode) throws {
        let size = workingSize ?? FrameSize(width: info.width, height: info.height)
        let even = FrameSize(width: max(2, size.width & ~1), height: max(2, size.height & ~1))
        let fontChoice = try AnnotationFont.locate(font)
        annotator = try FrameAnnotator(size: even, font: fontChoice, subject: path)
        // Frame times are kept in ticks of the input's own frame period when it has one, else in milliseconds.
        // x264's fastest preset: this is a review copy, and encoding is most of what annotating costs.
        let sourceRate = info.frameRate.flatMap { $0 > 0 && $0 <= 1000 ? $0 : nil }
        writer = try VideoWriter(path: path, size: even, frameRate: Self.processedRate(sampling, sourceRate: sourceRate ?? 30),
                                 clockRate: sourceRate ?? 1000, x264Preset: "ultrafast")
    }

    /// About how many frames per second the sampling keeps (the encoder's nominal rate: a key frame about every second).
    static func processedRate(_ sampling: SamplingMode, sourceRate: Double) -> Double {
        switch sampling {
        case .all: return sourceRate
        case .every(let n): return sourceRate / Double(n)
        case .rate(let r): return min(r, sourceRate)
        case .keyFrames: return 1
        }
    }

    /// Draws one processed frame: every word's box in its track's colour, labelled with the track's
    /// current vote (so a label does not flicker with each frame's reading).
    func add(_ frame: LumaFrame, words: [SpottedWord], tracks ids: [Int], tracker: WordTracker) throws {
        let annotations = zip(words, ids).map { word, id -> Annotation in
            let voted = id < tracker.tracks.count ? tracker.tracks[id].text : word.text
            return Annotation(x0: word.box.x0, y0: word.box.y0, x1: word.box.x1, y1: word.box.y1,
                              label: voted.isEmpty ? word.text : voted,
                              color: AnnotationColor.palette[id % AnnotationColor.palette.count])
        }
        try writer.append(try annotator.draw(frame, annotations), at: frame.time)
    }

    /// Finishes the video and moves it into place.
    func finish() throws { try writer.finish() }
}
