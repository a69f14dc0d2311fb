import Foundation
import XCTest

/// `bitspot frames`, end to end through the built binary.
final class FramesCommandTests: XCTestCase {
    func freshPath(_ name: String) -> String {
        let path = CLI.folder.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    func testEveryNthWithContactSheet() throws {
        let out = freshPath("every")
        let sheet = freshPath("sheet.png")
        let r = try CLI.run(["frames", try CLI.testVideo(), "--every", "10", "--out", out, "--contact-sheet", sheet])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["frame-000000.png", "frame-000010.png", "frame-000020.png", "frame-000030.png", "frame-000040.png", "frames.jsonl"])
        let index = try String(contentsOfFile: out + "/frames.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(index.count, 5)
        let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(index[1].utf8)) as? [String: Any])
        XCTAssertEqual(row["index"] as? Int, 10)
        XCTAssertEqual(row["time"] as? Double ?? 0, 0.4, accuracy: 0.002)
        XCTAssertEqual(row["key"] as? Bool, true)
        let png = try Data(contentsOf: URL(fileURLWithPath: sheet))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        // The PNGs decode back to 320x240 through FFmpeg.
        let probe = try CLI.run(["probe", out + "/frame-000010.png", "--no-decode"])
        XCTAssertTrue(probe.stdout.contains("320x240"), probe.stdout)
    }

    func testKeyFramesAndSize() throws {
        let out = freshPath("keys")
        let r = try CLI.run(["frames", try CLI.testVideo(), "--keyframes", "--size", "160x120", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("5 frames written"), r.stdout)
        XCTAssertTrue(r.stdout.contains("not decoded 45"), r.stdout)
    }

    /// `frames --every 10 FLAG` on the test clip: it succeeds and writes its five frames.
    func everyTenth(_ flag: String) throws -> CLI.Result {
        let r = try CLI.run(["frames", try CLI.testVideo(), "--every", "10", flag, "--out", freshPath(flag)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("5 frames written"), r.stdout)
        return r
    }

    /// --skip-nonref: the clip's non-reference B-frames are never decoded, and every 10th frame is still
    /// found (the first decoded one at or after each multiple of 10).
    func testSkipNonReference() throws {
        let r = try everyTenth("--skip-nonref")
        let notDecoded = r.stdout.components(separatedBy: "not decoded ").last?.prefix { $0.isNumber } ?? ""
        XCTAssertGreaterThan(Int(notDecoded) ?? 0, 0, r.stdout)
    }

    /// --skip-bidir: the same five sampling points are kept, and the summary says how the B-frame check
    /// went (this short x264 clip with default references: the check cannot pass, so frames are decoded
    /// as with --skip-nonref).
    func testSkipBidirectionalReportsTheCheck() throws {
        let r = try everyTenth("--skip-bidir")
        XCTAssertTrue(r.stdout.contains("B-frames decoded (check failed: "), r.stdout)
    }

    /// --prefer-keyframes: the clip's slots of 20 frames start with key frames (one every 10), so the same
    /// frames are kept while the packets after each kept key frame up to the next slot's are never
    /// decoded; without --every or --fps it is a usage error.
    func testPreferKeyFrames() throws {
        let out = freshPath("prefer-keys")
        var r = try CLI.run(["frames", try CLI.testVideo(), "--every", "20", "--prefer-keyframes", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["frame-000000.png", "frame-000020.png", "frame-000040.png", "frames.jsonl"])
        let notDecoded = r.stdout.components(separatedBy: "not decoded ").last?.prefix { $0.isNumber } ?? ""
        XCTAssertGreaterThanOrEqual(Int(notDecoded) ?? 0, 30, r.stdout)
        r = try CLI.run(["frames", try CLI.testVideo(), "--prefer-keyframes", "--out", freshPath("prefer-keys-b")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--prefer-keyframes needs --fps R or --every N"), r.stderr)
        // A live input too (lavfi's raw frames are all key frames: one per slot is decoded).
        let live = freshPath("prefer-keys-live")
        r = try CLI.run(["frames", "lavfi:testsrc2=size=320x240:rate=25", "--fps", "5", "--prefer-keyframes", "--max-frames", "3", "--out", live])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: live).count, 4)
    }

    /// --keyframes --max-gap: key frames every 0.4 s, and a frame 0.2 s after each (decoded through its
    /// references); --max-gap is a usage error without --keyframes or when not a positive number.
    func testKeyFramesWithAMaximumGap() throws {
        let out = freshPath("keys-gap")
        var r = try CLI.run(["frames", try CLI.testVideo(), "--keyframes", "--max-gap", "0.2", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       stride(from: 0, to: 50, by: 5).map { String(format: "frame-%06d.png", $0) } + ["frames.jsonl"])
        XCTAssertTrue(r.stdout.contains("10 frames written") && r.stdout.contains("(key frames, and a frame at least every 0.2 s)"), r.stdout)
        // spot's summary counts what was left out.
        r = try CLI.run(["spot", try CLI.testVideo(), "--models", SpotCommandTests.models, "--keyframes", "--max-gap", "0.2", "--max-frames", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3 frames processed (") && r.stdout.contains(" non-key frames left out"), r.stdout)
        r = try CLI.run(["frames", try CLI.testVideo(), "--every", "5", "--max-gap", "1", "--out", freshPath("keys-gap-b")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--max-gap goes with --keyframes"), r.stderr)
        r = try CLI.run(["frames", try CLI.testVideo(), "--keyframes", "--max-gap", "0", "--out", freshPath("keys-gap-c")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--max-gap must be a positive number of seconds"), r.stderr)
    }

    /// --decoder: a name FFmpeg lacks or one for another codec is a usage error (64); a hardware decoder
    /// that cannot open here is an unavailable device (69); `auto` falls back to software and says why.
    func testDecoderChoice() throws {
        let video = try CLI.testVideo()
        var r = try CLI.run(["frames", video, "--every", "10", "--decoder", "nosuch", "--out", freshPath("dec-a")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--decoder: no decoder named 'nosuch'"), r.stderr)
        r = try CLI.run(["frames", video, "--every", "10", "--decoder", "mpeg4", "--out", freshPath("dec-b")])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("mpeg4 decodes mpeg4, but"), r.stderr)
        r = try CLI.run(["frames", video, "--every", "10", "--decoder", "h264", "--out", freshPath("dec-c")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("5 frames written") && r.stdout.contains("decoder h264"), r.stdout)
        // Where no V4L2 memory-to-memory device exists (these machines, qemu), the hardware decoder cannot open.
        let m2m = (try? FileManager.default.contentsOfDirectory(atPath: "/dev"))?.contains { $0.hasPrefix("video") } ?? false
        if !m2m {
            let out = freshPath("dec-d")
            r = try CLI.run(["frames", video, "--every", "10", "--decoder", "h264_v4l2m2m", "--out", out])
            XCTAssertEqual(r.status, 69, r.stderr)
            XCTAssertTrue(r.stderr.contains("--decoder h264_v4l2m2m: cannot open"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            r = try CLI.run(["frames", video, "--every", "10", "--decoder", "auto", "--out", freshPath("dec-e")])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("decoder h264 (no hardware decoder: "), r.stdout)
        }
    }

    func testCameraWithMaxFrames() throws {
        let out = freshPath("camera")
        let r = try CLI.run(["frames", "lavfi:testsrc2=size=320x240:rate=25", "--fps", "5", "--max-frames", "3", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).count, 4)
    }

    func testFailuresLeaveNoOutput() throws {
        let out = freshPath("never")
        var r = try CLI.run(["frames", "/no/such.mp4", "--every", "2", "--out", out])
        XCTAssertEqual(r.status, 66)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // A camera spec FFmpeg rejects after the output check: still nothing left behind.
        r = try CLI.run(["frames", "lavfi:nosuchfilter", "--every", "2", "--out", out])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: CLI.folder.path).filter { $0.contains("partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testRefusesNonEmptyOutputFolder() throws {
        let out = freshPath("full")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: out + "/keep.txt", contents: Data("mine".utf8))
        let r = try CLI.run(["frames", try CLI.testVideo(), "--every", "10", "--out", out])
        XCTAssertEqual(r.status, 73, r.stderr)
        XCTAssertTrue(r.stderr.contains("not empty"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["keep.txt"])
    }

    func testSamplingChoiceIsRequired() throws {
        let r = try CLI.run(["frames", try CLI.testVideo(), "--out", freshPath("x")])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("exactly one of"), r.stderr)
    }
}

/// Ctrl-C during `frames` on an endless camera: the frames so far are written whole, exit 130.
final class FramesInterruptTests: XCTestCase {
    func testSIGINTWritesFramesSoFar() throws {
        let out = CLI.folder.appendingPathComponent("interrupted").path
        try? FileManager.default.removeItem(atPath: out)
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["frames", "lavfi:testsrc2=size=160x120:rate=25", "--every", "1", "--out", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until some frames exist in the temporary folder, then interrupt.
        let deadline = Date().addingTimeInterval(30)
        var started = false
        while Date() < deadline, !started {
            Thread.sleep(forTimeInterval: 0.2)
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: CLI.folder.path))?.first { $0.hasPrefix(".interrupted.partial") }
            if let partial, let n = try? FileManager.default.contentsOfDirectory(atPath: CLI.folder.appendingPathComponent(partial).path).count, n >= 5 {
                started = true
            }
        }
        XCTAssertTrue(started, "frames were being written")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertTrue(files.contains("frames.jsonl"))
        let lines = try String(contentsOfFile: out + "/frames.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, files.count - 1, "every listed frame is there")
        XCTAssertGreaterThanOrEqual(lines.count, 5)
    }
}
