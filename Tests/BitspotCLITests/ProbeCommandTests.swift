import Foundation
import XCTest

/// `bitspot probe`, end to end through the built binary.
final class ProbeCommandTests: XCTestCase {
    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testHelpListsCommandsAndExitCodes() throws {
        let r = try CLI.run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("probe"))
        XCTAssertTrue(r.stdout.contains("frames"))
        XCTAssertTrue(r.stdout.contains("Exit codes"))
        XCTAssertEqual(try CLI.run(["probe", "--help"]).status, 0)
    }

    func testProbeFileReportsEveryMode() throws {
        let r = try CLI.run(["probe", try CLI.testVideo(), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try json(r.stdout)
        let info = try XCTUnwrap(report["info"] as? [String: Any])
        XCTAssertEqual(info["codec"] as? String, "h264")
        XCTAssertEqual(info["width"] as? Int, 320)
        XCTAssertEqual(report["countedFrames"] as? Int, 50)
        let runs = try XCTUnwrap(report["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["mode"] as? String }, ["all", "all", "every:10", "fps:2", "keyframes"])
        XCTAssertEqual(runs[1]["size"] as? String, "640x360")
        XCTAssertEqual(runs[2]["delivered"] as? Int, 5)
        XCTAssertEqual(runs[3]["delivered"] as? Int, 4)
        XCTAssertEqual(runs[4]["decoded"] as? Int, 5)
        XCTAssertEqual(runs[4]["skippedUndecoded"] as? Int, 45)
    }

    func testProbeText() throws {
        let r = try CLI.run(["probe", try CLI.testVideo()])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("container  mpegts"))
        XCTAssertTrue(r.stdout.contains("keyframes"))
    }

    func testStandardInput() throws {
        let r = try CLI.run(["probe", "-", "--json"], stdin: try CLI.testVideo())
        XCTAssertEqual(r.status, 0, r.stderr)
        let runs = try XCTUnwrap(try json(r.stdout)["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 1, "standard input is decoded once")
        XCTAssertEqual(runs[0]["decoded"] as? Int, 50)
    }

    func testStandardInputClosedBeforeAnyData() throws {
        let r = try CLI.run(["probe", "-"], stdin: nil)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("bitspot: -: standard input") && r.stderr.contains("closed early"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testLavfiCamera() throws {
        let r = try CLI.run(["probe", "lavfi:testsrc2=size=320x240:rate=25", "--max-frames", "20", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let runs = try XCTUnwrap(try json(r.stdout)["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.first?["decoded"] as? Int, 20)
    }

    func testDefaultInputIsTheSample() throws {
        let r = try CLI.run(["probe", "--no-decode"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Samples/sample.mp4"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1280x720"))
    }

    func expectFailure(_ args: [String], status: Int32, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(fragment), r.stderr, file: file, line: line)
    }

    func testBadInputsExitCodes() throws {
        try expectFailure(["probe", "/no/such.mp4"], status: 66, "/no/such.mp4: no such file")
        try expectFailure(["probe", NSTemporaryDirectory()], status: 65, "is a directory")
        try expectFailure(["probe", "/dev/video97"], status: 66, "/dev/video97: no such camera")
        let notVideo = CLI.folder.appendingPathComponent("text.mp4").path
        try Data(String(repeating: "hello ", count: 500).utf8).write(to: URL(fileURLWithPath: notVideo))
        try expectFailure(["probe", notVideo], status: 65, "not a video")
        try expectFailure(["probe", try CLI.testVideo(), "--every", "0"], status: 64, "must be 1 or more")
        try expectFailure(["probe", try CLI.testVideo(), "--scaled-size", "big"], status: 64, "not a size")
    }
}
