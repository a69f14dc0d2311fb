import Foundation
import XCTest

/// `bitspot bench pipeline` end to end through the built binary.
final class BenchPipelineCommandTests: XCTestCase {
    var sample: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Samples/sample.mp4").path
    }

    func out(_ name: String) -> String { CLI.folder.appendingPathComponent("bench-\(UUID().uuidString)-\(name)").path }

    /// The JSON report written by --report-json.
    func report(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testSampleWithModelMeterWritesEveryReport() throws {
        let json = out("report.json"), md = out("report.md"), prom = out("metrics.prom"), charts = out("charts")
        let r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "model:pi3b+", "--every", "3", "--gate", "2",
                             "--budget", "p95=5s,energy=10J/frame", "--report-json", json, "--report-md", md,
                             "--metrics-file", prom, "--charts", charts])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("**modelled**"), r.stdout)
        XCTAssertTrue(r.stdout.contains("## Budget: met"))
        let object = try report(json)
        XCTAssertEqual(object["schema"] as? String, "bitspot-energy-report/1")
        let run = try XCTUnwrap(object["run"] as? [String: Any])
        XCTAssertEqual(run["frames"] as? Int, 120, "360 frames, every 3rd")
        let processed = try XCTUnwrap(run["processedFrames"] as? Int)
        XCTAssertGreaterThan(processed, 0)
        XCTAssertLessThanOrEqual(processed, 120)
        let meter = try XCTUnwrap(object["meter"] as? [String: Any])
        XCTAssertEqual(meter["provenance"] as? String, "modelled")
        let stages = try XCTUnwrap(object["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["name"] as? String }, ["decode", "gate"])
        let counters = try XCTUnwrap(object["pipelineCounters"] as? [String: Int])
        XCTAssertEqual(counters["frames_dropped_by_gate"], 120 - processed)
        XCTAssertEqual(counters["video_frames_decoded"], 360)
        XCTAssertTrue(try String(contentsOfFile: md, encoding: .utf8).hasPrefix("# BitSpot energy report"))
        XCTAssertTrue(try String(contentsOfFile: prom, encoding: .utf8).contains("bitspot_bench_frames{board=\"pi3b+\",meter=\"model:pi3b+\"} 120"))
        for name in ["latency.svg", "energy-stages.svg", "early-exits.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: charts + "/" + name), name)
        }
    }

    /// --decoder and --skip-bidir reach the report: a note names the decoder, the counters the B-frame check.
    func testDecoderAndBFrameCheckInTheReport() throws {
        let json = out("decoder.json")
        let r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "model:pi4b", "--fps", "2", "--skip-bidir",
                             "--decoder", "h264", "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try report(json)
        let notes = try XCTUnwrap(object["notes"] as? [String])
        XCTAssertTrue(notes.contains { $0.hasPrefix("decoder h264;") }, "\(notes)")
        let counters = try XCTUnwrap(object["pipelineCounters"] as? [String: Int])
        XCTAssertEqual(counters["video_bframe_checks"], 1)
        // The sample has no B-frames: the two decoders agree and the check passes.
        XCTAssertEqual(counters["video_bframe_checks_passed"], 1)
    }

    func testMissedBudgetExitsThreeAndStillWritesTheReport() throws {
        let json = out("missed.json")
        // No decode takes less than a nanosecond: the budget is missed on purpose.
        let r = try CLI.run(["bench", sample, "--no-network", "--meter", "model:pi4b", "--max-frames", "20", "--budget", "max=1us", "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("budget missed: max=1us"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        let object = try report(json)
        let budget = try XCTUnwrap(object["budget"] as? [String: Any])
        XCTAssertEqual((budget["verdicts"] as? [[String: Any]])?.first?["met"] as? Bool, false)
    }

    func testAdaptRecordsDecisions() throws {
        let json = out("adapt.json")
        // A budget no decode can meet. Today every joule is spent decoding (no stage after the gate yet), so
        // dropping frames would save nothing: the controller keeps every frame and says it is stuck.
        let r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "model:pi4b", "--adapt", "--adapt-window", "10",
                             "--budget", "energy=1uJ/frame", "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 3, r.stderr)
        let object = try report(json)
        let controller = try XCTUnwrap(object["controller"] as? [String: Any])
        let decisions = try XCTUnwrap(controller["decisions"] as? [[String: Any]])
        XCTAssertEqual(decisions.map { $0["action"] as? String }, ["stuck"])
        XCTAssertEqual(decisions.first?["item"] as? String, "energy=1uJ/frame")
        let final = try XCTUnwrap(controller["final"] as? [String: Any])
        XCTAssertEqual(final["stride"] as? Int, 1)
        XCTAssertEqual((object["run"] as? [String: Any])?["processedFrames"] as? Int, 360)
    }

    func testAdaptMovesTheGateWhenWorkAfterItCanBeDropped() throws {
        let json = out("adapt-sim.json")
        // A stand-in stage burns 100 ms of CPU per processed frame (about 250 mJ modelled on a Pi 4B):
        // over 200 mJ/frame, and dropping frames at the gate saves most of it. (The margin keeps the
        // budget reachable when decoding itself is slow, as in a ThreadSanitizer build.)
        let r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "model:pi4b", "--simulate-stage", "100", "--max-frames", "60",
                             "--adapt", "--adapt-window", "10", "--budget", "energy=200mJ/frame", "--report-json", json, "--quiet"])
        XCTAssertTrue([0, 3].contains(r.status), r.stderr)
        let object = try report(json)
        let stages = try XCTUnwrap(object["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["name"] as? String }, ["decode", "gate", "simulated"])
        let decisions = try XCTUnwrap((object["controller"] as? [String: Any])?["decisions"] as? [[String: Any]])
        XCTAssertEqual(decisions.first?["action"] as? String, "tighten")
        XCTAssertEqual(decisions.first?["knob"] as? String, "gate")
        XCTAssertGreaterThan(try XCTUnwrap(decisions.first?["pressure"] as? Double), 1)
    }

    func testAdaptLowersTheRecognizerExitFirst() throws {
        let json = out("adapt-exit.json")
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/untrained-models").path
        let r = try CLI.run(["bench", "pipeline", sample, "--models", models, "--meter", "model:pi4b", "--every", "30",
                             "--adapt", "--adapt-window", "4", "--budget", "energy=1uJ/frame", "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 3, r.stderr)
        let object = try report(json)
        let controller = try XCTUnwrap(object["controller"] as? [String: Any])
        let final = try XCTUnwrap(controller["final"] as? [String: Any])
        let exits = try XCTUnwrap(final["exitThresholds"] as? [Double])
        XCTAssertEqual(exits.count, 1)
        XCTAssertLessThan(exits[0], 0.8, "the recognizer's exit confidence was lowered from its default")
    }

    func testNetworkStagesWithModels() throws {
        let json = out("network.json")
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/untrained-models").path
        let lines = out("network.jsonl")
        let r = try CLI.run(["bench", "pipeline", sample, "--models", models, "--meter", "model:pi5", "--every", "120",
                             "--report-json", json, "--jsonl", lines, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try report(json)
        let stages = try XCTUnwrap(object["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["name"] as? String }, ["decode", "gate", "detect", "recognize", "track", "output"])
        // The output stage wrote spot's frame lines: one per processed frame (360 frames, every 120th).
        let written = try String(contentsOfFile: lines, encoding: .utf8).split(separator: "\n")
        let frameLines = try written.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            .filter { $0["type"] as? String == "frame" }
        XCTAssertEqual(frameLines.count, 3)
        let output = try XCTUnwrap(stages.first { $0["name"] as? String == "output" })
        XCTAssertEqual(output["calls"] as? Int, 3, "\(output)")
        let detect = try XCTUnwrap(stages.first { $0["name"] as? String == "detect" })
        XCTAssertGreaterThan(detect["opCountJoules"] as? Double ?? 0, 0, "the detector's op counts feed the op-energy column")
    }

    func testBadBudgetsAndMeters() throws {
        var r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "model", "--budget", "p95=60"])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "bitspot: budget item 'p95=60': a latency needs a unit: us, ms or s (e.g. p95=60ms)\n")
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "joulescope"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("unknown meter"), r.stderr)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "csv:/nonexistent/power.csv"])
        XCTAssertEqual(r.status, 66)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--adapt"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("needs a budget"), r.stderr)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--word-split", "1.5"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("--word-split"), r.stderr)
        // The network options shared with spot are checked the same way here.
        for (option, value) in [("--zoom-split", "0.5"), ("--word-join", "nan"), ("--split-gap", "5.5"), ("--tile-exit", "1"), ("--tile-region", "0"), ("--recognizer-exit", "1.5"), ("--recognizer-width", "8"), ("--recognizer-width", "4096")] {
            r = try CLI.run(["bench", "pipeline", sample, "--no-network", option, value])
            XCTAssertEqual(r.status, 64, option)
            XCTAssertTrue(r.stderr.contains(option), r.stderr)
        }
    }

    /// Run energy / wall time of a report: the mean power the meter saw.
    func meanPower(_ json: String) throws -> (watts: Double, provenance: String?) {
        let object = try report(json)
        let run = try XCTUnwrap(object["run"] as? [String: Any])
        let joules = try XCTUnwrap((run["joules"] as? [String: Any])?["measured"] as? Double)
        let wall = try XCTUnwrap(run["wallSeconds"] as? Double)
        return (joules / wall, (object["meter"] as? [String: Any])?["provenance"] as? String)
    }

    func testCSVLogAndFakePMICEndToEnd() throws {
        // A USB meter log in seconds since the run started: a constant 2.5 W (5 V x 0.5 A) for 100 s.
        let log = out("usb.csv")
        try Data("time,volts,amps\n0,5.0,0.5\n100,5.0,0.5\n".utf8).write(to: URL(fileURLWithPath: log))
        let json = out("csv.json")
        var r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--max-frames", "30", "--meter", "csv:" + log, "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var p = try meanPower(json)
        XCTAssertEqual(p.provenance, "measured")
        // The meter starts a moment before the run's clock, so allow a little more than 2.5 W.
        XCTAssertEqual(p.watts, 2.5, accuracy: 0.1)
        // A fake vcgencmd printing constant rails: 2 A x 0.8 V + 0.05 A x 3.3 V = 1.765 W.
        let fake = CLI.folder.appendingPathComponent("vcgencmd-\(UUID().uuidString)")
        try Data("""
            #!/bin/sh
            echo '   3V3_SYS_A current(1)=0.05000000A'
            echo '  VDD_CORE_A current(7)=2.00000000A'
            echo '   3V3_SYS_V volt(9)=3.30000000V'
            echo '  VDD_CORE_V volt(15)=0.80000000V'
            echo '     EXT5V_V volt(24)=5.15000000V'

            """.utf8).write(to: fake)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        let pjson = out("pmic.json")
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--max-frames", "30", "--meter", "pi5-pmic", "--vcgencmd", fake.path,
                         "--pmic-interval", "0.05", "--meter", "pi5-pmic", "--report-json", pjson, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        p = try meanPower(pjson)
        XCTAssertEqual(p.provenance, "measured")
        XCTAssertEqual(p.watts, 1.765, accuracy: 0.05)
    }

    func testMeterFromFakeSysfsAndPermissions() throws {
        let root = CLI.folder.appendingPathComponent("sysfs-\(UUID().uuidString)")
        let dir = root.appendingPathComponent("sys/class/powercap/intel-rapl:0")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("package-0\n".utf8).write(to: dir.appendingPathComponent("name"))
        try Data("262143328850\n".utf8).write(to: dir.appendingPathComponent("max_energy_range_uj"))
        try Data("1000\n".utf8).write(to: dir.appendingPathComponent("energy_uj"))
        let json = out("rapl.json")
        var r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--max-frames", "10", "--meter", "rapl", "--sysfs-root", root.path, "--report-json", json, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try report(json)
        XCTAssertEqual((object["meter"] as? [String: Any])?["provenance"] as? String, "measured")
        // A folder where the counter should be reads as an unreadable meter (exit 65); no zones at all is 66.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("energy_uj"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("energy_uj"), withIntermediateDirectories: false)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "rapl", "--sysfs-root", root.path])
        XCTAssertEqual(r.status, 65, r.stderr)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "rapl", "--sysfs-root", root.appendingPathComponent("none").path])
        XCTAssertEqual(r.status, 66, r.stderr)
        // A vcgencmd that refuses (not a Pi 5) is 69.
        let fake = root.appendingPathComponent("vcgencmd")
        try Data("#!/bin/sh\necho 'error=1 error_msg=\"Command not registered\"'\nexit 255\n".utf8).write(to: fake)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        r = try CLI.run(["bench", "pipeline", sample, "--no-network", "--meter", "pi5-pmic", "--vcgencmd", fake.path, "--sysfs-root", root.path])
        XCTAssertEqual(r.status, 69, r.stderr)
    }
}
