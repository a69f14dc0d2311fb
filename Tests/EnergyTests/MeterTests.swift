import Foundation
import XCTest
@testable import Energy

final class RAPLMeterTests: XCTestCase {
    func makeTree() -> FakeTree {
        let t = FakeTree()
        t.write("/sys/class/powercap/intel-rapl:0/name", "package-0\n")
        t.write("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "1000000\n")
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "900000\n")
        // A sub-zone must not be counted twice.
        t.write("/sys/class/powercap/intel-rapl:0:0/name", "core\n")
        t.write("/sys/class/powercap/intel-rapl:0:0/max_energy_range_uj", "1000000\n")
        t.write("/sys/class/powercap/intel-rapl:0:0/energy_uj", "5\n")
        return t
    }

    func testCountsAcrossAWrap() throws {
        let t = makeTree()
        let m = try RAPLMeter(files: t.files)
        XCTAssertEqual(m.zones.count, 1)
        try m.start()
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "950000\n")
        XCTAssertEqual(try XCTUnwrap(try m.read(at: 1)), 0.05, accuracy: 1e-9)
        // Wraps past max_energy_range_uj: 950000 -> 1000000 -> 0 -> 100000 is 150000 uJ more.
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "100000\n")
        XCTAssertEqual(try XCTUnwrap(try m.read(at: 2)), 0.2, accuracy: 1e-9)
    }

    func testCounterParsingWithoutAllocation() {
        func parse(_ s: String) -> Int64? {
            var b = [UInt8](repeating: 0, count: 64)
            let bytes = Array(s.utf8)
            b.replaceSubrange(0..<bytes.count, with: bytes)
            return CounterFile.parse(b, count: bytes.count)
        }
        XCTAssertEqual(parse("123\n"), 123)
        XCTAssertEqual(parse("  -7 \n"), -7)
        XCTAssertNil(parse(""))
        XCTAssertNil(parse("12a"))
        XCTAssertNil(parse("1 2"))
        XCTAssertNil(parse("-"))
        XCTAssertNil(parse("99999999999999999999"))
    }

    func testSumsPackages() throws {
        let t = makeTree()
        t.write("/sys/class/powercap/intel-rapl:1/name", "package-1\n")
        t.write("/sys/class/powercap/intel-rapl:1/max_energy_range_uj", "1000000\n")
        t.write("/sys/class/powercap/intel-rapl:1/energy_uj", "0\n")
        let m = try RAPLMeter(files: t.files)
        try m.start()
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "900010\n")
        t.write("/sys/class/powercap/intel-rapl:1/energy_uj", "20\n")
        XCTAssertEqual(try XCTUnwrap(try m.read(at: 1)), 30e-6, accuracy: 1e-12)
    }

    func testMissingZones() {
        let t = FakeTree()
        XCTAssertEnergyError(.missing, try RAPLMeter(files: t.files), contains: "no RAPL zones")
        t.mkdir("/sys/class/powercap/intel-rapl:0")
        XCTAssertEnergyError(.missing, try RAPLMeter(files: t.files), contains: "max_energy_range_uj")
    }

    func testPermissionDeniedIsReadable() throws {
        let t = makeTree()
        let m = try RAPLMeter(files: t.files(denying: "energy_uj"))
        XCTAssertEnergyError(.notPermitted, try m.probe(), contains: "root")
        let choice = try MeterSpec.auto.open(MeterEnvironment(files: t.files(denying: "energy_uj")))
        XCTAssertNil(choice.meter, "auto falls back to the model")
        XCTAssertTrue(choice.notes.joined().contains("permission denied"))
    }

    func testGarbageAndFolderInsteadOfFile() throws {
        let t = makeTree()
        let m = try RAPLMeter(files: t.files)
        try m.start()
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "12abc\n")
        XCTAssertEnergyError(.invalidReading, try m.read(at: 1), contains: "not an integer")
        t.write("/sys/class/powercap/intel-rapl:0/energy_uj", "2000000\n")
        XCTAssertEnergyError(.invalidReading, try m.read(at: 1), contains: "outside")
        // A meter opened on a folder where the counter should be, or on a missing counter.
        t.remove("/sys/class/powercap/intel-rapl:0/energy_uj")
        t.mkdir("/sys/class/powercap/intel-rapl:0/energy_uj")
        XCTAssertEnergyError(.invalidReading, try RAPLMeter(files: t.files).start(), contains: "folder")
        t.remove("/sys/class/powercap/intel-rapl:0/energy_uj")
        XCTAssertEnergyError(.missing, try RAPLMeter(files: t.files).start())
        // The same through the injectable reader (one open per read).
        XCTAssertEnergyError(.missing, try RAPLMeter(files: t.files(denying: "nothing")).start())
    }
}

