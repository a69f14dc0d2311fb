import Foundation
import XCTest
import BitNet
@testable import Spotting
import VideoIO

/// The recognizer runs at each crop's width up to ``SpotterSettings/recognizerMaxWidth`` (shipped models,
/// a word drawn by FFmpeg's own `drawtext` filter in DejaVu Sans, installed by Scripts/setup.sh).
final class RecognizerWidthTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Models").standardized.path
    static let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    func frame(_ word: String, size: Int) throws -> LumaFrame {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.font), "fonts-dejavu-core is not installed")
        let spec = "lavfi:color=c=white:s=640x360:d=0.1,drawtext=fontfile=\(Self.font):text=\(word):fontsize=\(size):x=60:y=150"
        let source = try VideoSource(input: InputSpec(spec))
        return try XCTUnwrap(source.next())
    }

    func read(_ frame: LumaFrame, maxWidth: Int) throws -> (text: [String], ops: OpCount, widths: [Int]) {
        var settings = SpotterSettings()
        settings.recognizerMaxWidth = maxWidth
        settings.recognizerExit = false
        let spotter = try TextSpotter(models: Self.models, settings: settings)
        let spots = try spotter.process(frame)
        return (spots.words.map(\.text), spots.ops, spotter.recognizerWidths)
    }

    /// A 13-letter word is about 200 pixels wide at a crop height of 32: squeezed into 128 its I and V
    /// run together; at 160 (the training crops' limit) it is read whole, for more work.
    func testLongWordsAreSqueezedLess() throws {
        let f = try frame("RETROGRESSIVE", size: 28)
        let wide = try read(f, maxWidth: 160), narrow = try read(f, maxWidth: 128)
        XCTAssertEqual(wide.text, ["RETROGRESSIVE"])
        XCTAssertEqual(wide.widths, [160])
        XCTAssertEqual(narrow.widths, [128])
        XCTAssertNotEqual(narrow.text, ["RETROGRESSIVE"], "squeezed to 128 it is misread (session 21); if not, the default needs a new reason")
        XCTAssertGreaterThan(wide.ops.binaryMACs, narrow.ops.binaryMACs)
    }

    /// Short words run narrower than the widest crop (a multiple of 16 px), and read the same there.
    func testShortWordsRunNarrow() throws {
        let f = try frame("B056", size: 28)
        let r = try read(f, maxWidth: 160)
        XCTAssertEqual(r.text, ["B056"])
        XCTAssertEqual(r.widths.count, 1)
        XCTAssertTrue(r.widths[0] < 128 && r.widths[0] % TextSpotter.recognizerWidthStep == 0, "\(r.widths)")
    }

    /// By default the widest crop is the recognizer's training limit: its metadata's, else 160.
    func testDefaultWidestCropComesFromTheModel() throws {
        XCTAssertEqual(try TextSpotter(models: Self.models).recognizerMaxWidth, 160)
        XCTAssertEqual(TextSpotter.trainedMaxWidth(#"{"input": {"height": 32, "max_width": 256}}"#), 256)
        for bad in [#"{"input": {"max_width": 25.5}}"#, #"{"input": {"max_width": -1}}"#, #"{"input": {"max_width": "wide"}}"#,
                    #"{"input": {}}"#, "not json"] {
            XCTAssertNil(TextSpotter.trainedMaxWidth(bad), bad)
        }
        var settings = SpotterSettings()
        settings.recognizerMaxWidth = 96
        XCTAssertEqual(try TextSpotter(models: Self.models, settings: settings).recognizerMaxWidth, 96)
    }

    func testWidestCropOutOfRangeIsRefused() {
        for bad in [0, 8, 2048] {
            var settings = SpotterSettings()
            settings.recognizerMaxWidth = bad
            XCTAssertThrowsError(try TextSpotter(models: Self.models, settings: settings)) { error in
                XCTAssertTrue("\(error)".contains("widest recognizer crop"), "\(error)")
            }
        }
    }
}
