/// Latency and energy summaries.
public struct Percentiles: Sendable, Codable, Equatable {
    public var count: Int
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var max: Double
    public var mean: Double

    public static let empty = Percentiles(count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0)

    public init(count: Int, p50: Double, p95: Double, p99: Double, max: Double, mean: Double) {
        self.count = count
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.max = max
        self.mean = mean
    }

    /// Nearest-rank percentiles (the smallest value with at least p% of the values at or below it).
    public init(_ values: [Double]) {
        guard !values.isEmpty else { self = .empty; return }
        let s = values.sorted()
        func rank(_ p: Double) -> Double {
            let r = Int((p / 100 * Double(s.count)).rounded(.up))
            return s[Swift.max(0, Swift.min(s.count - 1, r - 1))]
        }
        self.init(count: s.count, p50: rank(50), p95: rank(95), p99: rank(99), max: s.last!, mean: s.reduce(0, +) / Double(s.count))
    }

    public func scaled(_ k: Double) -> Percentiles {
        Percentiles(count: count, p50: p50 * k, p95: p95 * k, p99: p99 * k, max: max * k, mean: mean * k)
    }

    /// A percentile by name: `p50`, `p95`, `p99`, `max`, `mean`.
    public func value(_ name: String) -> Double? {
        switch name {
        case "p50": return p50
        case "p95": return p95
        case "p99": return p99
        case "max": return max
        case "mean": return mean
        default: return nil
        }
    }
}
