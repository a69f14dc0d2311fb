import BitKernels
import Foundation
import XCTest
@testable import BitNet

/// The runtime against the numpy reference of Scripts/golden/make_golden.py, node by node.
final class GoldenTests: XCTestCase {
    struct Golden {
        var model: Model
        var path: String
        var tensors: [Int: (kind: String, shape: [Int], bytes: [UInt8])]
    }

    static func fixture(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func loadGolden(_ name: String, folder: URL? = nil) throws -> Golden {
        func file(_ n: String) -> URL { folder.map { $0.appendingPathComponent(n) } ?? fixture(n) }
        let path = file(name + ".bitnet").path
        let model = try ModelFile.load(path: path)
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: file(name + ".golden.json"))) as! [String: Any]
        let blob = [UInt8](try Data(contentsOf: file(name + ".golden.bin")))
        var tensors: [Int: (String, [Int], [UInt8])] = [:]
        for t in index["tensors"] as! [[String: Any]] {
            let off = t["offset"] as! Int, n = t["bytes"] as! Int
            tensors[t["node"] as! Int] = (t["kind"] as! String, t["shape"] as! [Int], Array(blob[off..<(off + n)]))
        }
        return Golden(model: model, path: path, tensors: tensors)
    }

    func check(_ name: String, tier: KernelTier, threads: Int, folder: URL? = nil) throws {
        let g = try Self.loadGolden(name, folder: folder)
        let exec = try Executor(model: g.model, tier: tier, threads: threads, keepAllOutputs: true)
        let image = g.tensors[0]!.bytes
        XCTAssertEqual(image.count, g.model.input.count)
        let summary = image.withUnsafeBufferPointer { exec.run(image: $0.baseAddress!) }
        XCTAssertNil(summary.stoppedAtHead)
        XCTAssertEqual(summary.nodesRun, g.model.nodes.count)
        // The second convolutions of fused two-base blocks are never written; the first's output checks them.
        for i in 1...g.model.nodes.count where !exec.elidedNodes.contains(i) {
            let (kind, shape, bytes) = g.tensors[i]!
            let s = g.model.shape(i)
            XCTAssertEqual([s.height, s.width, s.channels], shape, "\(name) node \(i) shape")
            if kind == "bits" {
                XCTAssertEqual(g.model.kind(i), .bits)
                let layout = exec.packedLayout(i)
                let packed = exec.bitsOutput(i)
                var mismatches = 0
                for y in 0..<s.height {
                    for x in 0..<s.width {
                        for c in 0..<s.channels {
                            let bit = (packed[layout.offset(y, x) + c / 64] >> UInt64(c % 64)) & 1
                            let expected = Int8(bitPattern: bytes[(y * s.width + x) * s.channels + c])
                            if (bit == 1 ? -1 : 1) != expected { mismatches += 1 }
                        }
                    }
                }
                XCTAssertEqual(mismatches, 0, "\(name) node \(i) (\(g.model.node(i).op.name)) bits, tier \(tier.rawValue)")
            } else {
                XCTAssertEqual(g.model.kind(i), .real)
                let out = exec.realOutput(i)
                var worst: Float = 0
                bytes.withUnsafeBytes { raw in
                    for j in 0..<s.count {
                        let e = raw.loadUnaligned(fromByteOffset: 4 * j, as: Float.self)
                        worst = max(worst, abs(out[j] - e) / max(1, abs(e)))
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1e-5, "\(name) node \(i) (\(g.model.node(i).op.name)) real, tier \(tier.rawValue)")
            }
        }
    }

    func testGoldenModelAEveryTier() throws {
        for tier in KernelSelector.available { try check("golden-a", tier: tier, threads: 1) }
    }

    func testGoldenModelBEveryTier() throws {
        for tier in KernelSelector.available { try check("golden-b", tier: tier, threads: 1) }
    }

    /// Widening shortcuts without a projection (the input's channels repeated through a channel map), in a
    /// one-base block and on the second conv of a two-base pair, which must still run fused.
    func testGoldenModelCRepeatedShortcutsEveryTier() throws {
        for tier in KernelSelector.available {
            try check("golden-c", tier: tier, threads: 1)
            try check("golden-c", tier: tier, threads: 2)
        }
        let g = try Self.loadGolden("golden-c")
        XCTAssertEqual(g.model.node(4).shortcutMap?.count, 40)
        XCTAssertEqual(g.model.node(7).shortcutMap?.map { Int($0) }, (0..<64).map { $0 % 40 })
        let exec = try Executor(model: g.model, tier: KernelSelector.available[0], threads: 1)
        XCTAssertEqual(exec.elidedNodes, [7])
    }

    func testGoldenWithTwoAndThreeThreads() throws {
        try check("golden-a", tier: KernelSelector.available[0], threads: 2)
        try check("golden-b", tier: KernelSelector.available[0], threads: 3)
    }

    /// Golden fixtures written elsewhere (e.g. by Scripts/train/export.py --golden PREFIX): set
    /// BITSPOT_GOLDEN=PREFIX[:PREFIX...] to check them on every tier. Skipped when unset.
    func testExternalGoldenFixtures() throws {
        guard let list = ProcessInfo.processInfo.environment["BITSPOT_GOLDEN"], !list.isEmpty else {
            throw XCTSkip("BITSPOT_GOLDEN not set")
        }
        for prefix in list.split(separator: ":") {
            let url = URL(fileURLWithPath: String(prefix))
            for tier in KernelSelector.available {
                try check(url.lastPathComponent, tier: tier, threads: 2, folder: url.deletingLastPathComponent())
            }
        }
    }

    func testSignPackAfterRealConvIsFused() throws {
        let g = try Self.loadGolden("golden-a")
        let exec = try Executor(model: g.model, threads: 1)
        XCTAssertEqual(exec.fusedNodes, [4], "node 4 packs node 3's output")
    }

    func testMetadataAndHeads() throws {
        let g = try Self.loadGolden("golden-a")
        XCTAssertEqual(g.model.heads.map(\.name), ["early", "side", "final"])
        XCTAssertEqual(g.model.heads.map(\.isExit), [true, false, false])
        let meta = try JSONSerialization.jsonObject(with: Data(g.model.metadata.utf8)) as! [String: Any]
        XCTAssertEqual(meta["name"] as? String, "golden-a")
        // The pruned stage: 40 kept of 48.
        XCTAssertEqual(g.model.node(5).originalChannels, 48)
        XCTAssertEqual(g.model.node(5).shape.channels, 40)
    }
}