final class HwmonMeterTests: XCTestCase {
    func testPowerInputIntegrates() throws {
        let t = FakeTree()
        t.write("/sys/class/hwmon/hwmon0/name", "cpu_thermal\n")
        t.write("/sys/class/hwmon/hwmon0/temp1_input", "45000\n")
        t.write("/sys/class/hwmon/hwmon1/name", "ina226\n")
        t.write("/sys/class/hwmon/hwmon1/power1_input", "2000000\n")  // 2 W
        let m = try HwmonMeter(files: t.files)
        XCTAssertEqual(m.name, "hwmon:ina226")
        try m.start()
        // Two reads at known times: the first anchors, then 2 W -> 4 W over 1 s is 3 J (trapezoid).
        _ = try m.read(at: 100)
        t.write("/sys/class/hwmon/hwmon1/power1_input", "4000000\n")
        let j0 = try XCTUnwrap(try m.read(at: 100))
        let j1 = try XCTUnwrap(try m.read(at: 101))
        XCTAssertEqual(j1 - j0, 4, accuracy: 1e-9)
    }

    func testINA219CurrentTimesVoltage() throws {
        let t = FakeTree()
        t.write("/sys/class/hwmon/hwmon3/name", "ina219\n")
        t.write("/sys/class/hwmon/hwmon3/in0_input", "12\n")      // shunt, no current pair
        t.write("/sys/class/hwmon/hwmon3/in1_input", "5000\n")    // 5 V bus
        t.write("/sys/class/hwmon/hwmon3/curr1_input", "600\n")   // 600 mA
        let m = try HwmonMeter(files: t.files, selector: "ina219")
        XCTAssertEqual(try m.watts(), 3.0, accuracy: 1e-12)
    }

    func testINA3221RailsByLabel() throws {
        let t = FakeTree()
        t.write("/sys/class/hwmon/hwmon2/name", "ina3221\n")
        for (i, label, mA, mV) in [(1, "VDD_IN", 1000, 5000), (2, "VDD_CPU", 500, 1000), (3, "VDD_SOC", 200, 1000)] {
            t.write("/sys/class/hwmon/hwmon2/curr\(i)_input", "\(mA)\n")
            t.write("/sys/class/hwmon/hwmon2/in\(i)_input", "\(mV)\n")
            t.write("/sys/class/hwmon/hwmon2/in\(i)_label", "\(label)\n")
            t.write("/sys/class/hwmon/hwmon2/curr\(i)_label", "\(label)\n")
        }
        XCTAssertEqual(try HwmonMeter(files: t.files, selector: "ina3221:VDD_IN").watts(), 5.0, accuracy: 1e-12)
        XCTAssertEqual(try HwmonMeter(files: t.files, selector: "ina3221:VDD_CPU,VDD_SOC").watts(), 0.7, accuracy: 1e-12)
        XCTAssertEqual(try HwmonMeter(files: t.files, selector: "hwmon2").watts(), 5.7, accuracy: 1e-12)
        XCTAssertEnergyError(.missing, try HwmonMeter(files: t.files, selector: "ina3221:VDD_GPU"), contains: "VDD_GPU")
    }

