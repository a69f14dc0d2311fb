import XCTest
@testable import BitNet

final class WorkerPoolTests: XCTestCase {
    /// Many short runs back to back (spinning hand-off) and with pauses (sleeping hand-off): every part
    /// runs exactly once per run.
    func testEveryPartRunsOncePerRun() {
        for threads in [1, 2, 3, 4] {
            let pool = WorkerPool(threads: threads)
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            defer { counts.deallocate() }
            counts.initialize(repeating: 0, count: 64)
            for run in 0..<600 {
                pool.parallelFor(10) { range in
                    for i in range { counts[i] += 1 }
                }
                if run % 200 == 199 { usleep(2000) }
            }
            for i in 0..<10 { XCTAssertEqual(counts[i], 600, "threads \(threads), index \(i)") }
        }
    }
}
