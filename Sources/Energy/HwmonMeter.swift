import Foundation

/// A hwmon power sensor: `/sys/class/hwmon/hwmonN/`.
///
/// A device with `power*_input` (microwatts) is read directly; otherwise each `curr*_input` (mA) is
/// multiplied by the `in*_input` (mV) of the same number (INA219/INA226/INA3221 bus voltage and
/// current). INA3221 has three rails and no power file: `hwmon:ina3221:VDD_IN` picks rails by their
/// `curr*_label`/`in*_label`. Power is read at every stage boundary and integrated (trapezoids), so
/// the figure is as good as the sensor's own averaging time.
///
/// Selector: `NAME` (the device's `name` file, or the folder name `hwmonN`), then optionally
/// `:LABEL,LABEL` to keep only some channels.
public final class HwmonMeter: EnergyMeter {
    /// One power channel: a power file, or a current and a voltage file.
    struct Channel: Equatable {
        var label: String
        var power: String?
        var current: String?
        var voltage: String?
    }

    public let name: String
    public private(set) var detail: String
    public let caveats = [
        "hwmon power is sampled at stage boundaries and integrated; a stage shorter than the sensor's conversion time gets the last reading.",
        "The sensor measures the rail it is wired to, which may not be the whole board.",
    ]
    let files: FileAccess
    let channels: [Channel]
    /// Per channel: the power file, or the current and voltage files, kept open.
    let counters: [(power: CounterFile?, current: CounterFile?, voltage: CounterFile?)]
    var lastTime: Double?
    var lastWatts = 0.0
    var joules = 0.0
    static let base = "/sys/class/hwmon"

    public init(files: FileAccess = .system, selector: String? = nil) throws {
        self.files = files
        var device: String? = nil, labels: [String]? = nil
        if let selector {
            let parts = selector.split(separator: ":", maxSplits: 1).map(String.init)
            device = parts.first
            if parts.count > 1 { labels = parts[1].split(separator: ",").map { String($0) } }
        }
        let entries = files.list(Self.base)
        guard !entries.isEmpty else { throw EnergyError(.missing, files.path(Self.base), "no hwmon devices") }
        var found: (entry: String, deviceName: String, channels: [Channel])? = nil
        for entry in entries {
            let dir = Self.base + "/" + entry
            let deviceName = (try? files.read(dir + "/name"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? entry
            if let device, device != deviceName, device != entry { continue }
            var chans = Self.channels(in: dir, files: files)
            if let labels { chans = chans.filter { labels.contains($0.label) } }
            if !chans.isEmpty { found = (entry, deviceName, chans); break }
            if device != nil {
                let what = labels.map { "no channel labelled \($0.joined(separator: ","))" } ?? "no power*_input, nor curr*_input with in*_input"
                throw EnergyError(.missing, files.path(dir), "hwmon device '\(deviceName)' has \(what)")
            }
        }
        guard let found else {
            throw EnergyError(.missing, files.path(Self.base),
                              device.map { "no hwmon device named '\($0)'" } ?? "no hwmon device reports power (power*_input, or curr*_input with in*_input)")
        }
        name = "hwmon:\(found.deviceName)"
        channels = found.channels
        counters = found.channels.map { c in (c.power.map(files.counter), c.current.map(files.counter), c.voltage.map(files.counter)) }
        detail = "\(found.entry) (\(found.deviceName)): " + found.channels.map { c in
            if let p = c.power { return "\(c.label) \(p.split(separator: "/").last!)" }
            return "\(c.label) \(c.current!.split(separator: "/").last!) x \(c.voltage!.split(separator: "/").last!)"
        }.joined(separator: ", ")
    }

    /// The power channels of one device folder.
    static func channels(in dir: String, files: FileAccess) -> [Channel] {
        let names = files.list(dir)
        func numbered(_ prefix: String, _ suffix: String) -> [Int: String] {
            var out: [Int: String] = [:]
            for n in names where n.hasPrefix(prefix) && n.hasSuffix(suffix) {
                let digits = n.dropFirst(prefix.count).dropLast(suffix.count)
                if let i = Int(digits) { out[i] = dir + "/" + n }
            }
            return out
        }
        func label(_ kind: String, _ i: Int) -> String? {
            (try? files.read(dir + "/\(kind)\(i)_label"))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let powers = numbered("power", "_input")
        if !powers.isEmpty {
            return powers.keys.sorted().map { Channel(label: label("power", $0) ?? "power\($0)", power: powers[$0]) }
        }
        let currents = numbered("curr", "_input"), volts = numbered("in", "_input")
        return currents.keys.sorted().compactMap { i in
            guard let v = volts[i] else { return nil }
            return Channel(label: label("curr", i) ?? label("in", i) ?? "rail\(i)", current: currents[i], voltage: v)
        }
    }

    /// Watts now, summed over the channels.
    func watts() throws -> Double {
        var sum = 0.0
        for c in counters {
            if let p = c.power {
                sum += Double(try p.read()) * 1e-6
            } else {
                let mA = try c.current!.read(), mV = try c.voltage!.read()
                sum += Double(mA) * Double(mV) * 1e-6
            }
        }
        guard sum >= 0 else { throw EnergyError(.invalidReading, name, "negative power \(sum) W") }
        return sum
    }

    public func probe() throws { _ = try watts() }

    public func start() throws {
        lastWatts = try watts()
        lastTime = Clocks.monotonic()
        joules = 0
    }

    public func read(at now: Double) throws -> Double? {
        let w = try watts()
        if let t = lastTime { joules += max(0, now - t) * (w + lastWatts) / 2 }
        lastTime = now
        lastWatts = w
        return joules
    }

    public func stop() throws {}
    public func cumulative(at time: Double) -> Double? { nil }
}
