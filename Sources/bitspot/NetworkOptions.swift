import ArgumentParser
import BitNet
import Foundation
import Spotting
import VideoIO

/// The networks and their dynamic parts, shared by `spot` and `bench pipeline`.
struct NetworkOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Folder with detector.bitnet and recognizer.bitnet (default: the shipped Models/).", valueName: "dir"))
    var models: String?

    @Option(name: .customLong("detector-size"), help: ArgumentHelp("Scale frames to this size for the detector (default: the input size in the model file): larger finds smaller text, for more work.", valueName: "WxH"))
    var detectorSize: String?

    @Option(name: .customLong("tile-exit"), help: "Detector early exit: skip a frame when no tile reaches this text probability.")
    var tileExit: Double = SpotterSettings().tileExitThreshold

    @Option(name: .customLong("tile-region"), help: "Detector tile regions: on frames that go on, run the detector's later layers only on tiles of at least this text probability (and one tile either side).")
    var tileRegion: Double = SpotterSettings().tileRegionThreshold ?? 0.05

    @Flag(name: .customLong("whole-frame"), help: "Run the detector's later layers on the whole frame (no tile regions; for comparisons).")
    var wholeFrame = false

    @Option(name: .customLong("word-split"), help: ArgumentHelp("Split a detected word where the detector's text probability dips below this share of the peaks either side (0: never split).", valueName: "ratio"))
    var wordSplit: Double = SpotterSettings().wordSplit

    @Option(name: .customLong("word-join"), help: ArgumentHelp("Before splitting, join detected pieces of one text line at most this many word heights apart (0: never join).", valueName: "heights"))
    var wordJoin: Double = SpotterSettings().wordJoin

    @Option(name: .customLong("split-gap"), help: ArgumentHelp("Split a word only where its dip is at least this many word heights wide (0: any dip one cell wide).", valueName: "heights"))
    var splitGap: Double = SpotterSettings().splitGap

    @Option(name: .customLong("zoom-split"), help: ArgumentHelp("Look again, zoomed in, at every box at least this many of its heights wide, and split it into the words found there (0: never).", valueName: "aspect"))
    var zoomSplit: Double = SpotterSettings().zoomAspect ?? 0

    @Option(name: .customLong("zoom-max-height"), help: ArgumentHelp("Look again only at long boxes under this many pixels high in the detector's input (0: any height; taller boxes are scaled down for the look).", valueName: "px"))
    var zoomMaxHeight: Double = SpotterSettings().zoomMaxHeight ?? 0

    @Option(name: .customLong("zoom-margin"), help: ArgumentHelp("How much of the frame around a box the second look takes, in the box's heights each side.", valueName: "heights"))
    var zoomMargin: Double = SpotterSettings().zoomMargin

    @Option(name: .customLong("zoom-small"), help: ArgumentHelp("Look again at every box under this many pixels high in the detector's input, whatever its width, and keep only the words found there (0: never).", valueName: "px"))
    var zoomSmall: Double = SpotterSettings().zoomSmall ?? 0

    @Option(name: .customLong("recognizer-exit"), help: "Recognizer early exit: stop at the early head when it is this confident.")
    var recognizerExit: Double = SpotterSettings().recognizerExitConfidence

    @Option(name: .customLong("recognizer-width"), help: ArgumentHelp("Widest recognizer crop in pixels at its height of 32: wider words are squeezed to it (16 to 1024; default: the widest the recognizer was trained on, its metadata's input.max_width, else 160). The recognizer runs at each crop's width rounded up to a multiple of 16.", valueName: "px"))
    var recognizerWidth: Int?

    @Flag(name: .customLong("no-exits"), help: "Run both networks to the end on every frame and crop (for comparisons).")
    var noExits = false

    func validate() throws {
        guard tileExit > 0, tileExit < 1 else { throw ValidationError("--tile-exit must be between 0 and 1 (exclusive)") }
        guard tileRegion > 0, tileRegion < 1 else { throw ValidationError("--tile-region must be between 0 and 1 (exclusive)") }
        guard wordSplit >= 0, wordSplit < 1 else { throw ValidationError("--word-split must be at least 0 and below 1") }
        guard wordJoin >= 0, wordJoin <= 5 else { throw ValidationError("--word-join must be between 0 and 5 word heights") }
        guard splitGap >= 0, splitGap <= 5 else { throw ValidationError("--split-gap must be between 0 and 5 word heights") }
        guard zoomSplit == 0 || (zoomSplit >= 1 && zoomSplit <= 100) else { throw ValidationError("--zoom-split must be 0 (never) or between 1 and 100") }
        guard zoomMaxHeight == 0 || (zoomMaxHeight >= 4 && zoomMaxHeight <= 1000) else { throw ValidationError("--zoom-max-height must be 0 (any height) or 4 to 1000 pixels") }
        guard zoomMargin >= 0, zoomMargin <= 3 else { throw ValidationError("--zoom-margin must be between 0 and 3 word heights") }
        guard zoomSmall == 0 || (zoomSmall >= 4 && zoomSmall <= 100) else { throw ValidationError("--zoom-small must be 0 (never) or 4 to 100 pixels") }
        guard recognizerExit > 0, recognizerExit <= 1 else { throw ValidationError("--recognizer-exit must be in (0, 1]") }
        guard recognizerWidth.map({ (16...1024).contains($0) }) ?? true else { throw ValidationError("--recognizer-width must be 16 to 1024 pixels") }
    }

    var settings: SpotterSettings {
        var s = SpotterSettings()
        s.tileExitThreshold = tileExit
        s.recognizerExitConfidence = recognizerExit
        s.recognizerMaxWidth = recognizerWidth
        s.tileRegionThreshold = wholeFrame ? nil : tileRegion
        s.wordSplit = wordSplit
        s.wordJoin = wordJoin
        s.splitGap = splitGap
        s.zoomAspect = zoomSplit > 0 ? zoomSplit : nil
        s.zoomMaxHeight = zoomMaxHeight > 0 ? zoomMaxHeight : nil
        s.zoomMargin = zoomMargin
        s.zoomSmall = zoomSmall > 0 ? zoomSmall : nil
        s.detectorExit = !noExits
        s.recognizerExit = !noExits
        return s
    }

    /// The models folder: --models, else the shipped Models/ (nil when neither is there).
    var modelsFolder: String? {
        if let models { return models }
        guard let shipped = ResourceLocator.find("Models/detector.bitnet"), ResourceLocator.find("Models/recognizer.bitnet") != nil else { return nil }
        return URL(fileURLWithPath: shipped).deletingLastPathComponent().path
    }

    /// Both networks from `folder`, with these settings.
    func spotter(folder: String, threads: Int = 1) throws -> TextSpotter {
        try TextSpotter(models: folder, threads: threads, settings: settings,
                        detectorSize: try detectorSize.map { try FrameSize(parsing: $0) })
    }
}
