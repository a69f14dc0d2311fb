import Foundation
import XCTest

/// `bitspot spot --annotate FILE`: the processed frames with boxes and text drawn, read back with ffprobe/ffmpeg.
final class AnnotateCommandTests: XCTestCase {
    /// A clean folder of its own for each test.
    func folder(_ name: String) throws -> URL {
        let url = CLI.folder.appendingPathComponent("annotate-\(name)")
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs ffmpeg or ffprobe; returns standard output.
    func tool(_ name: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [name, "-hide_banner", "-loglevel", "error"] + args
        let out = CLI.folder.appendingPathComponent("tool-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(name) \(args)")
        return try Data(contentsOf: out)
    }

    /// Width, height, pixel format and frame times of a video's first stream, decoding every frame.
    func describe(_ path: String) throws -> (width: Int, height: Int, format: String, times: [Double]) {
        let stream = String(decoding: try tool("ffprobe", ["-select_streams", "v:0", "-show_entries", "stream=width,height,pix_fmt",
                                                           "-of", "csv=p=0", path]), as: UTF8.self)
        let parts = stream.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        let frames = String(decoding: try tool("ffprobe", ["-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", path]),
                            as: UTF8.self)
        let times = frames.split(whereSeparator: \.isNewline).compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", "))) }
        return (Int(parts[0]) ?? 0, Int(parts[1]) ?? 0, String(parts[2]), times)
    }

    /// One decoded frame (`n`: 0-based frame number) as raw pixels.
    func frame(_ path: String, _ n: Int, pixelFormat: String) throws -> [UInt8] {
        [UInt8](try tool("ffmpeg", ["-i", path, "-vf", "select=eq(n\\,\(n))", "-vsync", "0", "-frames:v", "1",
                                    "-f", "rawvideo", "-pix_fmt", pixelFormat, "-"]))
    }

    func leftovers(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial") }
    }

    /// Untrained models see no text: the video still holds every processed frame, at its time, at the frame size.
    func testAnnotatedVideoHoldsTheProcessedFramesAtTheirTimes() throws {
        let dir = try folder("frames")
        let out = dir.appendingPathComponent("seen.mp4").path
        let r = try CLI.run(["spot", Samples.video, "--models", SpotCommandTests.models, "--every", "90", "--annotate", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("4 frames processed"), r.stdout)
        let v = try describe(out)
        XCTAssertEqual(v.width, 1280)
        XCTAssertEqual(v.height, 720)
        XCTAssertEqual(v.format, "yuv420p")
        XCTAssertEqual(v.times.count, 4)
        for (t, expected) in zip(v.times, [0.0, 3.0, 6.0, 9.0]) { XCTAssertEqual(t, expected, accuracy: 0.001) }
        XCTAssertEqual(try leftovers(dir), [])

        // --size sets the working size, and the video's.
        let small = dir.appendingPathComponent("small.mp4").path
        XCTAssertEqual(try CLI.run(["spot", Samples.video, "--models", SpotCommandTests.models, "--every", "180", "--size", "320x180",
                                    "--annotate", small]).status, 0)
        let s = try describe(small)
        XCTAssertEqual([s.width, s.height, s.times.count], [320, 180, 2])
    }

    /// The shipped models find words on the sample: their boxes are outlined in colour where the JSON says,
    /// and the rest of the frame is the grey frame the pipeline saw.
    func testBoxesAreDrawnWhereTheWordsWereFound() throws {
        let models = URL(fileURLWithPath: Samples.video).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models")
        guard FileManager.default.fileExists(atPath: models.appendingPathComponent("detector.bitnet").path) else {
            throw XCTSkip("no trained models in Models/")
        }
        let dir = try folder("boxes")
        let out = dir.appendingPathComponent("boxes.mp4").path
        let r = try CLI.run(["spot", Samples.video, "--fps", "0.5", "--max-frames", "4", "--json", "--annotate", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let frames = try r.stdout.split(separator: "\n")
            .map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            .filter { $0["type"] as? String == "frame" }
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(try describe(out).times.count, 4)
        let w = 1280, thickness = 3
        var checked = 0
        for (k, f) in frames.enumerated() {
            let words = try XCTUnwrap(f["words"] as? [[String: Any]])
            let index = try XCTUnwrap(f["frame"] as? Int)
            let rgb = try frame(out, k, pixelFormat: "rgb24")
            let grey = try frame(out, k, pixelFormat: "gray")
            let source = try frame(Samples.video, index, pixelFormat: "gray")
            XCTAssertEqual(rgb.count, w * 720 * 3)
            XCTAssertEqual(source.count, w * 720)
            // The floor at the bottom of the sample never holds text: as the source, and grey.
            var diff = 0, colour = 0, n = 0
            for y in stride(from: 660, to: 716, by: 2) {
                for x in stride(from: 0, to: w, by: 4) {
                    diff += abs(Int(grey[y * w + x]) - Int(source[y * w + x]))
                    let p = rgb[(y * w + x) * 3..<(y * w + x) * 3 + 3]
                    colour += Int(p.max()!) - Int(p.min()!)
                    n += 1
                }
            }
            XCTAssertLessThan(Double(diff) / Double(n), 4, "frame \(k): untouched pixels are the source's")
            XCTAssertLessThan(Double(colour) / Double(n), 6, "frame \(k): untouched pixels are grey")
            // Inside the outline above each box (thickness px just outside it): colour, unlike the grey source.
            for word in words {
                let box = try XCTUnwrap(word["box"] as? [Double])
                let x0 = max(0, Int(box[0].rounded(.down))), x1 = min(w, Int(box[2].rounded(.up)))
                let y = Int(box[1].rounded(.down)) - thickness / 2 - 1
                guard y >= 0, x1 - x0 > 8 else { continue }
                var change = 0, count = 0
                for x in (x0 + 2)..<(x1 - 2) {
                    let s = Int(source[y * w + x])
                    change += rgb[(y * w + x) * 3..<(y * w + x) * 3 + 3].map { abs(Int($0) - s) }.max()!
                    count += 1
                }
                XCTAssertGreaterThan(Double(change) / Double(count), 60, "frame \(k) word \(word["text"] ?? "") at \(box)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, "some words were found and checked")
    }

    func testUnwritablePathFailsAtOnceAndLeavesNothing() throws {
        let dir = try folder("unwritable")
        let jsonl = dir.appendingPathComponent("spots.jsonl").path
        // A path under a missing folder, and one under a regular file.
        let file = dir.appendingPathComponent("plain")
        try Data("x".utf8).write(to: file)
        for bad in [dir.appendingPathComponent("missing/out.mp4").path, file.appendingPathComponent("out.mp4").path] {
            let r = try CLI.run(["spot", Samples.video, "--models", SpotCommandTests.models, "--every", "120", "--jsonl", jsonl, "--annotate", bad])
            XCTAssertEqual(r.status, 73, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("bitspot: \(bad): "), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty, "nothing was processed: \(r.stdout)")
        }
        // A non-empty folder in the way is found when the video is moved into place: exit 73, no partial file.
        let taken = dir.appendingPathComponent("taken.mp4")
        try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: taken.appendingPathComponent("keep"))
        let r = try CLI.run(["spot", Samples.video, "--models", SpotCommandTests.models, "--every", "180", "--annotate", taken.path])
        XCTAssertEqual(r.status, 73, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: taken.path), ["keep"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["plain", "taken.mp4"])
    }

    func testFontOptions() throws {
        let dir = try folder("font")
        let out = dir.appendingPathComponent("out.mp4").path
        var r = try CLI.run(["spot", "--models", SpotCommandTests.models, "--annotate", out, "--annotate-font", "/no/such/font.ttf"])
        XCTAssertEqual(r.status, 66, r.stderr)
        XCTAssertEqual(r.stderr, "bitspot: /no/such/font.ttf: no such font file (or not readable)\n")
        r = try CLI.run(["spot", "--models", SpotCommandTests.models, "--annotate-font", "/no/such/font.ttf"])
        XCTAssertEqual(r.status, 64, r.stderr)
        let notAFont = dir.appendingPathComponent("font.ttf").path
        try Data("not a font".utf8).write(to: URL(fileURLWithPath: notAFont))
        r = try CLI.run(["spot", "--models", SpotCommandTests.models, "--annotate", out, "--annotate-font", notAFont])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["font.ttf"])
    }

    /// Ctrl-C part-way through a live input: exit 130, and the video so far is complete and decodes.
    func testSIGINTFinishesTheVideoSoFar() throws {
        let dir = try folder("sigint")
        let out = dir.appendingPathComponent("live.mp4").path
        let jsonl = dir.appendingPathComponent("live.jsonl").path
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["spot", "lavfi:testsrc2=size=320x240:rate=25", "--models", SpotCommandTests.models, "--jsonl", jsonl, "--annotate", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Interrupt once two frames went through (two JSON lines in the temporary file).
        let deadline = Date().addingTimeInterval(120)
        var lines = 0
        while Date() < deadline, lines < 2 {
            Thread.sleep(forTimeInterval: 0.2)
            if let partial = try FileManager.default.contentsOfDirectory(atPath: dir.path).first(where: { $0.hasPrefix(".live.partial") && $0.hasSuffix(".jsonl") }),
               let text = try? String(contentsOf: dir.appendingPathComponent(partial), encoding: .utf8) {
                lines = text.split(separator: "\n").count
            }
        }
        XCTAssertGreaterThanOrEqual(lines, 2, "spot was processing frames")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let written = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").filter { $0.contains("\"type\":\"frame\"") }.count
        let v = try describe(out)
        XCTAssertEqual([v.width, v.height], [320, 240])
        XCTAssertEqual(v.times.count, written, "one video frame per processed frame")
        XCTAssertEqual(try leftovers(dir), [])
    }
}
