import Foundation
import XCTest

/// `bitspot bundle --target host` and `verify-bundle`, end to end: the bundle is unpacked and run.
/// The bundle reuses the binary under test (`--binary`), so the suite needs no release build.
final class BundleCommandTests: XCTestCase {
    func testHostBundleBuildsVerifiesAndRuns() throws {
        let out = CLI.folder.appendingPathComponent("host.tar.gz").path
        try? FileManager.default.removeItem(atPath: out)
        var r = try CLI.run(["bundle", "--target", "host", "--binary", CLI.binary.path, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("board packages:"), r.stdout)
        XCTAssertTrue(r.stdout.contains("libavformat"), r.stdout)
        r = try CLI.run(["verify-bundle", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(": ok,"), r.stdout)

        // Unpack somewhere else and run it with a bare environment: it finds its own runtime and sample.
        let dir = CLI.folder.appendingPathComponent("board")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xzf", out, "-C", dir.path]
        try tar.run()
        tar.waitUntilExit()
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir.path).first)
        let p = Process()
        p.executableURL = dir.appendingPathComponent(top).appendingPathComponent("run.sh")
        p.arguments = ["probe", "--no-decode"]
        p.environment = ["PATH": "/usr/bin:/bin"]
        p.currentDirectoryURL = FileManager.default.temporaryDirectory
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(text.contains("Samples/sample.mp4") && text.contains("1280x720"), text)

        // A changed file is caught.
        let sample = dir.appendingPathComponent(top).appendingPathComponent("Samples/sample.json")
        try Data("{\"changed\": true}".utf8).write(to: sample)
        r = try CLI.run(["verify-bundle", dir.appendingPathComponent(top).path])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("Samples/sample.json does not match"), r.stderr)
    }

    func testWrongTargetIsRefused() throws {
        let out = CLI.folder.appendingPathComponent("arm.tar.gz").path
        let r = try CLI.run(["bundle", "--target", "linux-arm64", "--binary", CLI.binary.path, "--out", out])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("needs aarch64"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try CLI.run(["bundle", "--target", "windows"]).status, 64)
        XCTAssertEqual(try CLI.run(["verify-bundle", "/no/such/bundle"]).status, 66)

        // --ffmpeg: a folder that does not exist, and one without the FFmpeg libraries the binary links.
        let lean = CLI.folder.appendingPathComponent("refused-lean.tar.gz").path
        let missing = try CLI.run(["bundle", "--target", "host", "--binary", CLI.binary.path, "--out", lean, "--ffmpeg", "/no/such/ffmpeg"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("/no/such/ffmpeg: no such folder"), missing.stderr)
        // Without --binary it is refused before anything is built.
        let checkout = URL(fileURLWithPath: Samples.video).deletingLastPathComponent().deletingLastPathComponent().path
        let unbuilt = try CLI.run(["bundle", "--target", "host", "--source", checkout, "--out", lean, "--ffmpeg", "/no/such/ffmpeg"])
        XCTAssertEqual(unbuilt.status, 66)
        XCTAssertTrue(unbuilt.stderr.contains("/no/such/ffmpeg: no such folder") && !unbuilt.stderr.contains("swift build"), unbuilt.stderr)
        let empty = CLI.folder.appendingPathComponent("empty-ffmpeg")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let incomplete = try CLI.run(["bundle", "--target", "host", "--binary", CLI.binary.path, "--out", lean, "--ffmpeg", empty.path])
        XCTAssertEqual(incomplete.status, 66)
        XCTAssertTrue(incomplete.stderr.contains("empty-ffmpeg/libav") && incomplete.stderr.contains("build-lean.sh"), incomplete.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lean))
    }

    /// A bundle with a lean FFmpeg in lib/ (Scripts/ffmpeg/build-lean.sh; Scripts/test.sh builds it and sets
    /// BITSPOT_LEAN_FFMPEG): the board needs no FFmpeg package, the unpacked bundle loads its own FFmpeg, and
    /// spotting the sample, a lavfi camera and --annotate work with it.
    func testHostBundleWithLeanFFmpeg() throws {
        guard let leanFFmpeg = ProcessInfo.processInfo.environment["BITSPOT_LEAN_FFMPEG"] else {
            throw XCTSkip("BITSPOT_LEAN_FFMPEG not set (Scripts/test.sh builds the lean FFmpeg and sets it)")
        }
        let out = CLI.folder.appendingPathComponent("host-lean.tar.gz").path
        try? FileManager.default.removeItem(atPath: out)
        let r = try CLI.run(["bundle", "--target", "host", "--binary", CLI.binary.path, "--out", out, "--ffmpeg", leanFFmpeg])
        XCTAssertEqual(r.status, 0, r.stderr)
        let packages = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("board packages:") })
        XCTAssertFalse(packages.contains("libav") || packages.contains("libsw"), String(packages))
        XCTAssertTrue(packages.contains("libfreetype6") && packages.contains("(FFmpeg bundled in lib/)"), String(packages))
        XCTAssertEqual(try CLI.run(["verify-bundle", out]).status, 0)

        let dir = CLI.folder.appendingPathComponent("board-lean")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        XCTAssertEqual(try Self.shell(["tar", "-xzf", out, "-C", dir.path]).status, 0)
        let top = dir.appendingPathComponent(try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir.path).first))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["ffmpeg"] as? String, "bundled")
        let run = top.appendingPathComponent("run.sh").path

        // The dynamic loader takes every FFmpeg library from the bundle's lib/ (LD_DEBUG names each library
        // it initialises, for the shell of run.sh and then for bitspot).
        let trace = try Self.shell([run, "--version"], environment: ["LD_DEBUG": "libs"])
        XCTAssertEqual(trace.status, 0, trace.stderr)
        let lib = top.appendingPathComponent("lib").path
        let initialised = trace.stderr.split(separator: "\n").filter { $0.contains("calling init:") }
        for name in ["libavcodec.so", "libavformat.so", "libavutil.so", "libswscale.so"] {
            let lines = initialised.filter { $0.contains("/" + name) }
            XCTAssertFalse(lines.isEmpty, "\(name) not loaded:\n\(initialised.joined(separator: "\n"))")
            XCTAssertTrue(lines.allSatisfy { $0.contains(lib + "/") }, lines.joined(separator: "\n"))
        }
        XCTAssertFalse(initialised.contains { $0.contains("libx264") || $0.contains("libx265") }, initialised.joined(separator: "\n"))

        // The same words from the sample's first frames as with the system's FFmpeg (the same binary).
        let bundled = try Self.shell([run, "spot", top.appendingPathComponent("Samples/sample.mp4").path, "--max-frames", "4", "--json"])
        XCTAssertEqual(bundled.status, 0, bundled.stderr)
        let system = try CLI.run(["spot", "--max-frames", "4", "--json"])
        XCTAssertEqual(system.status, 0, system.stderr)
        XCTAssertEqual(bundled.stdout, system.stdout)

        // A lavfi camera (libavdevice and libavfilter, opened at run time from lib/) and --annotate
        // (drawbox, drawtext; MPEG-4 Part 2, as the lean build has no libx264).
        let camera = try Self.shell([run, "spot", "lavfi:testsrc2=size=160x120:rate=5", "--max-frames", "3", "--json"])
        XCTAssertEqual(camera.status, 0, camera.stderr)
        let annotated = CLI.folder.appendingPathComponent("lean-annotated.mp4").path
        let annotate = try Self.shell([run, "spot", top.appendingPathComponent("Samples/sample.mp4").path, "--max-frames", "3",
                                       "--annotate", annotated])
        XCTAssertEqual(annotate.status, 0, annotate.stderr)
        let probe = try Self.shell([run, "probe", annotated])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        XCTAssertTrue(probe.stdout.contains("mpeg4"), probe.stdout)
    }

    /// Runs a program with a bare environment (PATH only, plus `environment`), from the temporary folder.
    private static func shell(_ args: [String], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(args, cwd: FileManager.default.temporaryDirectory, environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 },
                    executable: URL(fileURLWithPath: "/usr/bin/env"))
    }
}
