import Foundation

/// A USB power meter's log: CSV lines of a time and watts, or a time, volts and amps.
///
/// The header names the columns (`time`/`timestamp`, `w`/`watts`/`power`, `v`/`volts`/`voltage`,
/// `a`/`amps`/`current`, case and units in brackets ignored); without a header, two columns are
/// time,watts and three are time,volts,amps. Times are Unix seconds (> 10^9) or ISO 8601, aligned
/// with the run by the wall clock; smaller numbers are seconds since the run started (a log started
/// together with the run). The log is read when the run stops, so the meter's software may still be
/// writing it during the run.
public final class CSVMeter: EnergyMeter {
    public let name: String
    public let path: String
    public var detail: String { "\(path): \(series.count) samples" + (coverage.map { String(format: ", covering %.0f%% of the run", $0 * 100) } ?? "") }
    public var caveats: [String] {
        var c = ["The log's clock is aligned with this machine's wall clock; a skew between them shifts energy between stages."]
        if let coverage, coverage < 0.95 {
            c.append(String(format: "The log covers only %.0f%% of the run; power outside it is held at the nearest sample.", coverage * 100))
        }
        return c
    }
    private(set) var series = PowerSeries()
    private var startMonotonic = 0.0
    private var startRealtime = 0.0
    private var stopMonotonic = 0.0
    private var coverage: Double?

    public init(path: String) throws {
        self.path = path
        self.name = "csv:\(path)"
        guard FileManager.default.fileExists(atPath: path) else {
            throw EnergyError(.missing, path, "no such power log")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw EnergyError(.notPermitted, path, "permission denied")
        }
    }

