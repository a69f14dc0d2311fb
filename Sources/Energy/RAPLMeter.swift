/// Intel/AMD RAPL energy counters through powercap: `/sys/class/powercap/<zone>/energy_uj`.
///
/// Only top-level zones (`intel-rapl:0`, one per package) are summed, so sub-zones (core, uncore,
/// dram inside a package) are not counted twice. A counter wraps to 0 after `max_energy_range_uj`;
/// a reading lower than the previous one is taken as one wrap, so the meter must be read more often
/// than a wrap takes (minutes at package power; it is read at every stage boundary). Since Linux 5.10
/// `energy_uj` is readable by root only (CVE-2020-8694).
public final class RAPLMeter: EnergyMeter {
    struct Zone {
        var file: CounterFile
        var path: String { file.path }
        var label: String
        var range: Int64
        var last: Int64 = 0
        var total: Int64 = 0
    }

    public let name = "rapl"
    public private(set) var detail: String
    public let caveats = [
        "RAPL counts the CPU package (and DRAM where a zone exists), not the whole machine's supply.",
    ]
    let files: FileAccess
    var zones: [Zone] = []
    static let base = "/sys/class/powercap"

    public init(files: FileAccess = .system) throws {
        self.files = files
        let entries = files.list(Self.base).filter { Self.isTopLevelZone($0) }
        guard !entries.isEmpty else {
            throw EnergyError(.missing, files.path(Self.base), "no RAPL zones (no intel-rapl:N folders; not an x86 machine, or the powercap driver is not loaded)")
        }
        for entry in entries {
            let dir = Self.base + "/" + entry
            let label = (try? files.read(dir + "/name"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? entry
            let range = try files.readInteger(dir + "/max_energy_range_uj")
            guard range > 0 else { throw EnergyError(.invalidReading, files.path(dir + "/max_energy_range_uj"), "must be positive, got \(range)") }
            zones.append(Zone(file: files.counter(dir + "/energy_uj"), label: label, range: range))
        }
        detail = zones.map { "\($0.label) (\(files.path($0.path)))" }.joined(separator: ", ")
    }

    /// `intel-rapl:0`, `amd-rapl:1` (not `intel-rapl:0:1`, not `intel-rapl-mmio:0`).
    static func isTopLevelZone(_ name: String) -> Bool {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0].hasSuffix("-rapl") && Int(parts[1]) != nil
    }

    /// Reads every counter once, with a readable error when permissions deny it.
    public func probe() throws {
        for z in zones { _ = try readCounter(z) }
    }

    func readCounter(_ z: Zone) throws -> Int64 {
        do {
            let v = try z.file.read()
            guard v >= 0, v <= z.range else {
                throw EnergyError(.invalidReading, files.path(z.path), "counter \(v) outside 0...max_energy_range_uj (\(z.range))")
            }
            return v
        } catch let e as EnergyError where e.category == .notPermitted {
            throw EnergyError(.notPermitted, e.subject,
                              "permission denied (since Linux 5.10 energy_uj is readable by root only: run as root, or `sudo chmod o+r \(e.subject)`)")
        }
    }

    public func start() throws {
        for i in zones.indices {
            zones[i].last = try readCounter(zones[i])
            zones[i].total = 0
        }
    }

    public func read(at now: Double) throws -> Double? {
        var sum: Int64 = 0
        for i in zones.indices {
            let v = try readCounter(zones[i])
            let delta = v >= zones[i].last ? v - zones[i].last : v + zones[i].range - zones[i].last
            zones[i].total += delta
            zones[i].last = v
            sum += zones[i].total
        }
        return Double(sum) * 1e-6
    }

    public func stop() throws {}
    public func cumulative(at time: Double) -> Double? { nil }
}
