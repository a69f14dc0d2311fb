import _AllocationCounter
import BitKernels
import Foundation
import XCTest
@testable import BitNet

final class ExecutorTests: XCTestCase {
    func testEarlyExitStopsAndCountsSkippedWork() throws {
        let g = try GoldenTests.loadGolden("golden-a")
        let exec = try Executor(model: g.model, threads: 1)
        let image = g.tensors[0]!.bytes
        var seen: [String] = []
        var confidence: Float = -1
        let summary = image.withUnsafeBufferPointer { img in
            exec.run(image: img.baseAddress!) { head in
                seen.append(head.head.name)
                confidence = head.confidence
                return .stop
            }
        }
        XCTAssertEqual(seen, ["early"])
        XCTAssertEqual(summary.stoppedAtHead, 0)
        XCTAssertEqual(summary.nodesRun, 10)
        XCTAssertEqual(summary.nodesSkipped, g.model.nodes.count - 10)
        XCTAssertGreaterThan(summary.skipped.binaryMACs, 0)
        XCTAssertEqual(summary.done + summary.skipped, g.model.totalOpCount)
        XCTAssertTrue((0.5...1).contains(confidence), "two-class confidence \(confidence)")
        // The early head's values equal the golden ones.
        let expected = g.tensors[10]!.bytes
        let out = exec.realOutput(10)
        expected.withUnsafeBytes { raw in
            for j in 0..<out.count { XCTAssertEqual(out[j], raw.loadUnaligned(fromByteOffset: 4 * j, as: Float.self), accuracy: 1e-5) }
        }
    }

    func testStopAtNonExitHeadIsIgnored() throws {
        let g = try GoldenTests.loadGolden("golden-a")
        let exec = try Executor(model: g.model, threads: 1)
        var seen: [String] = []
        let summary = g.tensors[0]!.bytes.withUnsafeBufferPointer { img in
            exec.run(image: img.baseAddress!) { head in
                seen.append(head.head.name)
                return head.head.isExit ? .proceed : .stop
            }
        }
        XCTAssertEqual(seen, ["early", "side", "final"])
        XCTAssertNil(summary.stoppedAtHead)
        XCTAssertEqual(summary.nodesSkipped, 0)
        XCTAssertEqual(summary.skipped, OpCount())
    }

    func testConfidence() {
        let v: [Float] = [0, 0, 10, -10]
        v.withUnsafeBufferPointer { b in
            XCTAssertEqual(Executor.confidence(UnsafeBufferPointer(rebasing: b[0..<2]), channels: 2), 0.5, accuracy: 1e-6)
            XCTAssertEqual(Executor.confidence(UnsafeBufferPointer(rebasing: b[2..<4]), channels: 2), 1, accuracy: 1e-6)
            XCTAssertEqual(Executor.confidence(UnsafeBufferPointer(rebasing: b[2..<3]), channels: 1), 1, accuracy: 1e-4)
        }
    }

    /// Steady state allocates nothing: after a warm-up run, more runs (early exit or full, one or two
    /// threads) make no heap allocation at all, counted by the malloc interposer in _AllocationCounter.
    func testNoHeapAllocationPerFrame() throws {
        guard bitspot_alloc_count() >= 0 else { throw XCTSkip("allocation counter needs glibc and no sanitizer") }
        let g = try GoldenTests.loadGolden("golden-a")
        for threads in [1, 2] {
            let exec = try Executor(model: g.model, threads: threads)
            let image = UnsafeMutablePointer<UInt8>.allocate(capacity: g.model.input.count)
            defer { image.deallocate() }
            for (i, b) in g.tensors[0]!.bytes.enumerated() { image[i] = b }
            exec.run(image: image)
            var stops = 0
            bitspot_alloc_counting(1)
            for frame in 0..<20 {
                let s = exec.run(image: image) { _ in frame % 2 == 0 ? .stop : .proceed }
                if s.stoppedAtHead != nil { stops += 1 }
            }
            bitspot_alloc_counting(0)
            XCTAssertEqual(bitspot_alloc_count(), 0, "heap allocations in 20 frames with \(threads) thread(s)")
            XCTAssertEqual(stops, 10)
        }
    }
}
