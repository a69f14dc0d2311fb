import XCTest
@testable import Energy

/// A synthetic pipeline: what a frame costs under given knobs, with no clock involved.
struct SyntheticWorkload {
    /// Joules to decode any frame, and to run the network on a processed frame.
    var decode = 0.004
    var network = 0.100
    /// Share of frames the change gate keeps at threshold g (a static scene: most frames barely change).
    func gatePass(_ g: Double) -> Double { max(0.15, 1 - g / 20) }
    /// Share of the network's work left after early exits at threshold t (lower t: more exits).
    func exitWork(_ t: Double) -> Double { 0.3 + 0.7 * (t - 0.5) / 0.49 }

    /// Frame i under the knobs: deterministic (the gate keeps frames by a low-discrepancy sequence).
    func frame(_ i: Int, _ k: Knobs) -> FrameObservation {
        let strided = k.stride > 1 && i % k.stride != 0
        let u = (Double(i) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1)
        let processed = !strided && u < gatePass(k.gateThreshold)
        let work = k.exitThresholds.first.map(exitWork) ?? 1
        let joules = decode + (processed ? network * work : 0.0005)
        return FrameObservation(index: i, time: Double(i) / 30, processed: processed, latency: joules * 10, joules: joules,
                                droppableJoules: joules - decode)
    }
}

final class ControllerTests: XCTestCase {
    func run(_ budget: String, frames: Int, initial: Knobs = Knobs(stride: 1, gateThreshold: 0, exitThresholds: [0.9])) throws
        -> (AdaptiveController, [FrameObservation]) {
        let w = SyntheticWorkload()
        let c = AdaptiveController(budget: try Budget(parsing: budget), initial: initial, window: 30)
        var seen: [FrameObservation] = []
        for i in 0..<frames {
            let f = w.frame(i, c.knobs)
            seen.append(f)
            _ = c.observe(f)
        }
        return (c, seen)
    }

    func testConvergesWithinEnergyBudgetAndSettles() throws {
        // Untouched, a frame costs about 4 + 100 x 0.81 = 85 mJ; the budget is 30 mJ.
        let (c, frames) = try run("energy=30mJ/frame", frames: 3000)
        let tail = frames.suffix(600)
        let mean = tail.reduce(0) { $0 + $1.joules } / Double(tail.count)
        XCTAssertLessThanOrEqual(mean, 0.030, "within budget at the end")
        XCTAssertGreaterThan(mean, 0.030 * 0.6, "not tightened more than needed")
        XCTAssertEqual(c.knobs.exitThresholds, [0.5], "early exits are used before dropping frames")
        XCTAssertTrue(c.decisions.allSatisfy { $0.frame < 2400 }, "no decisions in the last 600 frames: \(c.decisions.suffix(3))")
        XCTAssertLessThan(c.decisions.count, 30, "no oscillation")
        XCTAssertGreaterThan(tail.filter(\.processed).count, 0)
        // The first knob moved is the early-exit threshold, and it moved while over budget.
        XCTAssertEqual(c.decisions.first?.knob, "exit")
        XCTAssertGreaterThan(c.decisions.first!.pressure, 1)
    }

    func testRelaxesWhenTheBudgetIsLoose() throws {
        let (c, _) = try run("energy=500mJ/frame", frames: 600, initial: Knobs(stride: 4, gateThreshold: 10, exitThresholds: [0.9]))
        // Relaxing never goes past the starting point, and a loose budget leaves the knobs at rest.
        XCTAssertEqual(c.knobs, c.initial)
        XCTAssertTrue(c.decisions.isEmpty)
        // Tightened under a strict budget, then relaxed back toward the start when it is lifted.
        let w = SyntheticWorkload()
        let strict = AdaptiveController(budget: try Budget(parsing: "energy=20mJ/frame"), initial: Knobs(exitThresholds: [0.9]), window: 30)
        for i in 0..<2000 { _ = strict.observe(w.frame(i, strict.knobs)) }
        XCTAssertGreaterThan(strict.knobs.stride + Int(strict.knobs.gateThreshold), 1)
        let loose = AdaptiveController(budget: try Budget(parsing: "energy=200mJ/frame"), initial: Knobs(exitThresholds: [0.9]), window: 30)
        // Start the loose one where the strict one ended (as after a budget change).
        var k = strict.knobs
        for i in 0..<3000 {
            let f = w.frame(i, k)
            if let n = loose.observeFrom(k, f) { k = n }
        }
        XCTAssertEqual(k, Knobs(exitThresholds: [0.9]))
    }

    func testDoesNotDropFramesWhenOnlyDecodingCosts() throws {
        // Every joule is spent decoding: dropping frames at the gate would save nothing.
        let c = AdaptiveController(budget: try Budget(parsing: "energy=1mJ/frame"), initial: Knobs(), window: 10)
        for i in 0..<200 {
            _ = c.observe(FrameObservation(index: i, time: Double(i), processed: true, latency: 0.01, joules: 0.004, droppableJoules: 0))
        }
        XCTAssertEqual(c.knobs, Knobs())
        XCTAssertEqual(c.decisions.map(\.action), ["stuck"], "said once")
    }

    func testLatencyOnlyMovesEarlyExits() throws {
        let (c, _) = try run("p95=0.5s", frames: 900)
        XCTAssertTrue(c.decisions.allSatisfy { $0.knob == "exit" })
        XCTAssertEqual(c.knobs.stride, 1)
        XCTAssertEqual(c.knobs.gateThreshold, 0)
    }
}

extension AdaptiveController {
    /// Test helper: observe a frame made under knobs `k` that may differ from the controller's own.
    func observeFrom(_ k: Knobs, _ f: FrameObservation) -> Knobs? {
        setKnobs(k)
        return observe(f)
    }
}
