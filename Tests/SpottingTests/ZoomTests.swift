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

    func read(zoom: Double?) throws -> FrameSpots {
        var settings = SpotterSettings()
        settings.zoomAspect = zoom
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
