import Foundation

/// Limits a run must stay within: `p95=60ms,energy=80mJ/frame,total=2Wh`.
///
/// Items (comma-separated, or one per line in a budget file with `#` comments):
/// - `p50=`, `p95=`, `p99=`, `max=`, `mean=`: latency of a processed frame, with a unit `us`, `ms` or `s`;
/// - `energy=`: energy per frame, `uJ`, `mJ` or `J` followed by `/frame` (every frame decoding handed on)
///   or `/processed` (frames that went past the gate);
/// - `total=`: the run's energy, `Wh`, `mWh`, `J`, `kJ`.
public struct Budget: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, Equatable {
        case latency
        case energyPerFrame
        case energyPerProcessedFrame
        case total
    }

    public struct Item: Sendable, Equatable, Codable, CustomStringConvertible {
        /// As written before `=` (`p95`, `energy`, `total`).
        public var key: String
        public var kind: Kind
        /// Seconds for latency, joules for energy.
        public var limit: Double
        /// As written, for messages.
        public var text: String

        public var description: String { "\(key)=\(text)" }
    }

    public var items: [Item]

    public init(items: [Item] = []) { self.items = items }

    public var isEmpty: Bool { items.isEmpty }

    /// Parses `p95=60ms,energy=80mJ/frame,total=2Wh`.
    public init(parsing text: String) throws {
        items = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else { throw EnergyError(.badRequest, "budget '\(text)'", "empty item (two commas, or a comma at the end)") }
            let parsed = try Self.item(item)
            // A positive number can still overflow or underflow once scaled to seconds or joules (1e308Wh, 1e-320us).
            guard parsed.limit > 0, parsed.limit.isFinite else {
                throw EnergyError(.badRequest, "budget item '\(item)'", "the limit is out of range once converted to \(parsed.kind == .latency ? "seconds" : "joules")")
            }
            try add(parsed)
        }
    }

    /// Reads a budget file: the same items, one or more per line, `#` starts a comment.
    public init(file path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnergyError(FileManager.default.fileExists(atPath: path) ? .notPermitted : .missing, path, "cannot read the budget file")
        }
        items = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(rawLine)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                for part in try Budget(parsing: line).items { try add(part) }
            } catch let e as EnergyError {
                throw EnergyError(.badRequest, "\(path):\(n + 1): \(e.subject)", e.cause)
            }
        }
        if items.isEmpty { throw EnergyError(.badRequest, path, "the budget file names no item") }
    }

    /// Adds an item; the same key twice is an error.
    public mutating func add(_ item: Item) throws {
        if items.contains(where: { $0.key == item.key }) {
            throw EnergyError(.badRequest, "budget item '\(item)'", "\(item.key) is given twice")
        }
        items.append(item)
    }

    /// Merges another budget (a file plus `--budget`): the same key twice is an error.
    public mutating func merge(_ other: Budget) throws { for i in other.items { try add(i) } }

    static let latencyKeys = ["p50", "p95", "p99", "max", "mean"]

    static func item(_ item: String) throws -> Item {
        let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw EnergyError(.badRequest, "budget item '\(item)'", "write KEY=VALUE, e.g. p95=60ms, energy=80mJ/frame, total=2Wh")
        }
        let key = parts[0].lowercased(), value = parts[1]
        func bad(_ why: String) -> EnergyError { EnergyError(.badRequest, "budget item '\(item)'", why) }
        let (number, unit) = try split(value, item: item)
        if latencyKeys.contains(key) {
            let scale: Double
            switch unit {
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "": throw bad("a latency needs a unit: us, ms or s (e.g. \(key)=60ms)")
            default: throw bad("'\(unit)' is not a latency unit; use us, ms or s")
            }
            return Item(key: key, kind: .latency, limit: number * scale, text: value)
        }
        switch key {
        case "energy":
            let pieces = unit.split(separator: "/", maxSplits: 1).map(String.init)
            guard pieces.count == 2 else { throw bad("energy is per frame: write e.g. 80mJ/frame or 120mJ/processed") }
            let scale: Double
            switch pieces[0] {
            case "uJ", "µJ", "uj": scale = 1e-6
            case "mJ", "mj": scale = 1e-3
            case "J", "j": scale = 1
            default: throw bad("'\(pieces[0])' is not a per-frame energy unit; use uJ, mJ or J")
            }
            switch pieces[1].lowercased() {
            case "frame", "f": return Item(key: key, kind: .energyPerFrame, limit: number * scale, text: value)
            case "processed", "processed-frame", "pframe":
                return Item(key: "energy/processed", kind: .energyPerProcessedFrame, limit: number * scale, text: value)
            default: throw bad("'/\(pieces[1])': energy is per 'frame' or per 'processed' frame")
            }
        case "total":
            let scale: Double
            switch unit {
            case "Wh", "wh": scale = 3600
            case "mWh", "mwh": scale = 3.6
            case "kJ", "kj": scale = 1000
            case "J", "j": scale = 1
            case "": throw bad("a total needs a unit: Wh, mWh, J or kJ (e.g. total=2Wh)")
            default: throw bad("'\(unit)' is not an energy unit for the run; use Wh, mWh, J or kJ")
            }
            return Item(key: key, kind: .total, limit: number * scale, text: value)
        default:
            throw bad("unknown key '\(parts[0])'; use p50, p95, p99, max, mean (latency), energy (per frame) or total (run)")
        }
    }

    /// `60ms` -> (60, "ms"); the number must be positive and finite.
    static func split(_ value: String, item: String) throws -> (Double, String) {
        let digits = value.prefix { $0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-" }
        // "e" of a unit is not an exponent: back off to the longest prefix that parses.
        var numberText = String(digits)
        while !numberText.isEmpty, Double(numberText) == nil { numberText.removeLast() }
        guard let number = Double(numberText) else {
            throw EnergyError(.badRequest, "budget item '\(item)'", "'\(value)' does not start with a number")
        }
        guard number > 0, number.isFinite else {
            throw EnergyError(.badRequest, "budget item '\(item)'", "the limit must be a positive number, got \(numberText)")
        }
        let unit = value.dropFirst(numberText.count).trimmingCharacters(in: .whitespaces)
        return (number, unit)
    }
}

