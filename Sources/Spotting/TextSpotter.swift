import BitNet
import Foundation
import VideoIO

/// One word found in one frame.
public struct SpottedWord: Sendable, Equatable, Codable {
    public var text: String
    /// Box in the frame's pixels.
    public var box: WordBox
    /// The recognizer's confidence (min over time steps of the best class's probability).
    public var confidence: Double
    /// Which sign of the frame it belongs to (0-based, top to bottom).
    public var sign: Int
    /// Which recognizer head answered: its name in the model file, `exit` (early; `exit2`, the second
    /// early head of a recognizer that has two) or `final`.
    public var head: String
}

/// What the network did with one frame.
public struct FrameSpots: Sendable {
    public var words: [SpottedWord]
    /// The detector's no-text exit answered: the rest of the detector and every crop were skipped.
    public var detectorExited: Bool
    /// Share of the detector's later layers' cells computed when it ran on tile regions (nil: it ran
    /// on the whole frame or exited).
    public var detectorRegionShare: Double?
    public var cropsRead: Int
    /// Crops answered by the recognizer's early-exit head.
    public var recognizerExits: Int
    /// Boxes the detector looked at again (long ones, ``SpotterSettings/zoomAspect``, and small ones,
    /// ``SpotterSettings/zoomSmall``), how many of them it split into several words, and how many small ones
    /// it dropped because the second look found no word in them.
    public var boxesZoomed = 0
    public var boxesSplit = 0
    public var boxesDropped = 0
    /// Network work done and skipped by early exits (``TextSpotter/process(_:)``: both networks).
    public var ops: OpCount
    public var skippedOps: OpCount
}

/// Thresholds of the dynamic parts of the network.
public struct SpotterSettings: Sendable {
    /// Detector tile exit: a frame whose tiles are all below this text probability is skipped
    /// (default from Models/MODEL_CARD.md: with the session-3 detector, 0.5 skipped 85 % of the held-out
    /// no-text frames and all 4 real ones, with no word lost on either set).
    public var tileExitThreshold: Double = 0.5
    /// Detector tile regions: on a frame that goes on, the layers after the tile head run only on tiles
    /// at or above this text probability, grown by `tileRegionGrowX` tiles left and right (nil: the whole
    /// frame). Exact on those tiles; the rest of the score map reads "no text". Default from docs/spot-output.md:
    /// 0.05 grown by 1 lost nothing on the held-out frames, the suite or the 16 real frames (0.1 lost 3
    /// points on the real frames).
    public var tileRegionThreshold: Double? = 0.05
    public var tileRegionGrowX = 1
    /// Recognizer exit: a crop whose early head is at least this confident is not run further (with two early
    /// heads, the first that reaches it answers).
    public var recognizerExitConfidence: Double = 0.8
    /// Widest recognizer crop, in pixels at the crop height of 32: a wider word is squeezed to it. The
    /// recognizer runs at each crop's own width, rounded up to a multiple of ``TextSpotter/recognizerWidthStep``.
    /// nil: the widest crop the recognizer was trained on (its metadata's `input.max_width`; 160 when absent,
    /// `MAX_WIDTH` in Scripts/train/data_rec.py). 128 (the shipped file's nominal width, the limit before
    /// session 21) read 3.5 points fewer of the held-out crops (Models/MODEL_CARD.md).
    public var recognizerMaxWidth: Int?
    /// Word-kernel probability threshold for boxes.
    public var boxThreshold: Double = 0.5
    /// Split a box's component where its column profile dips below this share of the peaks either side
    /// (``ScoreMapDecoder/split``; 0: no splitting).
    public var wordSplit: Double = 0.8
    /// Join the detector's pieces of one text line at most this many word heights apart into one before
    /// splitting (``ScoreMapDecoder/join``; 0: never), and split only at valleys at least `splitGap` word
    /// heights wide (``ScoreMapDecoder/splitGap``; 0: one column). Defaults chosen on held-out synthetic
    /// frames (Models/MODEL_CARD.md, session 16): the pieces of tall or tilted words were the largest
    /// share of the detector's false boxes.
    public var wordJoin: Double = 0.3
    public var splitGap: Double = 0.4
    /// Smallest word box height (frame pixels) worth reading.
    public var minWordHeight: Double = 8
    /// Second look at long boxes: a box at least this many of its heights wide and under `zoomMaxHeight`
    /// pixels high in the detector's input (where small words whose gap falls under a cell of the
    /// score map come out joined) is cut from the frame with `zoomMargin` heights around it, scaled so
    /// that its height is `zoomHeight` detector pixels, and detected again; when that finds two or more
    /// words inside it, they replace it (nil: never).
    /// Defaults chosen on the evaluation suite (Scripts/eval/README.md, session 7).
    public var zoomAspect: Double? = 5
    public var zoomHeight: Double = 20
    /// Long boxes this tall or taller in the detector's input are left alone (nil: any height; a taller box
    /// is scaled down to `zoomHeight`).
    public var zoomMaxHeight: Double? = 20
    public var zoomMargin: Double = 0.7
    /// Second look at small boxes: a box under this many pixels high in the detector's input, whatever its
    /// width, is looked at the same way and replaced by the words found inside it; when none is found it is
    /// dropped (nil: never). Default chosen in session 25 (docs/spot-output.md): 12 lifted the held-out
    /// frames, the suite's detection recall and precision and left the real frames as they were; 15 lost
    /// a real word.
    public var zoomSmall: Double? = 12
    /// Switches for the early exits (for comparisons).
    public var detectorExit = true
    public var recognizerExit = true

