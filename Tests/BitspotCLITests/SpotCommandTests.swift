import Foundation
import XCTest

/// `bitspot spot` end to end with untrained models: the pipeline's plumbing, not its accuracy.
final class SpotCommandTests: XCTestCase {
    static var models: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/untrained-models").path
    }

    func testJSONLinesOnTheSample() throws {
        let file = CLI.folder.appendingPathComponent("spots.jsonl").path
        try? FileManager.default.removeItem(atPath: file)
        let r = try CLI.run(["spot", "--models", Self.models, "--fps", "1", "--max-frames", "3", "--json", "--jsonl", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        let objects = try lines.map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let frames = objects.filter { $0["type"] as? String == "frame" }
        XCTAssertEqual(frames.count, 3)
        XCTAssertEqual(frames.map { $0["frame"] as? Int }, [0, 30, 60])
        for f in frames {
            XCTAssertNotNil(f["words"] as? [Any])
            XCTAssertNotNil(f["detectorExit"] as? Bool)
        }
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), r.stdout, "the file holds the same lines")
        XCTAssertTrue(r.stderr.contains("3 frames processed"), r.stderr)
    }

    /// The shipped models on the sample video: the words on its signs are found (`Samples/sample.json`).
    func testShippedModelsReadTheSample() throws {
        let models = URL(fileURLWithPath: Samples.video).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models")
        guard FileManager.default.fileExists(atPath: models.appendingPathComponent("detector.bitnet").path) else {
            throw XCTSkip("no trained models in Models/")
        }
        let r = try CLI.run(["spot", Samples.video, "--fps", "0.5", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = try r.stdout.split(separator: "\n").map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let tracks = Set(objects.filter { $0["type"] as? String == "track" }.compactMap { $0["text"] as? String })
        let expected: Set<String> = ["ROOM", "B056", "EXIT", "AUTHORIZED", "PERSONNEL", "ONLY", "LAB", "3074"]
        XCTAssertGreaterThanOrEqual(tracks.intersection(expected).count, 2, "found \(tracks.sorted())")
        // The first 2 s show bare wall: the first frame has no words.
        XCTAssertEqual((objects.first?["words"] as? [Any])?.count, 0)
    }

    /// Tile regions (the default) give the same JSON lines as running the detector on the whole frame,
    /// and the summary says how many frames ran on regions.
    func testTileRegionsMatchTheWholeFrame() throws {
        let models = URL(fileURLWithPath: Samples.video).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models")
        guard FileManager.default.fileExists(atPath: models.appendingPathComponent("detector.bitnet").path) else {
            throw XCTSkip("no trained models in Models/")
        }
        let whole = try CLI.run(["spot", Samples.video, "--every", "60", "--max-frames", "4", "--json", "--whole-frame"])
        let regions = try CLI.run(["spot", Samples.video, "--every", "60", "--max-frames", "4", "--json"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertEqual(regions.status, 0, regions.stderr)
        XCTAssertEqual(regions.stdout, whole.stdout)
        XCTAssertTrue(regions.stderr.contains("tile regions"), regions.stderr)
        XCTAssertFalse(whole.stderr.contains("tile regions"), whole.stderr)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--tile-region", "1"]).status, 64)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--word-split", "1"]).status, 64)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--word-split=-0.1"]).status, 64)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--word-join=-0.1"]).status, 64)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--split-gap", "6"]).status, 64)
    }

    /// `--zoom-split`, `--zoom-small`: the summary counts the boxes looked at again (nothing said with both 0);
    /// values out of range are usage errors.
    func testZoomSplit() throws {
        let on = try CLI.run(["spot", Samples.video, "--every", "30", "--max-frames", "8"])
        let off = try CLI.run(["spot", Samples.video, "--every", "30", "--max-frames", "8", "--zoom-split", "0", "--zoom-small", "0"])
        XCTAssertEqual(on.status, 0, on.stderr)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(on.stdout.contains("boxes looked at again"), on.stdout)
        XCTAssertFalse(off.stdout.contains("boxes looked at again"), off.stdout)
        for bad in [["--zoom-split", "0.5"], ["--zoom-split", "101"], ["--zoom-small", "2"], ["--zoom-small", "101"],
                    ["--zoom-margin", "4"], ["--zoom-margin=-1"], ["--zoom-max-height", "3"]] {
            XCTAssertEqual(try CLI.run(["spot", "--models", Self.models] + bad).status, 64, "\(bad)")
        }
    }

    /// `--detector-size` runs the detector at another input size; a bad size is a usage error.
    func testDetectorSize() throws {
        let r = try CLI.run(["spot", "--models", Self.models, "--every", "60", "--max-frames", "2", "--detector-size", "320x180"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("2 frames processed"), r.stdout)
        let bad = try CLI.run(["spot", "--models", Self.models, "--detector-size", "wide"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("not a size"), bad.stderr)
        // A size the model cannot take is the caller's mistake too (64), not a damaged model (65).
        let huge = try CLI.run(["spot", "--models", Self.models, "--detector-size", "8192x8192"])
        XCTAssertEqual(huge.status, 64, huge.stderr)
        XCTAssertTrue(huge.stderr.contains("8192x8192"), huge.stderr)
    }

    func testTextSummaryAndNoExits() throws {
        let r = try CLI.run(["spot", Samples.video, "--models", Self.models, "--every", "120", "--no-exits"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3 frames processed (360 decoded)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("detector exits 0"), r.stdout)
    }

    func testSubtitlesAndLPCVAnswersFiles() throws {
        let q = CLI.folder.appendingPathComponent("questions.txt").path
        let a = CLI.folder.appendingPathComponent("answers.txt").path
        let srt = CLI.folder.appendingPathComponent("seen.srt").path
        try Data("room;Exit;".utf8).write(to: URL(fileURLWithPath: q))
        let snaps = CLI.folder.appendingPathComponent("snaps").path
        for f in [a, srt, snaps] { try? FileManager.default.removeItem(atPath: f) }
        let r = try CLI.run(["spot", "--models", Self.models, "--every", "180", "--questions", q, "--answers", a, "--srt", srt,
                             "--snapshots", snaps])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Untrained models see nothing: every question is answered '-'.
        XCTAssertEqual(try String(contentsOfFile: a, encoding: .utf8), "ROOM: -;\nEXIT: -;\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: srt))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: snaps), [], "no new text, no snapshot")
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--questions", q]).status, 64)
        XCTAssertEqual(try CLI.run(["spot", "--models", Self.models, "--questions", "/no/q.txt", "--answers", a]).status, 66)
    }

    func testLiveCameraKeepsTheNewestFrames() throws {
        let r = try CLI.run(["spot", "lavfi:testsrc2=size=320x240:rate=25", "--models", Self.models, "--max-frames", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3 frames processed"), r.stdout)
        // lavfi makes frames faster than the untrained detector reads them: the pump drops the oldest.
        XCTAssertTrue(r.stdout.contains("dropped while busy"), r.stdout)
    }

    func testSIGINTWritesEverythingFoundSoFar() throws {
        let file = CLI.folder.appendingPathComponent("live.jsonl").path
        try? FileManager.default.removeItem(atPath: file)
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["spot", "lavfi:testsrc2=size=320x240:rate=25", "--models", Self.models, "--jsonl", file]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Interrupt once the first lines are in the temporary file (however slow this machine is).
        let deadline = Date().addingTimeInterval(120)
        var writing = false
        while Date() < deadline, !writing {
            Thread.sleep(forTimeInterval: 0.2)
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: CLI.folder.path))?.first { $0.hasPrefix(".live.partial") }
            if let partial, let size = try? FileManager.default.attributesOfItem(atPath: CLI.folder.appendingPathComponent(partial).path)[.size] as? Int,
               size > 0 {
                writing = true
            }
        }
        XCTAssertTrue(writing, "spot was writing lines")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 0)
        for line in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "every line whole") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: CLI.folder.path).filter { $0.contains("live.partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testMissingOrDamagedModels() throws {
        var r = try CLI.run(["spot", "--models", "/no/such/folder", "--max-frames", "1"])
        XCTAssertEqual(r.status, 66, r.stderr)
        let broken = CLI.folder.appendingPathComponent("broken-models")
        try? FileManager.default.removeItem(at: broken)
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("not a model".utf8).write(to: broken.appendingPathComponent("detector.bitnet"))
        try Data("not a model".utf8).write(to: broken.appendingPathComponent("recognizer.bitnet"))
        r = try CLI.run(["spot", "--models", broken.path, "--max-frames", "1"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        r = try CLI.run(["spot", "--models", Self.models, "--tile-exit", "2"])
        XCTAssertEqual(r.status, 64)
        r = try CLI.run(["spot", "--models", Self.models, "--min-sightings", "0"])
        XCTAssertEqual(r.status, 64)
    }
}

enum Samples {
    static var video: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Samples/sample.mp4").path
    }
}
