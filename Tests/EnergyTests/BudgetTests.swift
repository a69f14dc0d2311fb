import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Energy

final class BudgetTests: XCTestCase {
    func testParsesUnits() throws {
        let b = try Budget(parsing: "p95=60ms, p99=0.1s,max=250000us,energy=80mJ/frame,total=2Wh")
        XCTAssertEqual(b.items.map(\.key), ["p95", "p99", "max", "energy", "total"])
        XCTAssertEqual(b.items[0].limit, 0.060, accuracy: 1e-12)
        XCTAssertEqual(b.items[1].limit, 0.1, accuracy: 1e-12)
        XCTAssertEqual(b.items[2].limit, 0.25, accuracy: 1e-12)
        XCTAssertEqual(b.items[3].kind, .energyPerFrame)
        XCTAssertEqual(b.items[3].limit, 0.080, accuracy: 1e-12)
        XCTAssertEqual(b.items[4].limit, 7200, accuracy: 1e-9)
        let c = try Budget(parsing: "energy=1.5J/processed,total=500mWh")
        XCTAssertEqual(c.items[0].kind, .energyPerProcessedFrame)
        XCTAssertEqual(c.items[0].limit, 1.5)
        XCTAssertEqual(c.items[1].limit, 1800, accuracy: 1e-9)
        XCTAssertEqual(try Budget(parsing: "energy=250uJ/frame").items[0].limit, 250e-6, accuracy: 1e-15)
        XCTAssertEqual(try Budget(parsing: "total=3e2J").items[0].limit, 300)
    }

    func testErrorsNameTheItem() {
        let cases: [(String, String)] = [
            ("p95=60", "needs a unit"),
            ("p95=60mJ", "not a latency unit"),
            ("p96=60ms", "unknown key"),
            ("energy=80mJ", "per frame"),
            ("energy=80mW/frame", "not a per-frame energy unit"),
            ("energy=80mJ/second", "per 'frame'"),
            ("total=2W", "not an energy unit"),
            ("total=", "KEY=VALUE"),
            ("p95=-5ms", "positive number, got -5"),
            ("p95=0ms", "positive"),
            ("p95=fastms", "does not start with a number"),
            ("p95=60ms,,total=2Wh", "empty item"),
            ("p95=60ms,p95=70ms", "given twice"),
            ("p95", "KEY=VALUE"),
        ]
        for (text, why) in cases {
            XCTAssertEnergyError(.badRequest, try Budget(parsing: text), contains: why)
        }
        XCTAssertEnergyError(.badRequest, try Budget(parsing: "p95=60ms,energy=8 0mJ/frame"), contains: "energy=8 0mJ/frame")
    }

    /// Caught by the fuzz-config invariant (Fuzz/) on hand-made inputs: a positive number that overflows or
    /// underflows once scaled gave an infinite limit (always met) or a zero one (always missed).
    func testLimitOutOfRangeAfterConversion() {
        for text in ["total=1e308Wh", "total=1e306kJ", "p95=1e-320us", "energy=4e-320uJ/processed"] {
            XCTAssertEnergyError(.badRequest, try Budget(parsing: text), contains: "out of range")
        }
        XCTAssertEqual(try Budget(parsing: "total=1e300Wh").items[0].limit, 3.6e303, accuracy: 1e290)
    }

    func testBudgetFile() throws {
        let t = FakeTree()
        t.write("/budget.txt", "# deployment gate for the Pi 4\np95=60ms   # latency\n\nenergy=80mJ/frame, total=2Wh\n")
        let b = try Budget(file: t.path + "/budget.txt")
        XCTAssertEqual(b.items.count, 3)
        t.write("/bad.txt", "p95=60ms\nenergy=80/frame\n")
        XCTAssertEnergyError(.badRequest, try Budget(file: t.path + "/bad.txt"), contains: "bad.txt:2")
        t.write("/empty.txt", "# nothing\n")
        XCTAssertEnergyError(.badRequest, try Budget(file: t.path + "/empty.txt"), contains: "names no item")
        XCTAssertEnergyError(.missing, try Budget(file: t.path + "/none.txt"))
    }
}

final class AccountantTests: XCTestCase {
    /// A meter whose counter advances by a set amount per read, to check attribution without timing.
    final class StepMeter: EnergyMeter {
        let name = "step"
        let detail = "test"
        let caveats: [String] = []
        var joules = 0.0
        var step = 0.001
        func start() throws { joules = 0 }
        func read(at now: Double) throws -> Double? { joules += step; return joules }
        func stop() throws {}
        func cumulative(at time: Double) -> Double? { nil }
    }