    public init() {}
}

/// The detector and recognizer on one frame: boxes from the detector's maps, crops rectified to
/// the recognizer's height, CTC readings, words grouped into signs.
public final class TextSpotter {
    public let detector: Executor
    /// The recognizer network; it runs at each crop's width up to `recognizerMaxWidth`.
    public let recognizerModel: Model
    /// The widest crop (``SpotterSettings/recognizerMaxWidth``, else the recognizer's training limit).
    public let recognizerMaxWidth: Int
    public var settings: SpotterSettings
    private let decoder: CTCDecoder
    private let boxes: ScoreMapDecoder
    private var detectorInput: [UInt8]
    private var recognizerInput: [UInt8] = []
    /// Recognizer executors, one per input width (multiples of `recognizerWidthStep` up to the settings'
    /// maximum), the `recognizerCacheLimit` most recently used kept, the latest last.
    private var recognizers: [(width: Int, executor: Executor)] = []
    private let recognizerThreads: Int
    /// Crop widths are rounded up to a multiple of this (four CTC time steps).
    public static let recognizerWidthStep = 16
    static let recognizerCacheLimit = 12
    /// Input widths of the recognizer executors kept (at most `recognizerCacheLimit`), the latest last.
    var recognizerWidths: [Int] { recognizers.map(\.width) }
    /// Sub-cells per map cell along each axis: 1 for a detector whose maps head has 2 channels, 2 for one
    /// with 8 (session 24's stride-2 maps from stride-4 features).
    let mapSubcells: Int
    private var score: [Float] = []
    private var log2Height: [Float] = []
    private var labels: [Int32] = []
    private var stack: [Int32] = []
    /// Detectors for the second look at long boxes, one per window width (the height is fixed), the
    /// `zoomCacheLimit` most recently used kept, the latest last (each holds an arena of up to 2 MB at
    /// 1024 wide).
    private var zoomDetectors: [(width: Int, executor: Executor)] = []
    static let zoomCacheLimit = 8
    var zoomDetectorCount: Int { zoomDetectors.count }

