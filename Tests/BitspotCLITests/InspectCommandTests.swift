import Foundation
import XCTest

/// `bitspot inspect` and `bitspot bench kernels`, end to end through the built binary.
final class InspectCommandTests: XCTestCase {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BitNetTests/Fixtures/\(name)").path
    }

    func testInspectPrintsLayersPrunedChannelsExitsAndTotals() throws {
        let r = try CLI.run(["inspect", Self.fixture("golden-a.bitnet")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("binary_conv"), r.stdout)
        XCTAssertTrue(r.stdout.contains("40/48"), "pruned stage shows kept/total")
        XCTAssertTrue(r.stdout.contains("early (exit)"))
        XCTAssertTrue(r.stdout.contains("total"))
        XCTAssertTrue(r.stdout.contains("exit 0 'early' at node 10"))
        let j = try CLI.run(["inspect", "--json", Self.fixture("golden-b.bitnet")])
        XCTAssertEqual(j.status, 0, j.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 6)
        XCTAssertEqual(layers[1]["total_channels"] as? Int, 160)
        XCTAssertEqual(layers[1]["kept_channels"] as? Int, 130)
    }

    func testMissingModelExits66() throws {
        let r = try CLI.run(["inspect", "/nonexistent/none.bitnet"])
        XCTAssertEqual(r.status, 66)
        XCTAssertEqual(r.stderr, "bitspot: /nonexistent/none.bitnet: no such model file\n")
    }

    func testDamagedModelExits65WithOneLine() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("golden-a.bitnet")))
        let truncated = CLI.folder.appendingPathComponent("truncated.bitnet").path
        try data.prefix(1000).write(to: URL(fileURLWithPath: truncated))
        var r = try CLI.run(["inspect", truncated])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("bitspot: \(truncated): truncated"), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1)
        var flipped = [UInt8](data)
        flipped[5000] ^= 0x40
        let damaged = CLI.folder.appendingPathComponent("damaged.bitnet").path
        try Data(flipped).write(to: URL(fileURLWithPath: damaged))
        r = try CLI.run(["inspect", damaged])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("checksum mismatch"), r.stderr)
    }

    func testBenchKernelsJSONHasEveryStandardShape() throws {
        let r = try CLI.run(["bench", "kernels", "--json", "--repetitions", "1", "--standard-only"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, r.stdout)
        for line in lines {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertGreaterThan(o["gmacs_1t"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(o["roofline_fraction"] as? Double ?? 0, 0)
        }
    }
}
