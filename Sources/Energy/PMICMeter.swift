import Foundation

/// The Raspberry Pi 5 PMIC's rail monitors through `vcgencmd pmic_read_adc`.
///
/// The command prints one line per channel, currents and voltages apart:
/// ```
///   VDD_CORE_A current(7)=2.34567800A
///   VDD_CORE_V volt(15)=0.87654300V
///   EXT5V_V volt(24)=5.15067000V
/// ```
/// Power is the sum of V x I over every rail that has both a `NAME_A` and a `NAME_V` line
/// (`EXT5V_V`, the 5 V input, has no current and is left out). A background thread runs the
/// command every ``interval`` seconds and the samples are integrated afterwards, so a stage's share
/// is only as fine as the sampling interval. See docs/energy.md for the accuracy caveats.
public final class PMICMeter: EnergyMeter, @unchecked Sendable {
    public let name = "pi5-pmic"
    public var detail: String { "\(vcgencmd) pmic_read_adc every \(interval) s; rails: \(lastRails.joined(separator: ", "))" }
    public let caveats = [
        "The PMIC rails are the SoC's and memory's supplies after conversion: losses, USB devices and the 5 V side are not counted (third-party fits put the supply at about 1.15 x the rail sum + 0.6 W).",
        "Sampled in the background every interval; a stage shorter than the interval gets an interpolated share, not its own measurement.",
        "Running vcgencmd itself costs CPU time (one process per sample).",
    ]
    let vcgencmd: String
    public let interval: Double
    private let lock = NSLock()
    private var series = PowerSeries()
    private var lastRails: [String] = []
    private var running = false
    private var thread: Thread?
    private var failure: EnergyError?
    private var startTime = 0.0

    public init(vcgencmd: String = "vcgencmd", interval: Double = 0.2) {
        self.vcgencmd = vcgencmd
        self.interval = interval
    }

    /// Rails and their power from the command's output.
    public static func parse(_ text: String) -> [String: Double] {
        var amps: [String: Double] = [:], volts: [String: Double] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard let space = line.firstIndex(of: " "), let eq = line.lastIndex(of: "=") else { continue }
            let channel = String(line[..<space])
            var value = String(line[line.index(after: eq)...])
            guard let unit = value.last, unit == "A" || unit == "V" else { continue }
            value.removeLast()
            guard let number = Double(value), number.isFinite, number >= 0 else { continue }
            let kind = line[space...]
            if unit == "A", channel.hasSuffix("_A"), kind.contains("current(") {
                amps[String(channel.dropLast(2))] = number
            } else if unit == "V", channel.hasSuffix("_V"), kind.contains("volt") {
                volts[String(channel.dropLast(2))] = number
            }
        }
        var power: [String: Double] = [:]
        // A product that overflows is no reading (the series would drop the whole sample).
        for (rail, a) in amps { if let v = volts[rail], (a * v).isFinite { power[rail] = a * v } }
        return power
    }

    /// Runs the command once; throws when it is missing, refused, or prints no rails.
    func sampleOnce() throws -> [String: Double] {
        let process = Process()
        if vcgencmd.contains("/") {
            process.executableURL = URL(fileURLWithPath: vcgencmd)
            process.arguments = ["pmic_read_adc"]
            guard FileManager.default.fileExists(atPath: vcgencmd) else {
                throw EnergyError(.missing, vcgencmd, "no such program (vcgencmd comes with Raspberry Pi OS: apt install libraspberrypi-bin / raspi-utils)")
            }
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [vcgencmd, "pmic_read_adc"]
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw EnergyError(.notPermitted, vcgencmd, "cannot run (\(error.localizedDescription))")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if process.terminationStatus == 127 {
            throw EnergyError(.missing, vcgencmd, "not found in PATH (vcgencmd comes with Raspberry Pi OS)")
        }
        guard process.terminationStatus == 0 else {
            let why = String(decoding: errData + data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw EnergyError(.notPermitted, "\(vcgencmd) pmic_read_adc",
                              "failed with status \(process.terminationStatus)\(why.isEmpty ? "" : ": \(why.prefix(120))") (a Pi 5 is needed; a user outside the video group may not use /dev/vcio)")
        }
        let rails = Self.parse(text)
        guard !rails.isEmpty else {
            throw EnergyError(.invalidReading, "\(vcgencmd) pmic_read_adc", "printed no rail with both a current and a voltage")
        }
        return rails
    }

    public func probe() throws {
        let rails = try sampleOnce()
        lock.lock(); lastRails = rails.keys.sorted(); lock.unlock()
    }

    public func start() throws {
        lock.lock()
        series = PowerSeries()
        running = true
        failure = nil
        lock.unlock()
        startTime = Clocks.monotonic()
        try takeSample()
        let t = Thread { [self] in self.loop() }
        t.name = "bitspot-pmic"
        thread = t
        t.start()
    }

    private func takeSample() throws {
        let t0 = Clocks.monotonic()
        let rails = try sampleOnce()
        let t1 = Clocks.monotonic()
        lock.lock()
        series.append(time: (t0 + t1) / 2, watts: rails.values.reduce(0, +))
        lastRails = rails.keys.sorted()
        lock.unlock()
    }

    private func loop() {
        while true {
            lock.lock(); let go = running; lock.unlock()
            if !go { return }
            let next = Clocks.monotonic() + interval
            do { try takeSample() } catch let e as EnergyError {
                lock.lock(); failure = e; running = false; lock.unlock()
                return
            } catch {}
            let wait = next - Clocks.monotonic()
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
    }

    public func read(at now: Double) throws -> Double? {
        lock.lock(); defer { lock.unlock() }
        if let failure { throw failure }
        return nil
    }

    public func stop() throws {
        lock.lock(); running = false; lock.unlock()
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.005) }
        // The thread's block holds this meter: let go of the finished thread, or the two keep each other alive.
        thread = nil
        try takeSample()
        lock.lock(); defer { lock.unlock() }
        if let failure { throw failure }
    }

    public func cumulative(at time: Double) -> Double? {
        lock.lock(); defer { lock.unlock() }
        return series.energy(from: startTime, to: time)
    }

    /// The samples taken so far.
    public var samples: PowerSeries {
        lock.lock(); defer { lock.unlock() }
        return series
    }
}
