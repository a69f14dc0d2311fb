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
    }
}
