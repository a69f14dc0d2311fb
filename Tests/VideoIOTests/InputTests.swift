import XCTest
import CFFmpeg
@testable import VideoIO

/// How inputs are recognised, the lavfi camera path, and every bad input.
final class InputTests: XCTestCase {
    func testInputKinds() throws {
        XCTAssertEqual(try InputSpec("-").kind, .standardInput)
        XCTAssertEqual(try InputSpec("/dev/video0").kind, .device(format: "v4l2"))
        XCTAssertEqual(try InputSpec("rtsp://127.0.0.1:8554/cam").kind, .url)
        XCTAssertEqual(try InputSpec("file:clip.mp4").kind, .url)
        XCTAssertEqual(try InputSpec("lavfi:testsrc2=size=320x240:rate=10").kind, .device(format: "lavfi"))
        XCTAssertEqual(try InputSpec("lavfi:testsrc2").openName, "testsrc2")
        XCTAssertEqual(try InputSpec("clip.mp4").kind, .file)
        XCTAssertEqual(try InputSpec("notaformat:thing.mp4").kind, .file)
        XCTAssertThrowsError(try InputSpec("x", inputFormat: "no-such-format"))
    }

    /// libavdevice and libavfilter are opened on first use, by the names the deployment bundle lists.
    func testDeviceAndFilterLibrariesAreOpenedByName() throws {
        let avformatMajor = Int(avformat_version() >> 16)
        XCTAssertEqual(FFmpegLibraries.avdevice.name, "libavdevice.so.\(avformatMajor)")
        XCTAssertEqual(FFmpegLibraries.avfilter.name, "libavfilter.so.\(avformatMajor - 51)")
        XCTAssertTrue(FFmpegLibraries.devicesRegistered, FFmpegLibraries.avdevice.error ?? "")
        XCTAssertNil(VideoIO.devicesUnavailable)
        XCTAssertNotNil(VideoIO.findInputFormat("lavfi"))
        XCTAssertNotNil(VideoIO.findInputFormat("mp4"))
        XCTAssertNil(VideoIO.findInputFormat("no-such-format"))
        let fx = try AVFilterFunctions.shared.get()
        XCTAssertNotNil(fx.getByName("drawtext"))
    }

    /// A live input whose sampling keeps nothing ends at the read deadline instead of reading forever.
    func testReadDeadlineEndsALiveInputThatKeepsNothing() throws {
        let source = try VideoSource(input: InputSpec("lavfi:testsrc2=size=64x48:rate=25"),
                                     options: DecodeOptions(sampling: .every(1_000_000_000)))
        XCTAssertEqual(try source.next()?.index, 0)  // every Nth keeps frame 0, then none for a very long time
        source.readDeadline = VideoSource.monotonicNow() + 300_000_000
        let t0 = VideoSource.monotonicNow()
        XCTAssertNil(try source.next()?.index)
        let seconds = Double(VideoSource.monotonicNow() - t0) / 1e9
        XCTAssertGreaterThanOrEqual(seconds, 0.29)
        XCTAssertLessThan(seconds, 30)
        XCTAssertGreaterThan(source.counters.decoded, 2)
        XCTAssertEqual(source.counters.delivered, 1)
    }