    func testMissingGarbageDenied() throws {
        let t = FakeTree()
        XCTAssertEnergyError(.missing, try HwmonMeter(files: t.files))
        t.write("/sys/class/hwmon/hwmon0/name", "cpu_thermal\n")
        t.write("/sys/class/hwmon/hwmon0/temp1_input", "45000\n")
        XCTAssertEnergyError(.missing, try HwmonMeter(files: t.files), contains: "reports power")
        XCTAssertEnergyError(.missing, try HwmonMeter(files: t.files, selector: "ina226"), contains: "no hwmon device named")
        t.write("/sys/class/hwmon/hwmon1/name", "ina226\n")
        t.write("/sys/class/hwmon/hwmon1/power1_input", "lots\n")
        XCTAssertEnergyError(.invalidReading, try HwmonMeter(files: t.files).probe(), contains: "not an integer")
        t.write("/sys/class/hwmon/hwmon1/power1_input", "-5\n")
        XCTAssertEnergyError(.invalidReading, try HwmonMeter(files: t.files).probe(), contains: "negative")
        t.write("/sys/class/hwmon/hwmon1/power1_input", "1000\n")
        XCTAssertEnergyError(.notPermitted, try HwmonMeter(files: t.files(denying: "power1_input")).probe())
    }
}

final class PMICMeterTests: XCTestCase {
    static let sample = """
         3V7_WL_SW_A current(0)=0.00000000A
           3V3_SYS_A current(1)=0.05000000A
          VDD_CORE_A current(7)=2.00000000A
           3V3_SYS_V volt(9)=3.30000000V
          VDD_CORE_V volt(15)=0.80000000V
             EXT5V_V volt(24)=5.15067000V
            BATT_V volt(25)=0.00000000V
        """

    func testParsePairsRails() {
        let rails = PMICMeter.parse(Self.sample)
        XCTAssertEqual(Set(rails.keys), ["3V3_SYS", "VDD_CORE"], "rails need both a current and a voltage")
        XCTAssertEqual(rails["VDD_CORE"]!, 1.6, accuracy: 1e-12)
        XCTAssertEqual(rails.values.reduce(0, +), 1.6 + 0.165, accuracy: 1e-12)
        XCTAssertTrue(PMICMeter.parse("garbage\nVDD_CORE_A current(7)=twoA\nVDD_CORE_V volt(15)=0.8V\n").isEmpty)
    }

    func testFakeVcgencmdSampledAndIntegrated() throws {
        let t = FakeTree()
        let lines = Self.sample.split(separator: "\n").map { "echo '\($0)'" }.joined(separator: "\n")
        let fake = t.script("vcgencmd", "[ \"$1\" = pmic_read_adc ] || exit 2\n\(lines)\n")
        let m = PMICMeter(vcgencmd: fake, interval: 0.02)
        try m.probe()
        try m.start()
        let t0 = Clocks.monotonic()
        Thread.sleep(forTimeInterval: 0.15)
        XCTAssertNil(try m.read(at: Clocks.monotonic()), "known only after stop")
        try m.stop()
        let t1 = Clocks.monotonic()
        XCTAssertGreaterThanOrEqual(m.samples.count, 2)
        let joules = try XCTUnwrap(m.cumulative(at: t1)) - XCTUnwrap(m.cumulative(at: t0))
        XCTAssertEqual(joules, 1.765 * (t1 - t0), accuracy: 1e-6, "constant 1.765 W")
    }

    func testMissingRefusedGarbage() {
        let t = FakeTree()
        XCTAssertEnergyError(.missing, try PMICMeter(vcgencmd: t.path + "/nope").probe())
        // A Pi 4's vcgencmd does not know the command.
        let refused = t.script("refused", "echo 'error=1 error_msg=\"Command not registered\"'\nexit 255\n")
        XCTAssertEnergyError(.notPermitted, try PMICMeter(vcgencmd: refused).probe(), contains: "Command not registered")
        let garbage = t.script("garbage", "echo 'VDD_CORE_A current(7)=NaNA'\necho hello\n")
        XCTAssertEnergyError(.invalidReading, try PMICMeter(vcgencmd: garbage).probe(), contains: "no rail")
        XCTAssertEnergyError(.missing, try PMICMeter(vcgencmd: "bitspot-no-such-vcgencmd").probe(), contains: "PATH")
    }
}

