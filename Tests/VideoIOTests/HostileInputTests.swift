import Foundation
import XCTest
@testable import VideoIO

/// Inputs built to hurt: absurd sizes in a header, a stream that changes resolution part-way, clocks
/// that go backwards. Each must give a clear error or decode sensibly; none may crash or hang.
final class HostileInputTests: XCTestCase {
    /// A 1-second MPEG-TS test pattern of `size` at 25 fps, optionally starting `offset` seconds later.
    func segment(_ name: String, size: String, offset: Double? = nil) throws -> String {
        let path = Fixtures.folder.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        var args = ["-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=25:duration=1",
                    "-c:v", "libx264", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p"]
        if let offset { args += ["-output_ts_offset", String(offset)] }
        try Fixtures.run("ffmpeg", args + [path])
        return path
    }

    /// The bytes of the files one after another (as `cat` joins recordings).
    func joined(_ name: String, _ parts: [String]) throws -> String {
        var data = Data()
        for p in parts { data.append(try Data(contentsOf: URL(fileURLWithPath: p))) }
        let out = Fixtures.folder.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: out))
        return out
    }

    func decodeAll(_ path: String, size: FrameSize? = nil) throws -> ([LumaFrame], SamplingCounters) {
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(size: size))
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        return (frames, source.counters)
    }

    func testResolutionChangePartWay() throws {
        let path = try joined("size-change.ts", [try segment("a320.ts", size: "320x240"),
                                                 try segment("b160-later.ts", size: "160x112", offset: 1)])
        let (frames, counters) = try decodeAll(path)
        XCTAssertEqual(frames.count, 50)
        XCTAssertEqual(frames.filter { $0.width == 320 && $0.height == 240 }.count, 25)
        XCTAssertEqual(frames.filter { $0.width == 160 && $0.height == 112 }.count, 25)
        for f in frames { XCTAssertEqual(f.pixels.count, f.width * f.height) }
        XCTAssertEqual(counters.timestampJumps, 0)
        // With a working size every frame comes out at that size.
        let (scaled, _) = try decodeAll(path, size: FrameSize(width: 64, height: 48))
        XCTAssertEqual(scaled.count, 50)
        XCTAssertTrue(scaled.allSatisfy { $0.width == 64 && $0.height == 48 && $0.pixels.count == 64 * 48 })
    }

    func testTimestampsGoingBackwardsAreContinued() throws {
        // Two recordings that both start at zero, joined: the clock jumps back by a second.
        let a = try segment("a320.ts", size: "320x240")
        let path = try joined("clock-back.ts", [a, a])
        let (frames, counters) = try decodeAll(path)
        XCTAssertEqual(frames.count, 50)
        XCTAssertEqual(counters.timestampJumps, 1)
        let times = frames.map(\.time)
        XCTAssertEqual(times, times.sorted(), "delivered times never go backwards")
        XCTAssertEqual(times[25] - times[24], 0.04, accuracy: 1e-6, "one frame step across the jump")
        XCTAssertEqual(times.last!, 49 * 0.04, accuracy: 1e-6)
        // Sampling by time still keeps about 5 frames a second on both sides of the jump.
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .rate(5)))
        var kept = 0
        while try source.next() != nil { kept += 1 }
        XCTAssertEqual(kept, 10)
    }

    func testAbsurdDimensionsInAHeader() throws {
        // YUV4MPEG2 headers are plain text: claim a 100000 x 100000 picture (10^10 pixels) and
        // 2^31-1 x 2 (overflows 32-bit sizes); a few bytes of "picture" follow.
        for (name, w, h) in [("huge.y4m", 100_000, 100_000), ("overflow.y4m", Int(Int32.max), 2), ("zero.y4m", 0, 240)] {
            var data = Data("YUV4MPEG2 W\(w) H\(h) F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
            data.append(Data(repeating: 128, count: 4096))
            let path = Fixtures.folder.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            do {
                let source = try VideoSource(input: InputSpec(path))
                var n = 0
                while try source.next() != nil { n += 1 }
                XCTAssertEqual(n, 0, "\(name): no frame can come out of 4 KB")
            } catch let e as VideoIOError {
                XCTAssertTrue(e.description.hasPrefix(path), "\(e)")
                XCTAssertFalse(e.description.contains("\n"))
                XCTAssertTrue([.inputInvalid, .unsupported, .readFailed].contains(e.category), "\(e)")
            }
        }
    }

    func testStallTimeoutMustBePositive() {
        XCTAssertThrowsError(try VideoSource(input: InputSpec(try Fixtures.mpegTS()), options: DecodeOptions(stallTimeout: 0))) { e in
            XCTAssertTrue("\(e)".contains("--input-timeout"), "\(e)")
        }
    }

    func testCancelEndsTheStream() throws {
        let source = try VideoSource(input: InputSpec(try Fixtures.mpegTS()))
        XCTAssertNotNil(try source.next())
        source.cancel()
        var more = 0
        while try source.next() != nil { more += 1 }
        XCTAssertLessThan(more, 49, "reading stops once cancelled (frames already decoded may still come)")
    }
}