    /// The camera path, really started: libavdevice's lavfi input stands in for a camera.
    func testLavfiCamera() throws {
        let source = try VideoSource(input: InputSpec("lavfi:testsrc2=size=320x240:rate=25"),
                                     options: DecodeOptions(size: FrameSize(width: 160, height: 120)))
        XCTAssertTrue(source.input.isLive)
        var frames: [LumaFrame] = []
        while frames.count < 10, let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.count, 10)
        XCTAssertEqual(frames[9].time, 9.0 / 25, accuracy: 0.002)
        XCTAssertEqual(frames[0].width, 160)
    }

    func testCaptureSizeAndRateReachTheInputFormat() throws {
        // `video_size` and `framerate` are the options a v4l2 camera takes; FFmpeg's rawvideo input
        // takes the same two, so it shows they reach the input format.
        let path = Fixtures.folder.appendingPathComponent("three.yuv").path
        try Data(repeating: 128, count: 64 * 48 * 3 / 2 * 3).write(to: URL(fileURLWithPath: path))
        let source = try VideoSource(input: InputSpec(path, inputFormat: "rawvideo"),
                                     options: DecodeOptions(cameraSize: FrameSize(width: 64, height: 48), cameraRate: 10))
        let f1 = try XCTUnwrap(try source.next())
        let f2 = try XCTUnwrap(try source.next())
        XCTAssertEqual(f1.width, 64)
        XCTAssertEqual(f1.height, 48)
        XCTAssertEqual(f2.time - f1.time, 0.1, accuracy: 0.001)
    }

    func expectError(_ input: String, _ category: VideoIOError.Category, _ fragment: String, inputFormat: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let source = try VideoSource(input: InputSpec(input, inputFormat: inputFormat))
            while try source.next() != nil {}
            XCTFail("\(input) opened without error", file: file, line: line)
        } catch let e as VideoIOError {
            XCTAssertEqual(e.category, category, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(fragment), "'\(e)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(input), "'\(e)' must name the input", file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "one line", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testMissingFile() { expectError("/no/such/video.mp4", .inputMissing, "no such file") }

    func testDirectory() { expectError(NSTemporaryDirectory(), .inputInvalid, "directory") }

    func testEmptyFile() throws {
        let path = Fixtures.folder.appendingPathComponent("empty.mp4").path
        FileManager.default.createFile(atPath: path, contents: Data())
        expectError(path, .inputInvalid, "empty")
    }

    func testNotAVideo() throws {
        let path = Fixtures.folder.appendingPathComponent("notes.mp4").path
        try Data(String(repeating: "these are not video bytes\n", count: 400).utf8).write(to: URL(fileURLWithPath: path))
        expectError(path, .inputInvalid, "not a video")
    }

    func testNoVideoStream() throws {
        let path = Fixtures.folder.appendingPathComponent("tone.wav").path
        try Fixtures.run("ffmpeg", ["-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", path])
        expectError(path, .inputInvalid, "no video stream")
    }

    func testUnsupportedCodec() throws {
        // An AVI whose video fourcc is one no decoder knows.
        let path = try Fixtures.mutated(try Fixtures.aviMJPEG(), name: "unknown-codec.avi") { data in
            for tag in ["MJPG", "mjpg"] {
                let needle = Data(tag.utf8)
                var start = data.startIndex
                while let r = data.range(of: needle, in: start..<data.endIndex) {
                    data.replaceSubrange(r, with: Data("ZQZQ".utf8))
                    start = r.upperBound
                }
            }
        }
        expectError(path, .unsupported, "no decoder")
    }

    func testTruncatedMP4() throws {
        // Without +faststart the index (moov) is at the end; cut it off.
        let path = try Fixtures.mutated(try Fixtures.mp4(), name: "truncated.mp4") { data in
            data = data.prefix(data.count / 2)
        }
        expectError(path, .inputInvalid, "truncated")
    }

    func testGarbageInTheMiddleIsCountedAndDecodingGoesOn() throws {
        let path = try Fixtures.mutated(try Fixtures.mpegTS(), name: "garbage.ts") { data in
            // Deterministic garbage (a fixed LCG) over 6000 bytes, keeping every 188-byte TS packet's sync
            // byte so the demuxer hands the damaged payloads to the decoder.
            var state: UInt32 = 2020
            let start = data.count * 2 / 5
            for i in start..<(start + 6000) where i % 188 != 0 {
                state = state &* 1_664_525 &+ 1_013_904_223
                data[data.startIndex + i] = UInt8(truncatingIfNeeded: state >> 24)
            }
        }
        let source = try VideoSource(input: InputSpec(path))
        var frames = 0
        var lastTime = 0.0
        while let f = try source.next() { frames += 1; lastTime = f.time }
        XCTAssertGreaterThan(source.counters.decodeErrors, 0)
        XCTAssertGreaterThan(frames, 30, "decoding goes on past the damage")
        XCTAssertGreaterThan(lastTime, 1.8, "the end of the stream is still reached")
    }

    func testAbsentCamera() { expectError("/dev/video97", .inputMissing, "no such camera") }

    func testBadLavfiSpec() {
        expectError("lavfi:nosuchfilter=1", .badRequest, "device rejected")
    }
}
