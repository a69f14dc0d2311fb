/// Whether a figure was read from a power sensor or computed from a model. Every energy figure carries one.
public enum Provenance: String, Sendable, Codable, Equatable {
    case measured
    case modelled
}

/// A power or energy sensor read around the pipeline's stages.
///
/// The accountant calls ``start()``, then ``read(at:)`` at every stage boundary, then ``stop()``.
/// Counter meters (RAPL) and meters cheap to read (hwmon) answer ``read(at:)`` with the energy
/// since start. Meters that sample in the background (the Pi 5 PMIC) or whose log is read afterwards
/// (a USB meter's CSV) answer nil there, and ``cumulative(at:)`` after ``stop()`` instead.
public protocol EnergyMeter: AnyObject {
    /// Short name as given to `--meter` (`rapl`, `hwmon:ina219`, `pi5-pmic`, `csv:FILE`).
    var name: String { get }
    /// What exactly is read (files, rails), for the report.
    var detail: String { get }
    /// Limits a reader of the figures must know.
    var caveats: [String] { get }
    func start() throws
    /// Joules since ``start()`` at `now` (a ``Clocks/monotonic()`` time), or nil when known only after ``stop()``.
    func read(at now: Double) throws -> Double?
    func stop() throws
    /// After ``stop()``: joules since start at a past monotonic time; nil for meters read live.
    func cumulative(at time: Double) -> Double?
}

/// Which meter `--meter` asked for.
public enum MeterSpec: Sendable, Equatable, CustomStringConvertible {
    case auto
    case rapl
    case hwmon(String?)
    case pi5PMIC
    case csv(String)
    case model(String?)

    /// Parses `auto|rapl|hwmon[:NAME[:LABEL,...]]|pi5-pmic|csv:FILE|model[:BOARD]`.
    public init(parsing text: String) throws {
        let (head, tail): (String, String?) = {
            guard let colon = text.firstIndex(of: ":") else { return (text, nil) }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }()
        switch head.lowercased() {
        case "auto" where tail == nil: self = .auto
        case "rapl" where tail == nil: self = .rapl
        case "hwmon": self = .hwmon(tail.flatMap { $0.isEmpty ? nil : $0 })
        case "pi5-pmic" where tail == nil, "pmic" where tail == nil: self = .pi5PMIC
        case "csv":
            guard let file = tail, !file.isEmpty else { throw EnergyError(.badRequest, "--meter \(text)", "csv needs a file: csv:FILE") }
            self = .csv(file)
        case "model":
            if let board = tail, !board.isEmpty {
                guard BoardProfile.named(board) != nil else {
                    throw EnergyError(.badRequest, "--meter \(text)",
                                      "unknown board '\(board)'; boards: \(BoardProfile.all.map(\.name).joined(separator: ", "))")
                }
                self = .model(board)
            } else {
                self = .model(nil)
            }
        default:
            throw EnergyError(.badRequest, "--meter \(text)", "unknown meter; use auto, rapl, hwmon[:NAME], pi5-pmic, csv:FILE or model[:BOARD]")
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .rapl: return "rapl"
        case .hwmon(let n): return n.map { "hwmon:\($0)" } ?? "hwmon"
        case .pi5PMIC: return "pi5-pmic"
        case .csv(let f): return "csv:\(f)"
        case .model(let b): return b.map { "model:\($0)" } ?? "model"
        }
    }
}

/// Where meters look, all injectable for tests.
public struct MeterEnvironment: Sendable {
    public var files: FileAccess
    /// The `vcgencmd` program (searched in PATH when it has no slash).
    public var vcgencmd: String
    /// Seconds between PMIC samples.
    public var pmicInterval: Double

    public init(files: FileAccess = .system, vcgencmd: String = "vcgencmd", pmicInterval: Double = 0.2) {
        self.files = files
        self.vcgencmd = vcgencmd
        self.pmicInterval = pmicInterval
    }
}

/// The meter and board profile a run uses.
public struct MeterChoice {
    /// The sensor, or nil when energy is modelled only.
    public var meter: EnergyMeter?
    public var profile: BoardProfile
    /// Why `auto` chose what it chose (the meters it tried and why they failed).
    public var notes: [String]

    public var provenance: Provenance { meter == nil ? .modelled : .measured }
}

extension MeterSpec {
    /// Opens the meter (checking it can be read once) and picks the board profile for the model column.
    public func open(_ env: MeterEnvironment = MeterEnvironment()) throws -> MeterChoice {
        func profile(_ name: String? = nil) throws -> BoardProfile {
            if let name, let p = BoardProfile.named(name) { return p }
            return try BoardProfile.detect(env.files)
        }
        switch self {
        case .model(let board):
            var notes: [String] = []
            let chosen = try profile(board)
            if board != nil, let here = try? BoardProfile.detect(env.files), here.name != chosen.name {
                notes.append("the \(chosen.name) profile was named but this machine is \(here.name): its CPU times are applied to the \(chosen.name) power figures as measured here, not as they would be on a \(chosen.name)")
            }
            return MeterChoice(meter: nil, profile: chosen, notes: notes)
        case .rapl:
            let m = try RAPLMeter(files: env.files)
            try m.probe()
            return MeterChoice(meter: m, profile: try profile(), notes: [])
        case .hwmon(let name):
            let m = try HwmonMeter(files: env.files, selector: name)
            try m.probe()
            return MeterChoice(meter: m, profile: try profile(), notes: [])
        case .pi5PMIC:
            let m = PMICMeter(vcgencmd: env.vcgencmd, interval: env.pmicInterval)
            try m.probe()
            return MeterChoice(meter: m, profile: try profile(), notes: [])
        case .csv(let file):
            let m = try CSVMeter(path: file)
            return MeterChoice(meter: m, profile: try profile(), notes: [])
        case .auto:
            var notes: [String] = []
            let board = try profile()
            let tries: [MeterSpec] = board.name == "pi5" ? [.rapl, .hwmon(nil), .pi5PMIC] : [.rapl, .hwmon(nil)]
            for spec in tries {
                do {
                    var choice = try spec.open(env)
                    choice.notes = notes
                    return choice
                } catch let e as EnergyError {
                    notes.append("\(spec): \(e.cause) (\(e.subject))")
                }
            }
            notes.append("no readable power sensor: energy is modelled for \(board.name)")
            return MeterChoice(meter: nil, profile: board, notes: notes)
        }
    }
}
