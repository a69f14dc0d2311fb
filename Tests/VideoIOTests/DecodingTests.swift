import XCTest
@testable import VideoIO

/// Decoding in several containers and codecs, with frame counts and timestamps.
final class DecodingTests: XCTestCase {
    func decodeAll(_ path: String, options: DecodeOptions = DecodeOptions()) throws -> (frames: [LumaFrame], source: VideoSource) {
        let source = try VideoSource(input: InputSpec(path), options: options)
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        return (frames, source)
    }

    func checkFullDecode(_ path: String, codec: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (frames, source) = try decodeAll(path)
        XCTAssertEqual(source.info.codec, codec, file: file, line: line)
        XCTAssertEqual(source.info.width, 320, file: file, line: line)
        XCTAssertEqual(source.info.height, 240, file: file, line: line)
        XCTAssertEqual(frames.count, 50, "frame count", file: file, line: line)
        XCTAssertEqual(source.counters.decodeErrors, 0, file: file, line: line)
        for (i, f) in frames.enumerated() {
            XCTAssertEqual(f.index, i, file: file, line: line)
            XCTAssertEqual(f.time, Double(i) / 25, accuracy: 0.002, "timestamp of frame \(i)", file: file, line: line)
            XCTAssertEqual(f.pixels.count, 320 * 240, file: file, line: line)
        }
        // A test pattern is not flat: the luma must vary.
        let first = frames[0].pixels
        XCTAssertGreaterThan(Set(first).count, 20, file: file, line: line)
    }

    func testMP4H264() throws { try checkFullDecode(try Fixtures.mp4(), codec: "h264") }
    func testMatroskaVP9() throws { try checkFullDecode(try Fixtures.mkvVP9(), codec: "vp9") }
    func testWebMVP8() throws { try checkFullDecode(try Fixtures.webmVP8(), codec: "vp8") }
    func testAVIMJPEG() throws { try checkFullDecode(try Fixtures.aviMJPEG(), codec: "mjpeg") }
    func testMPEGTS() throws { try checkFullDecode(try Fixtures.mpegTS(), codec: "h264") }
    func testMPEGTSWithBFramesKeepsPresentationOrder() throws { try checkFullDecode(try Fixtures.mpegTSWithBFrames(), codec: "h264") }

    func testStreamInfo() throws {
        let source = try VideoSource(input: InputSpec(try Fixtures.mp4()))
        XCTAssertEqual(source.info.frameCount, 50)
        XCTAssertEqual(source.info.frameRate ?? 0, 25, accuracy: 0.01)
        XCTAssertEqual(source.info.duration ?? 0, 2, accuracy: 0.05)
        XCTAssertEqual(source.info.pixelFormat, "yuv420p")
    }

    func testScalingToWorkingSize() throws {
        let (frames, _) = try decodeAll(try Fixtures.mp4(), options: DecodeOptions(size: FrameSize(width: 160, height: 90)))
        XCTAssertEqual(frames.count, 50)
        XCTAssertEqual(frames[0].width, 160)
        XCTAssertEqual(frames[0].height, 90)
        XCTAssertEqual(frames[0].pixels.count, 160 * 90)
    }

    /// Luma at the video's own size is the decoder's Y plane, as ffmpeg's own gray output gives it
    /// when told not to change the range.
    func testOwnSizeLumaMatchesFFmpegYPlane() throws {
        let path = try Fixtures.mp4()
        let (frames, _) = try decodeAll(path)
        let raw = Fixtures.folder.appendingPathComponent("y0.raw").path
        try Fixtures.run("ffmpeg", ["-y", "-i", path, "-frames:v", "1", "-vf", "extractplanes=y", "-f", "rawvideo", raw])
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw)))
        XCTAssertEqual(frames[0].pixels, expected)
    }

    func testDecoderThreadsGiveTheSameFrames() throws {
        let path = try Fixtures.mp4()
        let one = try decodeAll(path).frames
        let four = try decodeAll(path, options: DecodeOptions(threads: 4)).frames
        XCTAssertEqual(one.count, four.count)
        XCTAssertEqual(one.last?.pixels, four.last?.pixels)
    }
}
