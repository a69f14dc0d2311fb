import _AllocationCounter
import BitKernels
import Foundation
import XCTest
@testable import BitNet

/// Two-base blocks run fused (`Executor(fuseBases:)`): the shipped recogniser (two bases in every block) and
/// the mixed detector candidate (two bases in blocks 0-2, narrow layers on packed patches, tile regions after
/// its exit) give the same bits and floats fused and unfused, on every tier and thread count.
final class TwoBaseExecutorTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func load(_ path: String) throws -> Model {
        try ModelFile.load(path: root.appendingPathComponent(path).path)
    }

    /// A deterministic image: texture, and dark strokes in a few blocks (some text-like tiles).
    static func image(_ m: Model) -> [UInt8] {
        let w = m.input.width, h = m.input.height
        return (0..<(w * h)).map { k in
            let x = k % w, y = k / w
            var v = 160 + (x * 7 + y * 13) % 23
            if (x / 40 + y / 12) % 3 == 0, x % 7 < 2 || y % 12 < 2 { v = 35 }
            return UInt8(v)
        }
    }

    /// Every node output that both executors write, compared bit for bit.
    func compare(_ model: Model, tiers: [KernelTier], threads: [Int], region: TileRegion? = nil, file: StaticString = #filePath,
                 line: UInt = #line) throws {
        let img = Self.image(model)
        for tier in tiers {
            for t in threads {
                let plain = try Executor(model: model, tier: tier, threads: t, keepAllOutputs: true, fuseBases: false)
                let fused = try Executor(model: model, tier: tier, threads: t, keepAllOutputs: true)
                XCTAssertTrue(plain.elidedNodes.isEmpty)
                XCTAssertFalse(fused.elidedNodes.isEmpty, "no two-base block fused", file: file, line: line)
                let policy: (HeadOutput) -> ExitDecision = { h in
                    if let r = region, h.head.isExit { return .restrict(r) }
                    return .proceed
                }
                let a = img.withUnsafeBufferPointer { plain.run(image: $0.baseAddress!, policy: policy) }
                let b = img.withUnsafeBufferPointer { fused.run(image: $0.baseAddress!, policy: policy) }
                XCTAssertEqual(a, b, "summaries, \(tier) \(t)", file: file, line: line)
                if region != nil { XCTAssertNotNil(b.restrictedAtHead, file: file, line: line) }
                for i in 1...model.nodes.count where !fused.elidedNodes.contains(i) {
                    let label = "node \(i) (\(model.node(i).op.name)), \(tier), \(t) thread(s)"
                    if model.kind(i) == .bits {
                        XCTAssertEqual(Array(plain.bitsOutput(i)), Array(fused.bitsOutput(i)), label, file: file, line: line)
                    } else if region == nil || i == model.nodes.count || model.heads.contains(where: { $0.node == i }) {
                        // (With a region, intermediate cells outside it are stale in both: compare the outputs.)
                        XCTAssertEqual(plain.realOutput(i).map(\.bitPattern), fused.realOutput(i).map(\.bitPattern), label,
                                       file: file, line: line)
                    }
                }
            }
        }
    }

    func testRecognizerFusedEqualsUnfused() throws {
        let model = try Self.load("Models/recognizer.bitnet")
        let fused = try Executor(model: model, threads: 1)
        let pairs = Executor.twoBasePairs(model, heads: Set(model.heads.map(\.node)))
        XCTAssertEqual(fused.elidedNodes, pairs.values.sorted())
        XCTAssertGreaterThanOrEqual(pairs.count, 6, "every recogniser block has two bases")
        try compare(model.withInput(height: 32, width: 96), tiers: KernelSelector.available, threads: [1, 2])
    }

    func testMixedDetectorFusedEqualsUnfused() throws {
        let model = try Self.load("Models/candidates/detector-mixed-s19.bitnet").withInput(height: 90, width: 160)
        let pairs = Executor.twoBasePairs(model, heads: Set(model.heads.map(\.node)))
        XCTAssertEqual(pairs.count, 3, "blocks 0-2 have two bases")
        let fast = KernelSelector.available.filter { $0 != .reference }
        try compare(model, tiers: fast, threads: [1, 3])
        try compare(model, tiers: fast, threads: [2], region: TileRegion(threshold: 0.5))
        try compare(model, tiers: [.reference], threads: [1])
    }

    /// A one-base model has nothing to fuse.
    func testOneBaseDetectorHasNoPairs() throws {
        let model = try Self.load("Models/detector.bitnet")
        XCTAssertTrue(Executor.twoBasePairs(model, heads: Set(model.heads.map(\.node))).isEmpty)
    }

    func testFusedRunsAllocateNothing() throws {
        guard bitspot_alloc_count() >= 0 else { throw XCTSkip("allocation counter needs glibc and no sanitizer") }
        let model = try Self.load("Models/recognizer.bitnet")
        let img = Self.image(model)
        for threads in [1, 2] {
            let exec = try Executor(model: model, threads: threads)
            img.withUnsafeBufferPointer { _ = exec.run(image: $0.baseAddress!) }
            bitspot_alloc_counting(1)
            for _ in 0..<5 { img.withUnsafeBufferPointer { _ = exec.run(image: $0.baseAddress!) } }
            bitspot_alloc_counting(0)
            XCTAssertEqual(bitspot_alloc_count(), 0, "\(threads) thread(s)")
        }
    }
}
