import Foundation
import XCTest

/// Small test videos made on demand with the ffmpeg command-line tool, cached for the test run.
enum Fixtures {
    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-videoio-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Runs ffmpeg (or ffprobe) and returns its standard output; fails the test on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool, "-hide_banner", "-loglevel", "error"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "fixture", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args) failed"]) }
        return String(decoding: data, as: UTF8.self)
    }

    /// A 2-second 320x240 test pattern at 25 fps (50 frames), key frame every 10 frames, in the given container/codec.
    static func video(_ name: String, seconds: Int = 2, codecArgs: [String]) throws -> String {
        let path = folder.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        try run("ffmpeg", ["-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=\(seconds)"] + codecArgs + [path])
        return path
    }

    static func mp4() throws -> String {
        try video("h264.mp4", codecArgs: ["-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p"])
    }
    static func mkvVP9() throws -> String {
        try video("vp9.mkv", codecArgs: ["-c:v", "libvpx-vp9", "-g", "10", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"])
    }
    static func webmVP8() throws -> String {
        try video("vp8.webm", codecArgs: ["-c:v", "libvpx", "-g", "10", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"])
    }
    static func aviMJPEG() throws -> String {
        try video("mjpeg.avi", codecArgs: ["-c:v", "mjpeg", "-q:v", "5"])
    }
    static func mpegTS() throws -> String {
        try video("h264.ts", codecArgs: ["-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p"])
    }
    /// MPEG-TS with B-frames, so decode order differs from presentation order.
    static func mpegTSWithBFrames() throws -> String {
        try video("h264-b.ts", codecArgs: ["-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p"])
    }
    /// 4 s (100 frames) of H.264 with 3 B-frames in pyramids, the middle one a reference: with `ref=1`
    /// the P-frames reference only the I- or P-frame before them, so leaving every B-frame out changes
    /// no I- or P-picture; with `ref=3` (x264's default) they also reference the B-frames.
    static func h264BPyramid(refs: Int) throws -> String {
        try video("h264-bpyramid-ref\(refs).mp4", seconds: 4, codecArgs: [
            "-c:v", "libx264", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "3",
            "-x264-params", "ref=\(refs):b-pyramid=normal:b-adapt=0", "-pix_fmt", "yuv420p"])
    }

    /// 4 s (100 frames) of H.264 with B-frames and key frames only at frames 0, 37 and 88: at one frame
    /// a second, slots 0, 1 and 3 hold a key frame and slot 2 (frames 50-74) none.
    static func h264SparseKeyFrames() throws -> String {
        try video("h264-keys-0-37-88.mp4", seconds: 4, codecArgs: [
            "-c:v", "libx264", "-g", "1000", "-sc_threshold", "0", "-bf", "2",
            "-force_key_frames", "expr:eq(n,0)+eq(n,37)+eq(n,88)", "-pix_fmt", "yuv420p"])
    }

    /// 6 s (150 frames) of H.264 in B-pyramids with `ref=1` (B-frames can all be left out) and key
    /// frames only at frames 0, 70 and 110.
    static func h264BPyramidSparseKeyFrames() throws -> String {
        try video("h264-bpyramid-keys-0-70-110.mp4", seconds: 6, codecArgs: [
            "-c:v", "libx264", "-g", "1000", "-sc_threshold", "0", "-bf", "3",
            "-x264-params", "ref=1:b-pyramid=normal:b-adapt=0",
            "-force_key_frames", "expr:eq(n,0)+eq(n,70)+eq(n,110)", "-pix_fmt", "yuv420p"])
    }

    /// Times (seconds from the first frame) of the key frames, as ffprobe sees them.
    static func keyFrameTimes(_ path: String) throws -> [Double] {
        let csv = try run("ffprobe", ["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path])
        var rows: [(Double, Bool)] = []
        for line in csv.split(separator: "\n") {
            let parts = line.split(separator: ",")
            guard parts.count >= 2, let t = Double(parts[0]) else { continue }
            rows.append((t, parts[1].contains("K")))
        }
        let start = rows.map(\.0).min() ?? 0
        return rows.filter(\.1).map { $0.0 - start }.sorted()
    }

    /// A copy of `path` with bytes changed by `edit`.
    static func mutated(_ path: String, name: String, edit: (inout Data) -> Void) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        edit(&data)
        let out = folder.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: out))
        return out
    }
}
