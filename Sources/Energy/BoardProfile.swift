/// A board's power at idle and under full CPU load, from published measurements, for the model.
///
/// Modelled energy of an interval = idle power x wall time + (full - idle) / cores x CPU time.
/// The full-load figure is all cores busy (`stress --cpu 4`), so one busy core adds a quarter of the
/// difference on a 4-core board. See docs/energy.md for the sources and why each was chosen.
public struct BoardProfile: Sendable, Codable, Equatable {
    /// `pizero2w`, `pi3b+`, `pi4b`, `pi5`, `x86-64`.
    public var name: String
    public var idleWatts: Double
    public var fullLoadWatts: Double
    public var cores: Int
    /// Where the figures come from.
    public var source: String
    /// Whether the figures were measured on this kind of board by someone, or assumed.
    public var figuresMeasured: Bool

    /// Extra watts per fully busy core.
    public var wattsPerBusyCore: Double { (fullLoadWatts - idleWatts) / Double(cores) }

    /// Modelled joules for `wall` seconds during which `cpu` CPU-seconds were used.
    @inline(__always)
    public func joules(wall: Double, cpu: Double) -> Double {
        idleWatts * wall + wattsPerBusyCore * cpu
    }

    public static let pizero2w = BoardProfile(
        name: "pizero2w", idleWatts: 0.6, fullLoadWatts: 3.0, cores: 4,
        source: "idle: CNX Software, 'A deep dive into Raspberry Pi Zero 2 W's power consumption' (2021-12-09), 120 mA at 5 V with Raspberry Pi OS Bullseye; full load: an estimate (no cited stress figure), labelled as such",
        figuresMeasured: false)
    public static let pi3bPlus = BoardProfile(
        name: "pi3b+", idleWatts: 1.9, fullLoadWatts: 5.1, cores: 4,
        source: "Pi Dramble power benchmarks (pidramble.com, Jeff Geerling): 1.9 W idle, 5.1 W under stress --cpu 4",
        figuresMeasured: true)
    public static let pi4b = BoardProfile(
        name: "pi4b", idleWatts: 1.6, fullLoadWatts: 5.0, cores: 4,
        source: "geerlingguy/sbc-reviews (Raspberry Pi 4 Model B): 1.6 W idle, 5.0 W under stress-ng full load (current firmware)",
        figuresMeasured: true)
    public static let pi5 = BoardProfile(
        name: "pi5", idleWatts: 2.8, fullLoadWatts: 9.7, cores: 4,
        source: "geerlingguy/sbc-reviews (Raspberry Pi 5 Model B): 2.8 W idle, 9.7 W under stress-ng full load",
        figuresMeasured: true)
    public static let x86_64 = BoardProfile(
        name: "x86-64", idleWatts: 10.0, fullLoadWatts: 65.0, cores: 2,
        source: "ASSUMED, not measured: a generic 2-core x86-64 workstation/VM, 10 W idle and 65 W with all cores busy (a typical desktop TDP); use a measured meter (rapl) for real figures",
        figuresMeasured: false)

    public static let all: [BoardProfile] = [.pizero2w, .pi3bPlus, .pi4b, .pi5, .x86_64]

    /// A profile by name (`pi3b+`, also `pi3bplus`, `pi3`; `pi4`; `x86_64`).
    public static func named(_ name: String) -> BoardProfile? {
        let n = name.lowercased()
        let aliases = ["pi3bplus": "pi3b+", "pi3": "pi3b+", "pi4": "pi4b", "x86_64": "x86-64", "amd64": "x86-64", "pizero2": "pizero2w"]
        let key = aliases[n] ?? n
        return all.first { $0.name == key }
    }

    /// The board from `/proc/device-tree/model`; x86-64 when there is no device tree on an x86-64 machine.
    public static func detect(_ files: FileAccess = .system) throws -> BoardProfile {
        if let text = try? files.read("/proc/device-tree/model") {
            let model = String(text.filter { $0 != "\0" })
            if let p = fromModel(model) { return p }
            throw EnergyError(.badRequest, "board '\(model.trimmingCharacters(in: .whitespacesAndNewlines))'",
                              "no power profile for it; name one with --meter model:BOARD (\(all.map(\.name).joined(separator: ", ")))")
        }
        #if arch(x86_64)
        return .x86_64
        #else
        throw EnergyError(.badRequest, "board", "cannot tell the board (no /proc/device-tree/model); name one with --meter model:BOARD")
        #endif
    }

    /// Maps a device-tree model string (`Raspberry Pi 4 Model B Rev 1.4`) to a profile.
    public static func fromModel(_ model: String) -> BoardProfile? {
        let m = model.lowercased()
        if m.contains("raspberry pi zero 2") { return .pizero2w }
        if m.contains("raspberry pi 5") { return .pi5 }
        if m.contains("raspberry pi 4") { return .pi4b }
        if m.contains("raspberry pi 3 model b plus") || m.contains("raspberry pi 3 model b+") { return .pi3bPlus }
        return nil
    }
}