    /// Loads both models from files (`detector.bitnet`, `recognizer.bitnet` in `folder`). `detectorSize`
    /// runs the detector on frames scaled to that size instead of its file's (the network is fully
    /// convolutional: larger finds smaller text, for more work).
    public convenience init(models folder: String, threads: Int = 1, settings: SpotterSettings = SpotterSettings(),
                            detectorSize: FrameSize? = nil) throws {
        var det = try ModelFile.load(path: folder + "/detector.bitnet")
        if let size = detectorSize {
            do { det = try det.withInput(height: size.height, width: size.width) } catch {
                throw BitNetError(error.category, "the detector cannot take this size: \(error.message)", path: "--detector-size \(size)")
            }
        }
        let rec = try ModelFile.load(path: folder + "/recognizer.bitnet")
        try self.init(detector: det, recognizer: rec, threads: threads, settings: settings)
    }

    public init(detector det: Model, recognizer rec: Model, threads: Int = 1, settings: SpotterSettings = SpotterSettings()) throws {
        guard det.input.channels == 1, rec.input.channels == 1, rec.input.height == 32 else {
            throw BitNetError(.invalid, "models: the detector must take grey frames and the recognizer grey 32-pixel crops")
        }
        let step = Self.recognizerWidthStep
        let maxWidth = settings.recognizerMaxWidth ?? Self.trainedMaxWidth(rec.metadata) ?? 160
        guard maxWidth >= step, maxWidth <= 1024 else {
            throw BitNetError(.badRequest, "the widest recognizer crop must be \(step) to 1024 pixels, not \(maxWidth)")
        }
        do { _ = try rec.withInput(height: 32, width: (maxWidth + step - 1) / step * step) } catch {
            throw BitNetError(error.category, "the recognizer cannot read \(maxWidth)-pixel crops: \(error.message)")
        }
        recognizerMaxWidth = maxWidth
        guard let maps = det.heads.last(where: { !$0.isExit }), let r = Self.subcells(channels: det.shape(maps.node).channels) else {
            throw BitNetError(.invalid, "models: the detector's maps head must have 2 channels (kernel logit, log2 height) or 8 (the same for 2 x 2 sub-cells)")
        }
        mapSubcells = r
        detector = try Executor(model: det, threads: threads)
        recognizerModel = rec
        recognizerThreads = threads
        self.settings = settings
        decoder = Self.charset(rec.metadata).map { CTCDecoder(charset: Array($0)) } ?? .lpcv
        boxes = ScoreMapDecoder(shrinkX: Self.shrinkX(det.metadata) ?? 0.3, threshold: settings.boxThreshold,
                                split: settings.wordSplit > 0 ? settings.wordSplit : nil,
                                join: settings.wordJoin > 0 ? settings.wordJoin : nil,
                                splitGap: settings.splitGap > 0 ? settings.splitGap : nil)
        detectorInput = [UInt8](repeating: 0, count: det.input.count)
    }