final class CSVMeterTests: XCTestCase {
    func testFormats() throws {
        var p = try CSVMeter.parse("time,watts\n0,1\n1,3\n")
        XCTAssertEqual(p.watts, [1, 3])
        p = try CSVMeter.parse("Time [s];Voltage (V);Current (A)\n0;5.0;0.5\n1;5.0;1.0\n")
        XCTAssertEqual(p.watts, [2.5, 5.0])
        p = try CSVMeter.parse("0,5.1,0.2\n0.5,5.1,0.4\n")
        XCTAssertEqual(p.watts[1], 5.1 * 0.4, accuracy: 1e-12)
        p = try CSVMeter.parse("timestamp,power\n2026-01-01T00:00:00Z,2\n2026-01-01T00:00:01.5Z,2\n")
        XCTAssertEqual(p.times[1] - p.times[0], 1.5, accuracy: 1e-6)
        XCTAssertEnergyError(.invalidReading, try CSVMeter.parse("time,watts\n0,abc\n"), contains: "line 2")
        XCTAssertEnergyError(.invalidReading, try CSVMeter.parse("time,temperature\n0,20\n"), contains: "no watts")
        XCTAssertEnergyError(.invalidReading, try CSVMeter.parse(""), contains: "empty")
        XCTAssertEnergyError(.invalidReading, try CSVMeter.parse("time,watts\n0,-1\n"), contains: "negative")
    }

    /// Found by the fuzz-powerlog target in a CI smoke: a fraction of a hundred digits made ICU (behind
    /// ISO8601DateFormatter) die of a SIGFPE. Fractions are cut to 9 digits; odd shapes never reach ICU.
    func testLongFractionsAndOddTimestamps() throws {
        let long = "2620-10-01T00:00:01." + String(repeating: "5", count: 110) + "Z"
        let p = try CSVMeter.parse("timestamp,power\n2620-10-01T00:00:00Z,2\n\(long),2.25\n")
        XCTAssertEqual(p.times[1] - p.times[0], 1.555, accuracy: 1e-3)   // the formatter keeps milliseconds
        XCTAssertEqual(CSVMeter.iso8601Shape("2026-01-01T00:00:00.123456789123Z"), "2026-01-01T00:00:00.123456789Z")
        XCTAssertEqual(CSVMeter.iso8601Shape("2026-01-01T00:00:00+02:00"), "2026-01-01T00:00:00+02:00")
        for odd in ["2026-01-01T00:00:0000000000001Z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zjunk", "x"] {
            XCTAssertNil(CSVMeter.iso8601Shape(odd), odd)
        }
    }

    /// Found by the fuzz-powerlog target (Fuzz/): volts x amps overflowed to an infinite power, which the
    /// power series then dropped without a word.
    func testVoltsTimesAmpsOverflow() {
        XCTAssertEnergyError(.invalidReading, try CSVMeter.parse("1699699999990,020.001,1e308"), contains: "out of range")
        XCTAssertEqual(PMICMeter.parse("A_A current(1)=1e308A\nA_V volt(2)=20V\nB_A current(3)=2A\nB_V volt(4)=0.5V\n"), ["B": 1])
    }

