import Foundation
import XCTest
@testable import BitNet

/// The parser on damaged, truncated and hostile files: always a clear `.invalid` error, never a crash.
final class ModelFileTests: XCTestCase {
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: GoldenTests.fixture(name + ".bitnet")))
    }

    /// Rewrites the header's CRC so a mutation reaches the checks behind the checksum.
    static func fixCRC(_ b: inout [UInt8]) {
        let crc = b.withUnsafeBytes { ModelFile.crc32(UnsafeRawBufferPointer(rebasing: $0[64...])) }
        put32(&b, 32, crc)
    }

    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) }
    }

    static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
        for i in 0..<8 { b[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) }
    }

    static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) }
    }

    /// Offset of section `kind` (1 meta, 2 graph, 3 weights, 4 thresholds, 5 heads).
    static func section(_ b: [UInt8], _ kind: UInt32) -> Int {
        let n = Int(get32(b, 24))
        for i in 0..<n where get32(b, 64 + 32 * i) == kind { return Int(get32(b, 64 + 32 * i + 8)) }
        return -1
    }

    func expectInvalid(_ b: [UInt8], _ fragment: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try ModelFile.parse(b)
            XCTFail("accepted a bad file", file: file, line: line)
        } catch {
            XCTAssertEqual(error.category, .invalid, file: file, line: line)
            if let fragment {
                XCTAssertTrue(error.message.contains(fragment), "message: \(error.message)", file: file, line: line)
            }
        }
    }

    func testIntactFilesParse() throws {
        for name in ["golden-a", "golden-b"] {
            let m = try ModelFile.parse(try Self.bytes(name))
            XCTAssertGreaterThan(m.nodes.count, 5)
        }
    }

    func testMissingFile() {
        do {
            _ = try ModelFile.load(path: "/nonexistent/model.bitnet")
            XCTFail("loaded a missing file")
        } catch {
            XCTAssertEqual(error.category, .missing)
            XCTAssertTrue(error.description.hasPrefix("/nonexistent/model.bitnet: "))
        }
    }

    func testEveryTruncationIsRefused() throws {
        let b = try Self.bytes("golden-b")
        var lengths = Array(0..<min(700, b.count))
        lengths += Array(Swift.stride(from: 700, to: b.count, by: 97)) + [b.count - 1]
        for n in lengths { expectInvalid(Array(b[0..<n])) }
        // Truncated, with the header's size and CRC made consistent: the section table catches it.
        for n in [200, 1000, b.count / 2, b.count - 8] {
            var t = Array(b[0..<n])
            Self.put64(&t, 16, UInt64(n))
            Self.fixCRC(&t)
            expectInvalid(t)
        }
    }

    func testByteFlipsFailTheChecksum() throws {
        let b = try Self.bytes("golden-a")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var m = b
            let i = Int.random(in: 64..<b.count, using: &rng)
            m[i] ^= UInt8.random(in: 1...255, using: &rng)
            expectInvalid(m, "checksum mismatch")
        }
    }

    /// Random mutations of the table, graph and heads with a valid CRC: parsed or refused, never a crash.
    func testMutationsBehindTheChecksum() throws {
        for name in ["golden-a", "golden-b"] {
            let b = try Self.bytes(name)
            let graph = Self.section(b, 2), heads = Self.section(b, 5)
            let graphEnd = Self.section(b, 3)
            var rng = SplitMix(seed: 42)
            var refused = 0
            for trial in 0..<1500 {
                var m = b
                let region: Range<Int> = trial % 5 == 0 ? 0..<(64 + 32 * 5) : (trial % 5 == 1 ? heads..<min(b.count, heads + 124) : graph..<graphEnd)
                for _ in 0..<(1 + trial % 3) {
                    let i = region.lowerBound + Int(rng.next() % UInt64(region.count))
                    switch rng.next() % 4 {
                    case 0: m[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    case 1: m[i] = 0xFF
                    case 2: m[i] = 0
                    default: m[i] = m[i] &+ 1
                    }
                }
                Self.fixCRC(&m)
                do { _ = try ModelFile.parse(m) } catch {
                    XCTAssertEqual(error.category, .invalid)
                    XCTAssertFalse(error.message.isEmpty)
                    refused += 1
                }
            }
            XCTAssertGreaterThan(refused, 1000, name)
        }
    }

    func testHostileFields() throws {
        let b = try Self.bytes("golden-a")
        let graph = Self.section(b, 2)
        let node1 = graph + 16
        func mutate(_ f: (inout [UInt8]) -> Void) -> [UInt8] {
            var m = b
            f(&m)
            Self.fixCRC(&m)
            return m
        }
        expectInvalid(mutate { $0[0] = UInt8(ascii: "X") }, "bad magic")
        expectInvalid(mutate { $0[8] = 2 }, "unsupported format version 2")
        expectInvalid(mutate { Self.put32(&$0, graph + 12, 0xFFFF_FFFF) }, "node count")
        expectInvalid(mutate { Self.put32(&$0, graph + 12, 4000) }, "cannot fit")
        expectInvalid(mutate { Self.put32(&$0, graph, 1 << 30) }, "input shape")
        expectInvalid(mutate { Self.put32(&$0, node1 + 12, 100_000) }, "out of range")
        expectInvalid(mutate { Self.put32(&$0, node1 + 12, 15) }, "computed")
        expectInvalid(mutate { Self.put32(&$0, node1 + 52, 0xFFFF_FFFF) }, "parameters (at most 8)")
        expectInvalid(mutate { $0[node1] = 99 }, "unknown op 99")
        expectInvalid(mutate { Self.put32(&$0, node1 + 4, 5) }, "not an earlier node")
        // First parameter of node 1 (its weights): offset beyond the section, count too large.
        let param = node1 + 56
        expectInvalid(mutate { Self.put64(&$0, param + 16, UInt64.max) }, "out of range")
        expectInvalid(mutate { Self.put64(&$0, param + 16, 1 << 40) }, "lies outside")
        expectInvalid(mutate { Self.put32(&$0, param + 12, 0xFFFF_FFFF) }, "expected 144")
        expectInvalid(mutate { Self.put32(&$0, param + 4, 4) }, "type")
        // A section running past the end of the file, and one overlapping another.
        expectInvalid(mutate { Self.put64(&$0, 64 + 16, UInt64.max / 2) }, "outside the file")
        expectInvalid(mutate { Self.put64(&$0, 64 + 32 + 8, UInt64(Self.section(b, 1))) }, "overlaps")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