/// A budget checked against a run.
public struct BudgetReport: Codable, Sendable {
    public struct Verdict: Codable, Sendable {
        public var item: String
        public var kind: Budget.Kind
        /// Seconds or joules.
        public var limit: Double
        public var observed: Double
        /// `measured` or `modelled`: which column the item was checked against.
        public var provenance: Provenance
        public var met: Bool
        /// One line for a person: `p95 latency 48.2 ms <= 60 ms`.
        public var summary: String
    }

    public var verdicts: [Verdict]
    public var met: Bool { verdicts.allSatisfy(\.met) }
}

extension Budget {
    /// Checks every item; energy against the measured column when there is one.
    public func check(_ report: EnergyReport) -> BudgetReport {
        let run = report.run
        let provenance = run.joules.measured != nil ? Provenance.measured : .modelled
        var out: [BudgetReport.Verdict] = []
        for item in items {
            let observed: Double, unit: String, scale: Double, what: String
            var itemProvenance = provenance
            switch item.kind {
            case .latency:
                // Processed frames when there are any; otherwise every frame.
                let lat = run.processedFrames > 0 ? run.processedLatencyMs : run.frameLatencyMs
                observed = (lat.value(item.key) ?? 0) / 1000
                unit = "ms"; scale = 1000; what = "\(item.key) latency"
                itemProvenance = .measured
            case .energyPerFrame:
                observed = run.millijoulesPerFrame.primary / 1000
                unit = "mJ"; scale = 1000; what = "energy per frame"
            case .energyPerProcessedFrame:
                observed = (run.millijoulesPerProcessedFrame?.primary ?? 0) / 1000
                unit = "mJ"; scale = 1000; what = "energy per processed frame"
            case .total:
                observed = run.joules.primary
                unit = observed < 36 ? "mWh" : "Wh"; scale = observed < 36 ? 1 / 3.6 : 1 / 3600; what = "run energy"
            }
            let met = observed <= item.limit
            let summary = String(format: "%@ %.3g %@ %@ %.3g %@ (%@)", what, observed * scale, unit, met ? "<=" : ">",
                                 item.limit * scale, unit, itemProvenance.rawValue)
            out.append(.init(item: item.description, kind: item.kind, limit: item.limit, observed: observed,
                             provenance: itemProvenance, met: met, summary: summary))
        }
        return BudgetReport(verdicts: out)
    }
}
