import Foundation
import XCTest

/// Live inputs that go away (a stream whose sender stops, stalls or comes back) and signals that
/// end a run: real ffmpeg senders over TCP on the loopback interface, the built binary, real signals.
final class LostInputTests: XCTestCase {
    /// The ffmpeg command of a sender: `seconds` of a test pattern at 10 fps in real time as MPEG-TS,
    /// served to one client on `port`.
    static func senderArguments(port: Int, seconds: Int) -> [String] {
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=10", "-t", "\(seconds)", "-c:v", "mpeg2video",
         "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"]
    }

    /// Starts `senders` one after another (each starts when the one before has ended).
    static func senders(port: Int, seconds: [Int]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", seconds.map { senderArguments(port: port, seconds: $0).map { "'\($0)'" }.joined(separator: " ") }.joined(separator: "; ")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func sender(port: Int, seconds: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = senderArguments(port: port, seconds: seconds)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func freePort() -> Int { Int.random(in: 20_000..<60_000) }

    /// Starts `bitspot ARGS` with standard error captured to a file.
    func startBitspot(_ args: [String]) throws -> (Process, URL) {
        let err = CLI.folder.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        return (p, err)
    }

    /// Waits until the temporary file of `--jsonl name` has lines in it.
    func waitUntilWriting(_ name: String, timeout: Double = 120) -> Bool {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: CLI.folder.path))?.first { $0.hasPrefix(".\(stem).partial") }
            if let partial, let size = try? FileManager.default.attributesOfItem(atPath: CLI.folder.appendingPathComponent(partial).path)[.size] as? Int,
               size > 0 { return true }
        }
        return false
    }

    /// Waits for `p` to end within `timeout` seconds; kills it (and fails) otherwise.
    func waitForExit(_ p: Process, timeout: Double, file: StaticString = #filePath, line: UInt = #line) -> Double {
        let start = Date()
        while p.isRunning && Date().timeIntervalSince(start) < timeout { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning {
            XCTFail("bitspot did not end within \(timeout) s", file: file, line: line)
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
        return Date().timeIntervalSince(start)
    }

    /// Every line of a JSON-lines file parses; returns the frame lines' times.
    func frameTimes(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Double] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "the file ends with a whole line", file: file, line: line)
        var times: [Double] = []
        for l in text.split(separator: "\n") {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], file: file, line: line)
            if o["type"] as? String == "frame" { times.append(try XCTUnwrap(o["time"] as? Double)) }
        }
        return times
    }

    func testReconnectsWhenTheStreamComesBackAndEndsCleanlyWhenItDoesNot() throws {
        let port = Self.freePort()
        let name = "reconnect-\(port).jsonl"
        let out = CLI.folder.appendingPathComponent(name).path
        // Sender A for 3 s, then sender B on the same port for 3 s: the stream is lost for a moment.
        let senders = try Self.senders(port: port, seconds: [3, 3])
        defer { senders.terminate(); senders.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)
        let (p, errURL) = try startBitspot(["spot", "tcp://127.0.0.1:\(port)", "--models", SpotCommandTests.models,
                                            "--every", "5", "--reconnect", "2", "--jsonl", out])
        _ = waitForExit(p, timeout: 240)
        let err = try String(contentsOf: errURL, encoding: .utf8)
        // B ended too and the two tries after it (1 s and 3 s later) were refused: the run ends, keeping what it found.
        XCTAssertEqual(p.terminationStatus, 74, err)
        XCTAssertTrue(err.contains("input lost after frame"), err)
        XCTAssertTrue(err.contains("reconnected after"), err)
        XCTAssertTrue(err.contains("the results up to then were written"), err)
        let times = try frameTimes(out)
        XCTAssertGreaterThan(times.count, 1)
        XCTAssertEqual(times, times.sorted(), "times go on across the reconnection")
        XCTAssertGreaterThan(times.last!, 3, "frames from the second sender come after the first's")
    }

    /// A sender serving a long stream, `spot` reading it (`--input-timeout timeout`), and, once spot is
    /// writing lines, the sender stopped (SIGSTOP): no data and no end of stream. The caller kills the sender.
    func spotOnAStreamThatStalls(_ stem: String, timeout: Int) throws -> (spot: Process, err: URL, out: String, sender: Process, port: Int) {
        let port = Self.freePort()
        let name = "\(stem)-\(port).jsonl"
        let out = CLI.folder.appendingPathComponent(name).path
        let s = try Self.sender(port: port, seconds: 120)
        Thread.sleep(forTimeInterval: 0.5)
        let (p, errURL) = try startBitspot(["spot", "tcp://127.0.0.1:\(port)", "--models", SpotCommandTests.models,
                                            "--every", "5", "--input-timeout", "\(timeout)", "--jsonl", out])
        XCTAssertTrue(waitUntilWriting(name), "spot was writing lines")
        kill(s.processIdentifier, SIGSTOP)
        return (p, errURL, out, s, port)
    }

    func testStalledStreamTimesOutKeepingTheResults() throws {
        let (p, errURL, out, s, _) = try spotOnAStreamThatStalls("stall", timeout: 1)
        defer { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        _ = waitForExit(p, timeout: 60)
        let err = try String(contentsOf: errURL, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 74, err)
        XCTAssertTrue(err.contains("no data for 1 s"), err)
        XCTAssertGreaterThan(try frameTimes(out).count, 0)
    }

    func testSIGTERMEndsARunBlockedOnASilentStream() throws {
        let (p, errURL, out, s, port) = try spotOnAStreamThatStalls("term", timeout: 600)
        defer { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        Thread.sleep(forTimeInterval: 1)     // bitspot now waits in a read that would last 600 s
        kill(p.processIdentifier, SIGTERM)
        let took = waitForExit(p, timeout: 30)
        let err = try String(contentsOf: errURL, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 130, err)
        XCTAssertLessThan(took, 30)
        XCTAssertGreaterThan(try frameTimes(out).count, 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: CLI.folder.path).filter { $0.hasPrefix(".term-\(port).partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testSIGKILLNeverLeavesATruncatedFile() throws {
        let name = "killed-\(UUID().uuidString).jsonl"
        let out = CLI.folder.appendingPathComponent(name).path
        let (p, _) = try startBitspot(["spot", "lavfi:testsrc2=size=320x240:rate=25", "--models", SpotCommandTests.models, "--jsonl", out])
        XCTAssertTrue(waitUntilWriting(name), "spot was writing lines")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "only the temporary file existed; the result never appears half-written")
        for f in try FileManager.default.contentsOfDirectory(atPath: CLI.folder.path) where f.hasPrefix(".\(URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent).partial") {
            try FileManager.default.removeItem(atPath: CLI.folder.appendingPathComponent(f).path)
        }
    }
}
