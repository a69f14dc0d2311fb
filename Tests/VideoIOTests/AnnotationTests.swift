import XCTest
@testable import VideoIO

/// `FrameAnnotator` (drawbox and drawtext through libavfilter) and variable-rate MP4 writing.
final class AnnotationTests: XCTestCase {
    static let size = FrameSize(width: 320, height: 240)
    static let yellow = AnnotationColor.palette[0]

    func grey(_ level: UInt8, _ size: FrameSize = AnnotationTests.size) -> LumaFrame {
        LumaFrame(width: size.width, height: size.height, pixels: [UInt8](repeating: level, count: size.width * size.height),
                  time: 0, index: 0, isKeyFrame: true)
    }

    func annotator() throws -> FrameAnnotator {
        try FrameAnnotator(size: Self.size, font: try AnnotationFont.locate(nil))
    }

    /// How far a sample's chroma is from grey.
    func colourfulness(_ s: (y: UInt8, u: UInt8, v: UInt8)) -> Int { abs(Int(s.u) - 128) + abs(Int(s.v) - 128) }

    func testOutlineAndLabelAreDrawnAndTheRestIsUntouched() throws {
        let a = try annotator()
        XCTAssertEqual(a.thickness, 2)
        XCTAssertEqual(a.fontSize, 12)
        let box = Annotation(x0: 60, y0: 100, x1: 200, y1: 140, label: "EXIT", color: Self.yellow)
        let p = try a.draw(grey(100), [box])
        XCTAssertEqual(p.width, 320)
        XCTAssertEqual(p.height, 240)
        // The outline lies just outside the box (2 px): in yellow, not grey.
        for (x, y) in [(130, 98), (130, 99), (130, 141), (58, 120), (201, 120)] {
            XCTAssertGreaterThan(colourfulness(p[x, y]), 60, "outline at (\(x), \(y)): \(p[x, y])")
        }
        // Inside the box and far from it the frame is as it was: luma 100, no colour.
        for (x, y) in [(130, 120), (62, 102), (300, 230), (10, 10), (250, 120)] {
            XCTAssertEqual(p[x, y].y, 100, "(\(x), \(y))")
            XCTAssertEqual(colourfulness(p[x, y]), 0, "(\(x), \(y))")
        }
        // The label sits above the outline: a yellow band with black text in it.
        var band = 0, ink = 0
        for y in 70..<98 {
            for x in 60..<130 {
                if colourfulness(p[x, y]) > 60 { band += 1 }
                if p[x, y].y < 40 { ink += 1 }
            }
        }
        XCTAssertGreaterThan(band, 200, "label band")
        XCTAssertGreaterThan(ink, 30, "label text")
    }

    func testLabelGoesBelowABoxAtTheTopAndStaysInTheFrame() throws {
        let a = try annotator()
        let p = try a.draw(grey(100), [Annotation(x0: 280, y0: 1, x1: 319, y1: 20, label: "AUTHORIZED", color: Self.yellow)])
        var inkBelow = 0, inkRight = 0
        for y in 22..<50 { for x in 150..<320 where p[x, y].y < 40 { inkBelow += 1 } }
        // The long label would overflow the right edge: it is moved left, so it ends inside the frame.
        for y in 22..<50 { for x in 150..<280 where p[x, y].y < 40 { inkRight += 1 } }
        XCTAssertGreaterThan(inkBelow, 30)
        XCTAssertGreaterThan(inkRight, 10)
    }

    func testNoAnnotationsGiveTheGreyFrameWithoutAFilterGraph() throws {
        let a = try annotator()
        var frame = grey(0)
        for i in frame.pixels.indices { frame.pixels[i] = UInt8(i % 251) }
        let p = try a.draw(frame, [])
        XCTAssertEqual(p.y, frame.pixels, "luma is copied as it is (no range conversion)")
        XCTAssertTrue(p.u.allSatisfy { $0 == 128 } && p.v.allSatisfy { $0 == 128 })
        XCTAssertEqual(p.u.count, 160 * 120)
        XCTAssertEqual(a.graphsBuilt, 0)
    }