    /// The kernel probability (sigmoid of channel 0) and log2 height (channel 1) maps, row-major at r
    /// (`subcells`) times the head's resolution, from a maps head of 2 r^2 channels-last channels: channel
    /// k r^2 + i r + j is channel k of sub-cell (i, j) (depth-to-space, PyTorch's `pixel_shuffle`).
    static func spreadMaps(_ values: UnsafeBufferPointer<Float>, _ shape: TensorShape, subcells r: Int,
                           score: inout [Float], log2Height: inout [Float]) {
        let rr = r * r, mapWidth = shape.width * r
        let cells = shape.height * shape.width * rr
        if score.count != cells { score = [Float](repeating: 0, count: cells); log2Height = score }
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                let cell = (y * shape.width + x) * shape.channels
                for i in 0..<r {
                    for j in 0..<r {
                        let m = (y * r + i) * mapWidth + x * r + j
                        score[m] = 1 / (1 + expf(-values[cell + i * r + j]))
                        log2Height[m] = values[cell + rr + i * r + j]
                    }
                }
            }
        }
    }

    /// r for a maps head of 2 r^2 channels, r = 1 or 2; nil for any other count.
    static func subcells(channels: Int) -> Int? {
        switch channels {
        case 2: return 1
        case 8: return 2
        default: return nil
        }
    }

    private static func charset(_ metadata: String) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any] else { return nil }
        return json["charset"] as? String
    }

    /// How far the detector's word kernels were shrunk at each end, in word heights (`output.shrink_x`
    /// in its metadata; models without it were trained with 0.3). Only a finite value in 0...2 is taken.
    static func shrinkX(_ metadata: String) -> Double? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any],
              let output = json["output"] as? [String: Any], let v = (output["shrink_x"] as? NSNumber)?.doubleValue,
              v.isFinite, v >= 0, v <= 2 else { return nil }
        return v
    }

    /// The widest crop a recognizer was trained on (`input.max_width` in its metadata; an integer in
    /// 1...4096, else nil).
    static func trainedMaxWidth(_ metadata: String) -> Int? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any],
              let input = json["input"] as? [String: Any], let v = (input["max_width"] as? NSNumber)?.doubleValue,
              v.isFinite, v == v.rounded(), v >= 1, v <= 4096 else { return nil }
        return Int(v)
    }

    /// The shrink the box decoder uses (see ``shrinkX(_:)``).
    public var detectorShrinkX: Double { boxes.shrinkX }

    /// Spots text in one grey frame: ``detect(_:)`` then ``recognize(_:_:)``.
    public func process(_ frame: LumaFrame) throws -> FrameSpots {
        let detection = try detect(frame)
        var spots = try recognize(frame, detection)
        spots.ops += detection.ops
        spots.skippedOps += detection.skippedOps
        return spots
    }

    /// What the detector found in a frame: word boxes in the frame's pixels, grouped into signs.
    public struct Detection: Sendable {
        public var boxes: [WordBox]
        /// Signs, top to bottom; each a list of lines of indices into `boxes`.
        public var signs: [[SignGrouping.Line]]
        public var exited: Bool
        /// Share of the layers after the tile head that ran on tile regions (nil: whole frame or exited).
        public var regionShare: Double?
        public var ops: OpCount
        public var skippedOps: OpCount
        /// Boxes looked at again, how many of them were split, and how many small ones were dropped
        /// (``SpotterSettings/zoomAspect``, ``SpotterSettings/zoomSmall``).
        public var zoomed = 0
        public var split = 0
        public var dropped = 0
    }

    /// Runs the detector (stopping at its tile head when no tile holds text) and extracts word boxes.
    public func detect(_ frame: LumaFrame) throws -> Detection {
        let din = detector.model.input
        let small = try Raster(frame).resized(to: FrameSize(width: din.width, height: din.height))
        detectorInput = small.bytes
        var maps: (values: [Float], shape: TensorShape)?
        let tileThreshold = Float(settings.tileExitThreshold)
        let useExit = settings.detectorExit
        let regionThreshold = settings.tileRegionThreshold, growX = settings.tileRegionGrowX
        let summary = detectorInput.withUnsafeBufferPointer { image in
            detector.run(image: image.baseAddress!) { out in
                if out.head.isExit {
                    guard useExit else { return .proceed }
                    // Stop when no tile reaches the threshold: sigmoid(x) < t  <=>  x < logit(t).
                    let cut = logf(tileThreshold / (1 - tileThreshold))
                    if out.values.allSatisfy({ $0 < cut }) { return .stop }
                    guard let t = regionThreshold else { return .proceed }
                    return .restrict(TileRegion(threshold: Float(t), dilateX: growX, dilateY: 0, fill: -30))
                }
                maps = (Array(out.values), out.shape)
                return .proceed
            }
        }
        let exited = summary.stoppedAtHead != nil
        var detection = Detection(boxes: [], signs: [], exited: exited, regionShare: summary.restrictedAtHead == nil ? nil : summary.regionShare,
                                  ops: summary.done, skippedOps: summary.skipped)
        guard let maps else { return detection }

        let sx = Double(frame.width) / Double(din.width), sy = Double(frame.height) / Double(din.height)
        let found = maps.values.withUnsafeBufferPointer { decodeBoxes($0, maps.shape, inputWidth: din.width) }.map { $0.scaled(x: sx, y: sy) }
        // The second look (``secondLook(_:detectorHeight:)`` says which boxes get one, none when both looks are off).
        var refined: [WordBox] = []
        for box in found {
            let look = secondLook(box, detectorHeight: box.height / sy)
            guard look != .none else { refined.append(box); continue }
            detection.zoomed += 1
            let parts = try zoomIn(frame, box, ops: &detection.ops)
            if parts.count >= 2 { detection.split += 1 }
            if parts.isEmpty && look == .small { detection.dropped += 1 }
            refined += parts.count >= 2 || look == .small ? parts : [box]
        }
        detection.boxes = refined.filter { $0.height >= settings.minWordHeight }
        detection.signs = SignGrouping().group(detection.boxes)
        return detection
    }

    enum SecondLook { case none, long, small }

    /// Whether a box (frame pixels; `detectorHeight` its height in the detector's input) gets a second look:
    /// `.small` under ``SpotterSettings/zoomSmall`` (replaced by what that look finds, dropped when it finds
    /// nothing), else `.long` when at least ``SpotterSettings/zoomAspect`` heights wide and under
    /// ``SpotterSettings/zoomMaxHeight`` (replaced only when split), else `.none`.
    func secondLook(_ box: WordBox, detectorHeight: Double) -> SecondLook {
        guard box.height >= settings.minWordHeight else { return .none }
        if let small = settings.zoomSmall, detectorHeight < small { return .small }
        guard let aspect = settings.zoomAspect, box.width >= aspect * box.height,
              detectorHeight < settings.zoomMaxHeight ?? .infinity else { return .none }
        return .long
    }

    /// Word boxes (in the detector input's pixels) from the detector's `maps` output: the text-kernel
    /// probability and log2 word height channels. The second look at a box (`zoomed`) neither joins
    /// pieces nor asks for wide valleys: it is there to split words a few pixels apart, whose valleys
    /// are narrow even when zoomed in. An 8-channel head is decoded at twice its resolution (``spreadMaps``).
    private func decodeBoxes(_ values: UnsafeBufferPointer<Float>, _ shape: TensorShape, inputWidth: Int, zoomed: Bool = false) -> [WordBox] {
        let r = mapSubcells
        let mapWidth = shape.width * r, mapHeight = shape.height * r
        Self.spreadMaps(values, shape, subcells: r, score: &score, log2Height: &log2Height)
        var decoderForMap = boxes
        decoderForMap.stride = inputWidth / shape.width / r
        if zoomed { decoderForMap.join = nil; decoderForMap.splitGap = nil }
        return score.withUnsafeBufferPointer { s in
            log2Height.withUnsafeBufferPointer { h in
                decoderForMap.boxes(score: s, log2Height: h, width: mapWidth, height: mapHeight,
                                    labels: &labels, stack: &stack)
            }
        }
    }

    /// The second look at a box (long or small, ``secondLook(_:detectorHeight:)``): the frame around it (``SpotterSettings/zoomMargin`` heights each
    /// side, edge pixels repeated past the frame) scaled so the box is ``SpotterSettings/zoomHeight``
    /// pixels high, detected again without exits; the words found whose centres lie in the box, in
    /// frame pixels.
    func zoomIn(_ frame: LumaFrame, _ box: WordBox, ops: inout OpCount) throws -> [WordBox] {
        let margin = settings.zoomMargin, target = settings.zoomHeight
        // A window 8-aligned in height and 32-aligned in width (the map's stride divides it), at most
        // 1024 wide: very long boxes are scaled less. (20 px boxes with 0.7 h margins: 48 rows.)
        let windowHeight = Int((target * (1 + 2 * margin) / 8).rounded(.up)) * 8
        var zoom = target / box.height
        let spanX = box.width + 2 * margin * box.height
        if spanX * zoom > 1024 { zoom = 1024 / spanX }
        let windowWidth = max(32, min(1024, Int((spanX * zoom / 32).rounded(.up)) * 32))
        // The frame rectangle the window shows, centred on the box.
        let srcW = max(2, Int((Double(windowWidth) / zoom).rounded())), srcH = max(2, Int((Double(windowHeight) / zoom).rounded()))
        let sx0 = Int((box.centerX - Double(srcW) / 2).rounded()), sy0 = Int((box.centerY - Double(srcH) / 2).rounded())
        let window = try Raster(width: srcW, height: srcH, layout: .gray8,
                                bytes: Self.cut(frame, x0: sx0, y0: sy0, width: srcW, height: srcH))
            .resized(to: FrameSize(width: windowWidth, height: windowHeight))
        let executor = try zoomDetector(width: windowWidth, height: windowHeight)
        var found: [WordBox] = []
        let summary = window.bytes.withUnsafeBufferPointer { image in
            executor.run(image: image.baseAddress!) { out in
                if !out.head.isExit { found = self.decodeBoxes(out.values, out.shape, inputWidth: windowWidth, zoomed: true) }
                return .proceed
            }
        }
        ops += summary.done
        let fx = Double(srcW) / Double(windowWidth), fy = Double(srcH) / Double(windowHeight)
        return found.map { b in
            WordBox(x0: Double(sx0) + b.x0 * fx, y0: Double(sy0) + b.y0 * fy, x1: Double(sx0) + b.x1 * fx, y1: Double(sy0) + b.y1 * fy, score: b.score)
        }.filter { b in
            b.centerX >= box.x0 && b.centerX <= box.x1 && b.centerY >= box.y0 && b.centerY <= box.y1 && b.height >= settings.minWordHeight
        }
    }

    /// The recognizer at an input `width` (a multiple of `recognizerWidthStep`), built on first use.
    private func recognizer(width: Int) throws -> Executor {
        if let i = recognizers.firstIndex(where: { $0.width == width }) {
            if i != recognizers.count - 1 { recognizers.append(recognizers.remove(at: i)) }
            return recognizers[recognizers.count - 1].executor
        }
        if recognizers.count >= Self.recognizerCacheLimit { recognizers.removeFirst() }
        let e = try Executor(model: recognizerModel.withInput(height: 32, width: width), threads: recognizerThreads)
        recognizers.append((width, e))
        return e
    }

    private func zoomDetector(width: Int, height: Int) throws -> Executor {
        if let i = zoomDetectors.firstIndex(where: { $0.width == width }) {
            let hit = zoomDetectors.remove(at: i)
            zoomDetectors.append(hit)
            return hit.executor
        }
        if zoomDetectors.count >= Self.zoomCacheLimit { zoomDetectors.removeFirst() }
        // One thread: the windows are small, and each executor's worker threads live as long as it does.
        let e = try Executor(model: detector.model.withInput(height: height, width: width), threads: 1)
        zoomDetectors.append((width, e))
        return e
    }

    /// The frame's pixels in the rectangle at (x0, y0) of this size; outside the frame the nearest edge
    /// pixel repeats.
    private static func cut(_ frame: LumaFrame, x0: Int, y0: Int, width: Int, height: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height)
        frame.pixels.withUnsafeBufferPointer { px in
            for y in 0..<height {
                let row = min(max(y0 + y, 0), frame.height - 1) * frame.width
                for x in 0..<width { out[y * width + x] = px[row + min(max(x0 + x, 0), frame.width - 1)] }
            }
        }
        return out
    }

    /// Reads every box of a detection with the recognizer (`ops` counts the recognizer's work only).
    public func recognize(_ frame: LumaFrame, _ detection: Detection) throws -> FrameSpots {
        var result = FrameSpots(words: [], detectorExited: detection.exited, detectorRegionShare: detection.regionShare,
                                cropsRead: 0, recognizerExits: 0, boxesZoomed: detection.zoomed, boxesSplit: detection.split, boxesDropped: detection.dropped,
                                ops: OpCount(), skippedOps: OpCount())
        for (signIndex, lines) in detection.signs.enumerated() {
            for line in lines {
                for w in line.words {
                    let b = detection.boxes[w]
                    guard let reading = try read(frame, box: b, result: &result), !reading.text.isEmpty else { continue }
                    result.words.append(SpottedWord(text: reading.text, box: b, confidence: reading.confidence,
                                                    sign: signIndex, head: reading.head))
                }
            }
        }
        return result
    }

    /// Cuts the box out of the frame, scales it to the recognizer's height, normalises it per crop,
    /// and reads it (stopping at the early head when it is sure enough).
    private func read(_ frame: LumaFrame, box: WordBox, result: inout FrameSpots) throws -> (text: String, confidence: Double, head: String)? {
        let maxWidth = recognizerMaxWidth
        // The crop the recognizer was trained on: the box grown by 0.1 h left and right, 0.08 h top and
        // bottom; the sideways margin is left out when the crop would then be squeezed to fit the
        // widest crop (long words: squeezing costs more than the margin gives).
        let h = box.height
        let fits = (box.width + 0.2 * h) * 32 / (1.16 * h) <= Double(maxWidth)
        let mx = fits ? 0.1 * h : 0
        let x0 = max(0, Int((box.x0 - mx).rounded(.down))), y0 = max(0, Int((box.y0 - 0.08 * h).rounded(.down)))
        let x1 = min(frame.width, Int((box.x1 + mx).rounded(.up))), y1 = min(frame.height, Int((box.y1 + 0.08 * h).rounded(.up)))
        guard x1 - x0 >= 4, y1 - y0 >= 4 else { return nil }
        let crop = Self.cut(frame, x0: x0, y0: y0, width: x1 - x0, height: y1 - y0)
        let width = min(maxWidth, max(4, Int((Double(x1 - x0) * 32 / Double(y1 - y0)).rounded())))
        let step = Self.recognizerWidthStep
        let inWidth = (width + step - 1) / step * step
        let recognizer = try self.recognizer(width: inWidth)
        let scaled = try Raster(width: x1 - x0, height: y1 - y0, layout: .gray8, bytes: crop)
            .resized(to: FrameSize(width: width, height: 32))
        // Per-crop normalisation, as in training: 128 + 50 (x - mean) / max(std, 8), clipped.
        let n = Double(scaled.bytes.count)
        let mean = scaled.bytes.reduce(0.0) { $0 + Double($1) } / n
        let std = (scaled.bytes.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        let k = 50 / max(std, 8)
        // Up to the executor's width each row goes on with its last pixel, as training pads its batches.
        if recognizerInput.count < 32 * inWidth { recognizerInput = [UInt8](repeating: 128, count: 32 * inWidth) }
        for y in 0..<32 {
            for x in 0..<width {
                let v = 128 + k * (Double(scaled.bytes[y * width + x]) - mean)
                recognizerInput[y * inWidth + x] = UInt8(max(0, min(255, v.rounded())))
            }
            let last = recognizerInput[y * inWidth + width - 1]
            for x in width..<inWidth { recognizerInput[y * inWidth + x] = last }
        }
        let steps = (width + 3) / 4
        var reading: (text: String, confidence: Double, head: String)?
        let threshold = settings.recognizerExitConfidence
        let useExit = settings.recognizerExit
        let summary = recognizerInput.withUnsafeBufferPointer { image in
            recognizer.run(image: image.baseAddress!) { out in
                let classes = out.shape.channels
                let usable = min(steps, out.values.count / classes)
                let r = decoder.decode(logits: UnsafeBufferPointer(rebasing: out.values[0..<(usable * classes)]), steps: usable, classes: classes)
                if out.head.isExit {
                    if useExit && r.confidence >= threshold {
                        reading = (r.text, r.confidence, out.head.name)   // "exit", or "exit2" in a two-exit file
                        return .stop
                    }
                    return .proceed
                }
                reading = (r.text, r.confidence, "final")
                return .proceed
            }
        }
        result.cropsRead += 1
        if summary.stoppedAtHead != nil { result.recognizerExits += 1 }
        result.ops += summary.done
        result.skippedOps += summary.skipped
        return reading
    }
}