    func testStagesFramesAndReport() throws {
        let meter = StepMeter()
        let acct = Accountant(stages: ["decode", "gate", "detect"], meter: meter, profile: .pi4b)
        try acct.start()
        let decode = acct.stage("decode"), gate = acct.stage("gate"), detect = acct.stage("detect")
        for i in 0..<10 {
            acct.measure(decode) { _ = (0..<1000).reduce(0, +) }
            let keep = acct.measure(gate) { i % 2 == 0 }
            if keep {
                acct.measure(detect) { () }
                acct.count(detect, i % 4 == 0 ? "exit:1" : "full")
                acct.addOps(detect, OpCounts(intAdds: 1e6))
            }
            acct.endFrame(index: i, time: Double(i) / 30, processed: keep)
        }
        let report = try acct.finish().report(tool: "test", input: "synthetic")
        XCTAssertEqual(report.run.frames, 10)
        XCTAssertEqual(report.run.processedFrames, 5)
        XCTAssertEqual(report.stages.map(\.calls), [10, 10, 5])
        XCTAssertEqual(report.stages[2].counters, ["exit:1": 3, "full": 2])
        // Each measured stage call spans exactly one step of the meter (read before and after).
        XCTAssertEqual(try XCTUnwrap(report.stages[0].joules.measured), 10 * 0.001, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report.stages[2].joules.measured), 5 * 0.001, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report.stages[2].opCountJoules), 5e6 * 0.1e-12, accuracy: 1e-18)
        XCTAssertEqual(report.meter.provenance, .measured)
        XCTAssertEqual(report.run.millijoulesPerFrame.primary, try XCTUnwrap(report.run.joules.measured) * 100, accuracy: 1e-9)
        XCTAssertGreaterThan(report.run.joules.modelled, 0)
        XCTAssertEqual(report.frames.count, 10)
        XCTAssertEqual(report.frames[1].stageMillijoules[2], 0)
        // Budgets are checked against the measured column.
        let verdicts = try Budget(parsing: "energy=1mJ/frame,p95=10s").check(report)
        XCTAssertFalse(verdicts.verdicts[0].met)
        XCTAssertEqual(verdicts.verdicts[0].provenance, .measured)
        XCTAssertTrue(verdicts.verdicts[1].met)
        XCTAssertFalse(verdicts.met)
    }

    func testModelledOnlyAndReportsParse() throws {
        let acct = Accountant(stages: ["decode", "gate"], meter: nil, profile: .pi3bPlus)
        try acct.start()
        for i in 0..<40 {
            acct.measure(acct.stage("decode")) { _ = (0..<200).map { $0 * 2 } }
            acct.endFrame(index: i, time: Double(i) * 0.1, processed: i % 3 == 0)
        }
        var report = try acct.finish().report(tool: "test", input: "x", pipelineCounters: ["video_frames_decoded": 40])
        report.budget = try Budget(parsing: "p95=1s,total=1mWh").check(report)
        let c = AdaptiveController(budget: try Budget(parsing: "energy=1mJ/frame"), initial: Knobs(), window: 4)
        for i in 0..<8 { _ = c.observe(FrameObservation(index: i, time: Double(i), processed: true, latency: 0.01, joules: 0.01)) }
        report.controller = c.report
        XCTAssertNil(report.run.joules.measured)
        XCTAssertEqual(report.meter.provenance, .modelled)
        XCTAssertTrue(report.budget!.met)
        // JSON round trip and the documented top-level keys.
        let json = try report.json()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        for key in ["schema", "board", "meter", "run", "stages", "frames", "budget", "controller", "opEnergyTable"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["schema"] as? String, "bitspot-energy-report/1")
        _ = try JSONDecoder().decode(EnergyReport.self, from: json)
        // Markdown names the provenance; Prometheus lines are well formed.
        let md = report.markdown()
        XCTAssertTrue(md.contains("**modelled**"))
        XCTAssertTrue(md.contains("## Budget: met"))
        XCTAssertTrue(md.contains("## Adaptive controller"))
        let prom = report.prometheus()
        for line in prom.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertNotNil(line.range(of: #"^[a-z_]+\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\} [-+0-9.eE]+(NaN|Inf)?$"#, options: .regularExpression), String(line))
        }
        XCTAssertTrue(prom.contains("bitspot_bench_budget_met{"))
        // Charts are well-formed XML.
        for chart in report.charts() {
            let parser = XMLParser(data: Data(chart.svg.utf8))
            XCTAssertTrue(parser.parse(), "\(chart.name): \(String(describing: parser.parserError))")
        }
    }
}
