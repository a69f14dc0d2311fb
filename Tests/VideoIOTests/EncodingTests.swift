import XCTest
@testable import VideoIO

/// PNG and MP4 writing through libavcodec, read back through the decoder.
final class EncodingTests: XCTestCase {
    func gradient(_ w: Int, _ h: Int) -> [UInt8] { (0..<(w * h)).map { UInt8(($0 % w) * 255 / (w - 1)) } }

    func testPNGRoundTrip() throws {
        let w = 96, h = 54
        let pixels = gradient(w, h)
        let path = Fixtures.folder.appendingPathComponent("gradient.png").path
        try PNGEncoder().write(Raster(width: w, height: h, layout: .gray8, bytes: pixels), to: path)
        let source = try VideoSource(input: InputSpec(path))
        XCTAssertEqual(source.info.codec, "png")
        let frame = try XCTUnwrap(try source.next())
        XCTAssertEqual(frame.pixels, pixels, "PNG is lossless")
    }

    func testPNGOfRGB() throws {
        let w = 32, h = 16
        var bytes = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) { bytes[3 * i] = 255 }   // pure red
        let data = try PNGEncoder().encode(Raster(width: w, height: h, layout: .rgb24, bytes: bytes))
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    func testMP4WriterRoundTrip() throws {
        let path = Fixtures.folder.appendingPathComponent("written.mp4").path
        let writer = try VideoWriter(path: path, size: FrameSize(width: 161, height: 91), frameRate: 10)
        XCTAssertEqual(writer.size, FrameSize(width: 160, height: 90), "rounded down to even")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing appears before finish()")
        for i in 0..<20 {
            let px = [UInt8](repeating: UInt8(i * 10), count: 160 * 90)
            try writer.append(Raster(width: 160, height: 90, layout: .gray8, bytes: px))
        }
        try writer.finish()
        let source = try VideoSource(input: InputSpec(path))
        XCTAssertEqual(source.info.codec, FFmpegVersion.hasEncoder("libx264") ? "h264" : "mpeg4")
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.count, 20)
        XCTAssertEqual(frames[19].time, 1.9, accuracy: 0.01)
        // Grey level 190 (limited-range Y about 179) survives encoding within a few levels.
        let mean = frames[19].pixels.reduce(0) { $0 + Int($1) } / frames[19].pixels.count
        XCTAssertEqual(Double(mean), 16 + 190 * 219 / 255, accuracy: 4)
    }

    func testMPEG4Fallback() throws {
        let path = Fixtures.folder.appendingPathComponent("mpeg4.mp4").path
        let writer = try VideoWriter(path: path, size: FrameSize(width: 64, height: 48), frameRate: 5, preferH264: false)
        XCTAssertEqual(writer.encoderName, "mpeg4")
        try writer.append(Raster(width: 64, height: 48, layout: .gray8, bytes: [UInt8](repeating: 128, count: 64 * 48)))
        try writer.finish()
        XCTAssertEqual(try VideoSource(input: InputSpec(path)).info.codec, "mpeg4")
    }

    func testAbandonedWriterLeavesNothing() throws {
        let dir = Fixtures.folder.appendingPathComponent("abandon")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            let writer = try VideoWriter(path: dir.appendingPathComponent("out.mp4").path, size: FrameSize(width: 64, height: 48), frameRate: 5)
            try writer.append(Raster(width: 64, height: 48, layout: .gray8, bytes: [UInt8](repeating: 1, count: 64 * 48)))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testContactSheet() throws {
        var sheet = ContactSheet(thumbnailWidth: 40, columns: 3, capacity: 4)
        for i in 0..<10 {
            try sheet.add(LumaFrame(width: 80, height: 40, pixels: [UInt8](repeating: UInt8(i), count: 3200), time: 0, index: i, isKeyFrame: false))
        }
        XCTAssertLessThanOrEqual(sheet.count, 4)
        let image = try XCTUnwrap(sheet.render())
        XCTAssertEqual(image.width, 3 * 40 + 4 * 4)
    }
}
