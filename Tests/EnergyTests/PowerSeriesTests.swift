import XCTest
@testable import Energy

final class PowerSeriesTests: XCTestCase {
    func testTrapezoidsAndHolding() {
        let s = PowerSeries(times: [0, 1, 2], watts: [2, 4, 4])
        XCTAssertEqual(s.energy(upTo: 1), 3, accuracy: 1e-12)
        XCTAssertEqual(s.energy(upTo: 2), 7, accuracy: 1e-12)
        XCTAssertEqual(s.energy(upTo: 0.5), 0.5 * (2 + 3) / 2, accuracy: 1e-12)
        // Held flat outside the samples.
        XCTAssertEqual(s.energy(from: 2, to: 3), 4, accuracy: 1e-12)
        XCTAssertEqual(s.energy(from: -1, to: 0), 2, accuracy: 1e-12)
        XCTAssertEqual(s.coverage(from: 1, to: 3), 0.5, accuracy: 1e-12)
    }

    func testIgnoresOutOfOrderAndNonFinite() {
        var s = PowerSeries()
        s.append(time: 1, watts: 1)
        s.append(time: 0.5, watts: 9)
        s.append(time: 2, watts: .nan)
        XCTAssertEqual(s.count, 1)
    }
}
