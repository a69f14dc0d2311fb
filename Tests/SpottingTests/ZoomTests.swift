import Foundation
import XCTest
import BitNet
@testable import Spotting
import VideoIO

/// The second look at long boxes (``SpotterSettings/zoomAspect``), with the shipped models on a sign cut
/// from the evaluation suite (`v03_720p`, frame 540: small serif words a few pixels apart, placed back
/// where they were in the 1280 x 720 frame).
final class ZoomTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Models").standardized.path

    /// The sign on a 1280 x 720 frame of its own mean grey.
    func signFrame() throws -> LumaFrame {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/joined-words", withExtension: "png"))
        let source = try VideoSource(input: InputSpec(url.path))
        let sign = try XCTUnwrap(source.next())
        let mean = UInt8(sign.pixels.reduce(0) { $0 + Int($1) } / sign.pixels.count)
        var pixels = [UInt8](repeating: mean, count: 1280 * 720)
        for y in 0..<sign.height {
            for x in 0..<sign.width { pixels[(260 + y) * 1280 + 690 + x] = sign.pixels[y * sign.width + x] }
        }
        return LumaFrame(width: 1280, height: 720, pixels: pixels, time: 0, index: 0, isKeyFrame: true)
    }

    /// The sign read with the second look at long boxes of this aspect (nil: none) and none at small boxes.
    func read(zoom: Double?) throws -> FrameSpots {
        var settings = SpotterSettings()
        settings.zoomAspect = zoom
        settings.zoomSmall = nil
        let spotter = try TextSpotter(models: Self.models, settings: settings)
        return try spotter.process(try signFrame())
    }

    func testLongBoxesAreSplitIntoTheirWords() throws {
        let plain = try read(zoom: nil)
        XCTAssertEqual(plain.boxesZoomed, 0)
        let zoomed = try read(zoom: 5)
        let before = Set(plain.words.map(\.text)), after = Set(zoomed.words.map(\.text))
        print("without the second look: \(plain.words.map(\.text)); with it: \(zoomed.words.map(\.text)) (\(zoomed.boxesZoomed) looked at, \(zoomed.boxesSplit) split)")
        // Without it the small words of the lower lines come out joined; with it they are read one by one.
        for word in ["FLATLY", "DISTANCES", "PEAKS", "RECITES", "LOAFER", "ARCHAISMS"] {
            XCTAssertFalse(before.contains(word), word)
            XCTAssertTrue(after.contains(word), word)
        }
        XCTAssertGreaterThan(zoomed.boxesSplit, 0)
        XCTAssertLessThanOrEqual(zoomed.boxesSplit, zoomed.boxesZoomed)
        XCTAssertGreaterThan(zoomed.words.count, plain.words.count)
        // The second look is counted in the detector's work, and its words lie inside the sign.
        var settings = SpotterSettings()
        settings.zoomSmall = nil
        let frame = try signFrame()
        let with = try TextSpotter(models: Self.models, settings: settings).detect(frame)
        settings.zoomAspect = nil
        let without = try TextSpotter(models: Self.models, settings: settings).detect(frame)
        XCTAssertGreaterThan(with.ops.binaryMACs, without.ops.binaryMACs)
        XCTAssertEqual(with.zoomed, zoomed.boxesZoomed)
        for w in zoomed.words {
            XCTAssertTrue(w.box.x0 >= 680 && w.box.x1 <= 1020 && w.box.y0 >= 250 && w.box.y1 <= 380, "\(w)")
        }
    }

    /// The second look at small boxes (``SpotterSettings/zoomSmall``): which boxes get which look, and on the
    /// sign (every box taken as small) each box is replaced by the words found again inside it or dropped,
    /// and most of what the look at long boxes reads is read.
    func testSmallBoxesAreKeptOnlyWhenFoundAgain() throws {
        var settings = SpotterSettings()
        settings.zoomSmall = 12
        let rules = try TextSpotter(models: Self.models, settings: settings)
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 30, y1: 10, score: 1), detectorHeight: 11), .small)
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 30, y1: 10, score: 1), detectorHeight: 12), .none)
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 100, y1: 10, score: 1), detectorHeight: 19), .long)
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 100, y1: 10, score: 1), detectorHeight: 20), .none)
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 30, y1: 7, score: 1), detectorHeight: 5), .none)   // under 8 frame px
        rules.settings.zoomMaxHeight = nil
        XCTAssertEqual(rules.secondLook(WordBox(x0: 0, y0: 0, x1: 500, y1: 50, score: 1), detectorHeight: 50), .long)

        let frame = try signFrame()
        settings.zoomAspect = nil
        settings.zoomSmall = nil
        let plain = try TextSpotter(models: Self.models, settings: settings).detect(frame)
        settings.zoomSmall = 100
        let spotter = try TextSpotter(models: Self.models, settings: settings)
        let looked = try spotter.detect(frame)
        XCTAssertEqual(looked.zoomed, plain.boxes.count)
        XCTAssertGreaterThan(looked.ops.binaryMACs, plain.ops.binaryMACs)
        XCTAssertGreaterThanOrEqual(looked.dropped, plain.boxes.filter { box in !looked.boxes.contains { $0.centerX >= box.x0 && $0.centerX <= box.x1 && $0.centerY >= box.y0 && $0.centerY <= box.y1 } }.count)
        for b in looked.boxes {
            XCTAssertTrue(plain.boxes.contains { b.centerX >= $0.x0 && b.centerX <= $0.x1 && b.centerY >= $0.y0 && b.centerY <= $0.y1 }, "\(b)")
        }
        let words = Set(try spotter.recognize(frame, looked).words.map(\.text))
        let before = Set(try read(zoom: 5).words.map(\.text))   // the long boxes are split here too
        print("every box looked at again: \(words.sorted()) (\(looked.zoomed) looked at, \(looked.split) split, \(looked.dropped) dropped)")
        XCTAssertGreaterThanOrEqual(Double(words.intersection(before).count), 0.6 * Double(before.count), "\(words) against \(before)")
    }

    /// A detector whose maps head gives 2 x 2 sub-cells per cell (session 24's candidate, maps at stride 2)
    /// runs through the same spotter: it reads the sign's words (with the second look too, whose windows
    /// take other sizes); a maps head of any other channel count is refused when the models load.
    func testStride2DetectorReadsTheSign() throws {
        let det = try ModelFile.load(path: Self.models + "/candidates/detector-stride2-s24.bitnet")
        let rec = try ModelFile.load(path: Self.models + "/recognizer.bitnet")
        let spotter = try TextSpotter(detector: det, recognizer: rec)
        XCTAssertEqual(spotter.mapSubcells, 2)
        XCTAssertEqual(try TextSpotter(models: Self.models).mapSubcells, 1)
        let spots = try spotter.process(try signFrame())
        let words = Set(spots.words.map(\.text))
        print("stride-2 detector: \(spots.words.map(\.text)) (\(spots.boxesZoomed) looked at again)")
        // A wrong sub-cell order or stride would scatter the boxes: most of what the shipped detector reads
        // here is read again.
        let shipped = Set(try read(zoom: 5).words.map(\.text))
        XCTAssertGreaterThanOrEqual(Double(words.intersection(shipped).count), 0.6 * Double(shipped.count), "\(words) against \(shipped)")
        for w in spots.words {
            XCTAssertTrue(w.box.x0 >= 680 && w.box.x1 <= 1020 && w.box.y0 >= 250 && w.box.y1 <= 380, "\(w)")
        }
        var odd = det
        let maps = try XCTUnwrap(det.heads.last { !$0.isExit }).node
        odd.nodes[maps - 1].shape.channels = 4
        XCTAssertThrowsError(try TextSpotter(detector: odd, recognizer: rec)) { error in
            XCTAssertTrue("\(error)".contains("maps head"), "\(error)")
        }
    }

    /// Boxes of many lengths need windows of many widths: only the most recently used detectors are kept,
    /// and one dropped and made again reads the same.
    func testWindowDetectorsAreBounded() throws {
        let spotter = try TextSpotter(models: Self.models)
        let frame = try signFrame()
        var ops = OpCount()
        let box = WordBox(x0: 700, y0: 306, x1: 930, y1: 326, score: 1)
        let first = try spotter.zoomIn(frame, box, ops: &ops)
        for k in 1...12 {
            let w = 80 + Double(k) * 40
            _ = try spotter.zoomIn(frame, WordBox(x0: 700, y0: 306, x1: 700 + w, y1: 326, score: 1), ops: &ops)
            XCTAssertLessThanOrEqual(spotter.zoomDetectorCount, TextSpotter.zoomCacheLimit)
        }
        XCTAssertEqual(spotter.zoomDetectorCount, TextSpotter.zoomCacheLimit)
        XCTAssertEqual(try spotter.zoomIn(frame, box, ops: &ops), first)
        XCTAssertFalse(first.isEmpty)
    }
}