    /// Parses the log into (time, watts) pairs; times as written (epoch or relative seconds).
    public static func parse(_ text: String, file: String = "CSV") throws -> (times: [Double], watts: [Double]) {
        var lines = text.split(whereSeparator: \.isNewline).map { String($0) }.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else { throw EnergyError(.invalidReading, file, "empty power log") }
        let sep: Character = lines[0].contains(";") && !lines[0].contains(",") ? ";" : ","
        func cells(_ l: String) -> [String] { l.split(separator: sep, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        var timeCol = 0, wattCol: Int? = nil, voltCol: Int? = nil, ampCol: Int? = nil
        let first = cells(lines[0])
        if first.contains(where: { Double($0) == nil && parseTime($0) == nil }) {
            lines.removeFirst()
            for (i, raw) in first.enumerated() {
                var h = raw.lowercased()
                if let b = h.firstIndex(where: { $0 == "(" || $0 == "[" }) { h = String(h[..<b]).trimmingCharacters(in: .whitespaces) }
                switch h {
                case "time", "timestamp", "t", "date", "datetime", "time_s", "seconds", "s": timeCol = i
                case "w", "watt", "watts", "power", "power_w", "p": wattCol = i
                case "v", "volt", "volts", "voltage", "voltage_v", "u": voltCol = i
                case "a", "amp", "amps", "current", "current_a", "i": ampCol = i
                default: break
                }
            }
            guard wattCol != nil || (voltCol != nil && ampCol != nil) else {
                throw EnergyError(.invalidReading, file, "header names no watts column nor volts and amps columns: '\(first.joined(separator: ","))'")
            }
        } else if first.count == 2 {
            wattCol = 1
        } else if first.count >= 3 {
            voltCol = 1; ampCol = 2
        } else {
            throw EnergyError(.invalidReading, file, "line 1: expected time,watts or time,volts,amps")
        }
        var times: [Double] = [], watts: [Double] = []
        for (n, line) in lines.enumerated() {
            let c = cells(line)
            func number(_ i: Int) throws -> Double {
                guard i < c.count, let v = Double(c[i]), v.isFinite else {
                    throw EnergyError(.invalidReading, file, "line \(n + 2): not a number in column \(i + 1): '\(line.prefix(60))'")
                }
                return v
            }
            guard timeCol < c.count, let t = parseTime(c[timeCol]) else {
                throw EnergyError(.invalidReading, file, "line \(n + 2): no time in column \(timeCol + 1): '\(line.prefix(60))'")
            }
            let w = try wattCol.map(number) ?? (try number(voltCol!) * number(ampCol!))
            // Volts x amps can overflow (1e308 V x 20 A): such a sample would silently vanish from the series.
            guard w.isFinite else { throw EnergyError(.invalidReading, file, "line \(n + 2): power out of range (\(w) W)") }
            guard w >= 0 else { throw EnergyError(.invalidReading, file, "line \(n + 2): negative power \(w) W") }
            times.append(t)
            watts.append(w)
        }
        guard !times.isEmpty else { throw EnergyError(.invalidReading, file, "no samples") }
        return (times, watts)
    }

    static func parseTime(_ s: String) -> Double? {
        if let v = Double(s), v.isFinite { return v }
        guard let s = iso8601Shape(s) else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)?.timeIntervalSince1970
    }

    /// `s` when it has the shape of an ISO 8601 date-time (`YYYY-MM-DDTHH:MM:SS`, an optional fraction,
    /// an optional `Z` or `±HH:MM` zone), with the fraction cut to 9 digits; nil otherwise. ICU, behind
    /// ISO8601DateFormatter, dies of a SIGFPE on a fraction of a hundred digits (found by fuzz-powerlog),
    /// so nothing else reaches it.
    static func iso8601Shape(_ s: String) -> String? {
        let b = Array(s.utf8)
        guard b.count >= 19, b.count <= 256 else { return nil }
        func digits(_ r: Range<Int>) -> Bool { r.allSatisfy { b[$0] >= 0x30 && b[$0] <= 0x39 } }
        guard digits(0..<4), b[4] == 0x2D, digits(5..<7), b[7] == 0x2D, digits(8..<10), b[10] == 0x54 || b[10] == 0x20,
              digits(11..<13), b[13] == 0x3A, digits(14..<16), b[16] == 0x3A, digits(17..<19) else { return nil }
        var i = 19
        var out = Array(b[0..<19])
        if i < b.count, b[i] == 0x2E {
            var j = i + 1
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 { j += 1 }
            guard j > i + 1 else { return nil }
            out += b[i..<min(j, i + 10)]
            i = j
        }
        let zone = Array(b[i...])
        let zoneOK = zone.isEmpty || zone == [0x5A]
            || (zone.count == 6 && (zone[0] == 0x2B || zone[0] == 0x2D) && zone[3] == 0x3A
                && [1, 2, 4, 5].allSatisfy { zone[$0] >= 0x30 && zone[$0] <= 0x39 })
        guard zoneOK else { return nil }
        return String(decoding: out + zone, as: UTF8.self)
    }

    public func start() throws {
        startMonotonic = Clocks.monotonic()
        startRealtime = Clocks.realtime()
    }

    public func read(at now: Double) throws -> Double? { nil }

    public func stop() throws {
        stopMonotonic = Clocks.monotonic()
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnergyError(.invalidReading, path, "cannot read the power log (\(error.localizedDescription))")
        }
        load(try Self.parse(text, file: path))
    }

    /// Puts the samples on this run's monotonic clock.
    func load(_ parsed: (times: [Double], watts: [Double])) {
        let epoch = parsed.times.first.map { $0 > 1e9 } ?? false
        let offset = epoch ? startMonotonic - startRealtime : startMonotonic
        series = PowerSeries(times: parsed.times.map { $0 + offset }, watts: parsed.watts)
        coverage = series.coverage(from: startMonotonic, to: stopMonotonic)
    }

    /// For tests: the run's start on both clocks.
    func setStart(monotonic: Double, realtime: Double, stop: Double) {
        startMonotonic = monotonic
        startRealtime = realtime
        stopMonotonic = stop
    }

    public func cumulative(at time: Double) -> Double? { series.energy(from: startMonotonic, to: time) }
}
