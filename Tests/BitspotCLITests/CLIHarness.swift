import Foundation
import XCTest

/// Runs the built `bitspot` binary, as a user would, and captures what it prints.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        let candidates = [Bundle.main.bundleURL.appendingPathComponent("bitspot"),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bitspot")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Runs `bitspot ARGS` (or `executable ARGS`), feeding `stdin` (a file path, or nil for an empty standard input).
    static func run(_ args: [String], stdin: String? = nil, cwd: URL? = nil, environment: [String: String]? = nil,
                    executable: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = executable ?? binary
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        if let environment { p.environment = environment }
        // Output goes to files, so a large output can never block the process on a full pipe.
        let outURL = folder.appendingPathComponent("out-\(UUID().uuidString)")
        let errURL = folder.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        if let stdin {
            p.standardInput = FileHandle(forReadingAtPath: stdin)
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-cli-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// A 2-second 320x240 MPEG-TS test video (50 frames at 25 fps, key frame every 10), made with ffmpeg.
    static func testVideo() throws -> String {
        let path = folder.appendingPathComponent("clip.ts").path
        if FileManager.default.fileExists(atPath: path) { return path }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
                       "-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-pix_fmt", "yuv420p", path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg made the test video")
        return path
    }
}