    func testAlignedByWallClock() throws {
        let t = FakeTree()
        t.write("/log.csv", "x")
        let m = try CSVMeter(path: t.path + "/log.csv")
        // The run started at monotonic 50 s = Unix 1_700_000_000 s; the log has 1 W until +10 s, then 3 W.
        m.setStart(monotonic: 50, realtime: 1_700_000_000, stop: 70)
        m.load(try CSVMeter.parse("time,watts\n1699999990,1\n1700000010,1\n1700000010.001,3\n1700000030,3\n"))
        XCTAssertEqual(try XCTUnwrap(m.cumulative(at: 60)), 10, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(m.cumulative(at: 70)) - XCTUnwrap(m.cumulative(at: 60)), 30, accuracy: 0.01)
        // Relative times start with the run.
        m.load(try CSVMeter.parse("0,2\n20,2\n"))
        XCTAssertEqual(try XCTUnwrap(m.cumulative(at: 55)), 10, accuracy: 1e-9)
    }

    func testMissingLog() {
        XCTAssertEnergyError(.missing, try CSVMeter(path: "/nonexistent/bitspot/log.csv"))
        XCTAssertEnergyError(.missing, try MeterSpec(parsing: "csv:/nonexistent/bitspot/log.csv").open())
    }
}

final class MeterSpecTests: XCTestCase {
    func testParsing() throws {
        XCTAssertEqual(try MeterSpec(parsing: "auto"), .auto)
        XCTAssertEqual(try MeterSpec(parsing: "hwmon:ina3221:VDD_IN"), .hwmon("ina3221:VDD_IN"))
        XCTAssertEqual(try MeterSpec(parsing: "model:pi3b+"), .model("pi3b+"))
        XCTAssertEqual(try MeterSpec(parsing: "pi5-pmic"), .pi5PMIC)
        XCTAssertEnergyError(.badRequest, try MeterSpec(parsing: "model:pi9"), contains: "unknown board")
        XCTAssertEnergyError(.badRequest, try MeterSpec(parsing: "joulescope"), contains: "unknown meter")
        XCTAssertEnergyError(.badRequest, try MeterSpec(parsing: "csv:"), contains: "csv:FILE")
    }

    func testBoardDetection() throws {
        let t = FakeTree()
        t.write("/proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0")
        XCTAssertEqual(try BoardProfile.detect(t.files).name, "pi4b")
        t.write("/proc/device-tree/model", "Raspberry Pi 3 Model B Plus Rev 1.3\0")
        XCTAssertEqual(try BoardProfile.detect(t.files).name, "pi3b+")
        t.write("/proc/device-tree/model", "Raspberry Pi Zero 2 W Rev 1.0\0")
        XCTAssertEqual(try BoardProfile.detect(t.files).name, "pizero2w")
        t.write("/proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\0")
        XCTAssertEqual(try BoardProfile.detect(t.files).name, "pi5")
        t.write("/proc/device-tree/model", "Pine64 RockPro64\0")
        XCTAssertEnergyError(.badRequest, try BoardProfile.detect(t.files), contains: "model:BOARD")
        // auto on a Pi 5 without sysfs meters tries the PMIC, then falls back to the model.
        t.write("/proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\0")
        let choice = try MeterSpec.auto.open(MeterEnvironment(files: t.files, vcgencmd: t.path + "/no-vcgencmd"))
        XCTAssertNil(choice.meter)
        XCTAssertEqual(choice.profile.name, "pi5")
        XCTAssertTrue(choice.notes.contains { $0.hasPrefix("pi5-pmic") })
    }

    func testModelArithmeticAndOpEnergy() {
        // Pi 4B: 1.6 W idle, 5.0 W full over 4 cores -> 0.85 W per busy core.
        XCTAssertEqual(BoardProfile.pi4b.joules(wall: 2, cpu: 1), 1.6 * 2 + 0.85, accuracy: 1e-12)
        let ops = OpCounts(floatAdds: 1e9, floatMults: 1e9, intAdds: 1e10, dramWords: 1e6)
        XCTAssertEqual(ops.joules(), 0.9e-3 + 3.7e-3 + 1e-3 + 0.64e-3, accuracy: 1e-12)
        XCTAssertEqual(Percentiles((1...100).map(Double.init)).p95, 95)
        XCTAssertEqual(Percentiles((1...100).map(Double.init)).p99, 99)
        XCTAssertEqual(Percentiles([3]).p50, 3)
    }
}