    func testGraphIsKeptWhileTheAnnotationsStay() throws {
        let a = try annotator()
        let one = [Annotation(x0: 10, y0: 50, x1: 90, y1: 80, label: "LAB", color: Self.yellow)]
        let first = try a.draw(grey(90), one)
        let again = try a.draw(grey(90), one)
        XCTAssertEqual(first, again)
        XCTAssertEqual(a.graphsBuilt, 1)
        _ = try a.draw(grey(90), one + [Annotation(x0: 100, y0: 150, x1: 200, y1: 190, label: "3074", color: AnnotationColor.palette[1])])
        XCTAssertEqual(a.graphsBuilt, 2)
    }

    func testFrameOfAnotherSizeIsScaledWithItsBoxes() throws {
        let a = try annotator()
        let p = try a.draw(grey(100, FrameSize(width: 640, height: 480)), [Annotation(x0: 120, y0: 200, x1: 400, y1: 280, label: "", color: Self.yellow)])
        XCTAssertEqual(p.width, 320)
        XCTAssertGreaterThan(colourfulness(p[130, 98]), 60, "outline of the box halved")
        XCTAssertEqual(colourfulness(p[130, 120]), 0)
    }

    func testFonts() throws {
        XCTAssertThrowsError(try AnnotationFont.locate("/no/such/font.ttf")) { e in
            XCTAssertEqual((e as? VideoIOError)?.category, .inputMissing)
        }
        XCTAssertEqual(try AnnotationFont.locate(nil, searchPaths: ["/no/such/font.ttf"]), .fontconfig("Sans:bold"))
        // Drawn with whatever fontconfig matches (Scripts/setup.sh installs fonts-dejavu-core).
        XCTAssertGreaterThan(try FrameAnnotator(size: Self.size, font: .fontconfig("Sans:bold")).draw(grey(100), [
            Annotation(x0: 60, y0: 100, x1: 200, y1: 140, label: "EXIT", color: Self.yellow),
        ]).y.filter { $0 < 40 }.count, 30)
        let notAFont = Fixtures.folder.appendingPathComponent("not-a-font.ttf").path
        try Data("plain text".utf8).write(to: URL(fileURLWithPath: notAFont))
        XCTAssertThrowsError(try AnnotationFont.locate(notAFont)) { e in
            XCTAssertEqual((e as? VideoIOError)?.category, .inputInvalid, "\(e)")
        }
        let dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        if FileManager.default.fileExists(atPath: dejavu) {
            XCTAssertEqual(try AnnotationFont.locate(dejavu), .file(dejavu))
            XCTAssertEqual(try FrameAnnotator(size: Self.size, font: .file(dejavu)).font, .file(dejavu))
        }
    }

    /// Pictures appended with their times: a variable-rate video whose frames decode at those times,
    /// with the luma as given (not range-converted).
    func testTimedPicturesMakeAVariableRateVideo() throws {
        let path = Fixtures.folder.appendingPathComponent("timed.mp4").path
        let writer = try VideoWriter(path: path, size: Self.size, frameRate: 2, clockRate: 30)
        let times = [0.0, 0.5, 1.5, 1.5, 2.0]
        for (i, t) in times.enumerated() {
            try writer.append(YUV420Picture(width: 320, height: 240, luma: [UInt8](repeating: UInt8(60 + 20 * i), count: 320 * 240)), at: t)
        }
        try writer.finish()
        let source = try VideoSource(input: InputSpec(path))
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.count, 5)
        // Equal times are pushed one tick (1/30 s) apart; the last frame lasts as long as the gap before it.
        for (f, t) in zip(frames, [0.0, 0.5, 1.5, 1.5 + 1.0 / 30, 2.0]) { XCTAssertEqual(f.time, t, accuracy: 0.001) }
        XCTAssertEqual(try XCTUnwrap(source.info.duration), 2.0 + (2.0 - (1.5 + 1.0 / 30)), accuracy: 0.04)
        for (i, f) in frames.enumerated() {
            let mean = f.pixels.reduce(0) { $0 + Int($1) } / f.pixels.count
            XCTAssertEqual(Double(mean), Double(60 + 20 * i), accuracy: 3)
        }
        XCTAssertThrowsError(try VideoWriter(path: path, size: Self.size, frameRate: 2).append(YUV420Picture(width: 32, height: 32, luma: [UInt8](repeating: 0, count: 1024))))
    }
}
