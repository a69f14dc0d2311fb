import Energy
import FuzzSupport

/// Power logs: a USB meter's CSV (`--meter csv:FILE`) and the Pi 5 PMIC's `vcgencmd pmic_read_adc`
/// output. What parses is integrated as the meters do (a `PowerSeries`), which must give finite,
/// consistent figures for finite samples.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPowerLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)

    do {
        let (times, watts) = try CSVMeter.parse(text, file: "fuzz.csv")
        Fuzz.check(!times.isEmpty && times.count == watts.count, "one power per time")
        Fuzz.check(times.allSatisfy(\.isFinite), "times are finite")
        Fuzz.check(watts.allSatisfy { $0.isFinite && $0 >= 0 }, "watts are finite and not negative")
        let series = PowerSeries(times: times, watts: watts)
        Fuzz.check(series.count >= 1 && series.count <= times.count, "the series keeps 1...\(times.count) samples")
        if let first = series.times.first, let last = series.times.last {
            let coverage = series.coverage(from: first - 1, to: last + 1)
            Fuzz.check(!(coverage < 0 || coverage > 1), "coverage \(coverage) outside 0...1")
            let e = series.energy(from: first, to: last)
            Fuzz.check(!(e < 0), "energy over the log \(e) is negative")
            _ = series.energy(upTo: (first + last) / 2)
        }
    } catch {
        Fuzz.check(error is EnergyError, "CSVMeter.parse threw \(type(of: error))")
    }

    let rails = PMICMeter.parse(text)
    Fuzz.check(rails.values.allSatisfy { $0.isFinite && $0 >= 0 }, "rail power is finite and not negative")
    return 0
}
