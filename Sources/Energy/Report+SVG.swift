import Foundation

/// SVG charts written as text: latency per frame over time, energy per stage stacked, early-exit histogram.
extension EnergyReport {
    static let palette = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb"]

    /// File name and SVG text of each chart.
    public func charts() -> [(name: String, svg: String)] {
        [("latency.svg", latencyChart()), ("energy-stages.svg", energyChart()), ("early-exits.svg", earlyExitChart())]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Frame for a chart: title, axes, ticks; `body` draws inside the plot area.
    static func frame(title: String, xLabel: String, yLabel: String, xMax: Double, yMax: Double,
                      width: Double = 720, height: Double = 360, xTicks: [(Double, String)]? = nil,
                      body: (_ x: (Double) -> Double, _ y: (Double) -> Double) -> String) -> String {
        let left = 64.0, right = 20.0, top = 36.0, bottom = 48.0
        let pw = width - left - right, ph = height - top - bottom
        let xm = xMax > 0 ? xMax : 1, ym = yMax > 0 ? yMax : 1
        func x(_ v: Double) -> Double { left + v / xm * pw }
        func y(_ v: Double) -> Double { top + ph - v / ym * ph }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>\n"
        for i in 0...4 {
            let v = ym * Double(i) / 4
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", left, y(v), left + pw, y(v))
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, y(v) + 4, tick(v))
        }
        for (v, label) in xTicks ?? (0...4).map({ (xm * Double($0) / 4, tick(xm * Double($0) / 4)) }) {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", x(v), top + ph + 16, escape(label))
        }
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top + ph, left + pw, top + ph)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top, left, top + ph)
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += String(format: "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">%@</text>\n", top + ph / 2, top + ph / 2, escape(yLabel))
        s += body(x, y)
        return s + "</svg>\n"
    }

    static func tick(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 1 { return String(format: "%.1f", v) }
        return String(format: "%.3g", v)
    }

    /// Latency of each frame over video time; processed frames in blue, others grey; budget lines dashed.
    func latencyChart() -> String {
        let tMax = frames.map(\.time).max() ?? 1
        var limits: [(String, Double)] = []
        for v in budget?.verdicts ?? [] where v.kind == .latency { limits.append((v.item, v.limit * 1000)) }
        let yMax = max(frames.map(\.latencyMs).max() ?? 1, limits.map(\.1).max() ?? 0) * 1.1
        return Self.frame(title: "Latency per frame (\(meter.provenance == .measured ? "wall clock" : "wall clock; energy modelled"))",
                          xLabel: "video time (s)", yLabel: "latency (ms)", xMax: tMax, yMax: yMax) { x, y in
            var s = ""
            let points = frames.map { String(format: "%.1f,%.1f", x($0.time), y($0.latencyMs)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"#bbbbbb\" stroke-width=\"1\" points=\"\(points)\"/>\n"
            for f in frames where f.processed {
                s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#4477aa\"/>\n", x(f.time), y(f.latencyMs))
            }
            for (name, ms) in limits {
                s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ee6677\" stroke-dasharray=\"6 4\"/>\n", x(0), y(ms), x(tMax), y(ms))
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"#ee6677\" text-anchor=\"end\">%@</text>\n", x(tMax), y(ms) - 4, Self.escape(name))
            }
            s += "<text x=\"\(x(0) + 6)\" y=\"\(y(yMax) + 12)\" fill=\"#4477aa\">dots: processed frames; line: every frame</text>\n"
            return s
        }
    }

    /// Mean energy per frame in time bins, stacked by stage.
    func energyChart(bins: Int = 30) -> String {
        let n = max(1, min(bins, frames.count))
        var sums = Array(repeating: Array(repeating: 0.0, count: stages.count), count: n)
        var counts = Array(repeating: 0, count: n)
        for (i, f) in frames.enumerated() {
            let b = min(n - 1, i * n / max(1, frames.count))
            counts[b] += 1
            for (s, e) in f.stageMillijoules.enumerated() where s < stages.count { sums[b][s] += e }
        }
        let means = sums.enumerated().map { b, row in row.map { counts[b] > 0 ? $0 / Double(counts[b]) : 0 } }
        let limits = (budget?.verdicts ?? []).filter { $0.kind == .energyPerFrame }.map { ($0.item, $0.limit * 1000) }
        let yMax = max(means.map { $0.reduce(0, +) }.max() ?? 1, limits.map(\.1).max() ?? 0) * 1.15
        let provenance = meter.provenance.rawValue
        let firstTime = frames.first?.time ?? 0, lastTime = frames.last?.time ?? 0
        return Self.frame(title: "Energy per frame by stage (\(provenance))", xLabel: "frames in order, \(n) bins (video \(String(format: "%.1f", firstTime))-\(String(format: "%.1f", lastTime)) s)",
                          yLabel: "mJ per frame (\(provenance))", xMax: Double(n), yMax: yMax) { x, y in
            var s = ""
            for b in 0..<n {
                var base = 0.0
                for (si, e) in means[b].enumerated() where e > 0 {
                    let colour = Self.palette[si % Self.palette.count]
                    s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n",
                                x(Double(b)) + 1, y(base + e), max(0.5, x(Double(b + 1)) - x(Double(b)) - 2), max(0, y(base) - y(base + e)), colour)
                    base += e
                }
            }
            for (name, mJ) in limits {
                s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ee6677\" stroke-dasharray=\"6 4\"/>\n", x(0), y(mJ), x(Double(n)), y(mJ))
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"#ee6677\" text-anchor=\"end\">%@</text>\n", x(Double(n)), y(mJ) - 4, Self.escape(name))
            }
            for (si, st) in stages.enumerated() {
                let colour = Self.palette[si % Self.palette.count]
                let lx = x(0) + 8 + Double(si) * 100
                s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%@\"/>", lx, y(yMax) + 2, colour)
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", lx + 14, y(yMax) + 11, Self.escape(st.name))
            }
            return s
        }
    }

    /// Counts of each stage's `exit:*` counters (frames leaving at each early-exit head).
    func earlyExitChart() -> String {
        var bars: [(String, Int)] = []
        for st in stages {
            for (k, v) in st.counters.sorted(by: { $0.key < $1.key }) where k.hasPrefix("exit") || k == "full" {
                bars.append(("\(st.name) \(k)", v))
            }
        }
        guard !bars.isEmpty else {
            return Self.frame(title: "Early exits", xLabel: "exit head", yLabel: "frames", xMax: 1, yMax: 1, xTicks: []) { x, y in
                "<text x=\"\(x(0.5))\" y=\"\(y(0.5))\" text-anchor=\"middle\">no early-exit stage ran in this run (detector and recognizer are not built yet)</text>\n"
            }
        }
        let yMax = Double(bars.map(\.1).max() ?? 1) * 1.15
        let ticks = bars.enumerated().map { (Double($0.offset) + 0.5, $0.element.0) }
        return Self.frame(title: "Early exits", xLabel: "exit head", yLabel: "frames", xMax: Double(bars.count), yMax: yMax, xTicks: ticks) { x, y in
            var s = ""
            for (i, bar) in bars.enumerated() {
                s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#228833\"/>\n",
                            x(Double(i) + 0.15), y(Double(bar.1)), x(Double(i) + 0.85) - x(Double(i) + 0.15), y(0) - y(Double(bar.1)))
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", x(Double(i) + 0.5), y(Double(bar.1)) - 4, bar.1)
            }
            return s
        }
    }
}
