/// Power samples over time, integrated to energy: piecewise-linear between samples, held flat
/// before the first and after the last.
public struct PowerSeries: Sendable, Equatable {
    /// Sample times (seconds, increasing) and power in watts.
    public private(set) var times: [Double] = []
    public private(set) var watts: [Double] = []
    /// Joules from the first sample to each sample.
    private var prefix: [Double] = []

    public init() {}

    public init(times: [Double], watts: [Double]) {
        for (t, w) in zip(times, watts).sorted(by: { $0.0 < $1.0 }) { append(time: t, watts: w) }
    }

    public var isEmpty: Bool { times.isEmpty }
    public var count: Int { times.count }

    /// Adds a sample; one not later than the last is ignored.
    public mutating func append(time: Double, watts w: Double) {
        guard w.isFinite, time.isFinite else { return }
        if let last = times.last {
            guard time > last else { return }
            prefix.append(prefix.last! + (time - last) * (w + watts.last!) / 2)
        } else {
            prefix.append(0)
        }
        times.append(time)
        watts.append(w)
    }

    /// Joules from the first sample's time to `t` (negative before it).
    public func energy(upTo t: Double) -> Double {
        guard let first = times.first else { return 0 }
        if t <= first { return (t - first) * watts[0] }
        let lastIndex = times.count - 1
        if t >= times[lastIndex] { return prefix[lastIndex] + (t - times[lastIndex]) * watts[lastIndex] }
        // The sample at or before t.
        var lo = 0, hi = lastIndex
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if times[mid] <= t { lo = mid } else { hi = mid }
        }
        let dt = t - times[lo]
        let span = times[hi] - times[lo]
        let wAtT = watts[lo] + (watts[hi] - watts[lo]) * dt / span
        return prefix[lo] + dt * (watts[lo] + wAtT) / 2
    }

    /// Joules between two times.
    public func energy(from a: Double, to b: Double) -> Double { energy(upTo: b) - energy(upTo: a) }

    /// The share of [a, b] that lies between the first and last samples (0...1).
    public func coverage(from a: Double, to b: Double) -> Double {
        guard let first = times.first, let last = times.last, b > a else { return 0 }
        return max(0, min(b, last) - max(a, first)) / (b - a)
    }
}
