import Foundation

extension EnergyReport {
    /// Prometheus text exposition format, for node_exporter's textfile collector
    /// (`--collector.textfile.directory`; write the file atomically, which ``AtomicFile`` does).
    public func prometheus(labels extra: [String: String] = [:]) -> String {
        func esc(_ v: String) -> String {
            v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        var base = ["board": board.name, "meter": meter.name]
        for (k, v) in extra { base[k] = v }
        func labels(_ more: [String: String] = [:]) -> String {
            let all = base.merging(more) { $1 }
            return "{" + all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\"\(esc($0.value))\"" }.joined(separator: ",") + "}"
        }
        func num(_ x: Double) -> String { x.isFinite ? String(format: "%.9g", x) : (x.isNaN ? "NaN" : (x > 0 ? "+Inf" : "-Inf")) }
        var s = ""
        func metric(_ name: String, _ type: String, _ help: String, _ rows: [([String: String], Double)]) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (l, v) in rows { s += "\(name)\(labels(l)) \(num(v))\n" }
        }
        func energyRows(_ e: EnergyReport.Energy, _ more: [String: String] = [:]) -> [([String: String], Double)] {
            var rows = [(more.merging(["provenance": "modelled"]) { $1 }, e.modelled)]
            if let m = e.measured { rows.append((more.merging(["provenance": "measured"]) { $1 }, m)) }
            return rows
        }
        metric("bitspot_bench_frames", "gauge", "Frames handed on by decoding in the last run.", [([:], Double(run.frames))])
        metric("bitspot_bench_processed_frames", "gauge", "Frames that went past the gate in the last run.", [([:], Double(run.processedFrames))])
        metric("bitspot_bench_wall_seconds", "gauge", "Wall time of the last run.", [([:], run.wallSeconds)])
        metric("bitspot_bench_energy_joules", "gauge", "Energy of the last run.", energyRows(run.joules))
        metric("bitspot_bench_energy_per_frame_joules", "gauge", "Energy per frame of the last run.",
               energyRows(EnergyReport.Energy(modelled: run.millijoulesPerFrame.modelled / 1000, measured: run.millijoulesPerFrame.measured.map { $0 / 1000 })))
        var latency: [([String: String], Double)] = []
        for (q, v) in [("0.5", run.processedLatencyMs.p50), ("0.95", run.processedLatencyMs.p95), ("0.99", run.processedLatencyMs.p99), ("1", run.processedLatencyMs.max)] {
            latency.append((["quantile": q], v / 1000))
        }
        metric("bitspot_bench_frame_latency_seconds", "gauge", "Latency of a processed frame in the last run, by quantile.", latency)
        var stageLatency: [([String: String], Double)] = [], stageEnergy: [([String: String], Double)] = [], stageCPU: [([String: String], Double)] = []
        var stageCounters: [([String: String], Double)] = []
        for st in stages {
            stageLatency.append((["stage": st.name, "quantile": "0.95"], st.latencyMs.p95 / 1000))
            stageLatency.append((["stage": st.name, "quantile": "0.5"], st.latencyMs.p50 / 1000))
            stageEnergy += energyRows(st.joules, ["stage": st.name])
            stageCPU.append((["stage": st.name], st.cpuSeconds))
            for (k, v) in st.counters.sorted(by: { $0.key < $1.key }) { stageCounters.append((["stage": st.name, "counter": k], Double(v))) }
        }
        metric("bitspot_bench_stage_latency_seconds", "gauge", "Stage latency in the last run, by quantile.", stageLatency)
        metric("bitspot_bench_stage_energy_joules", "gauge", "Stage energy in the last run.", stageEnergy)
        metric("bitspot_bench_stage_cpu_seconds", "gauge", "Stage CPU time (per-thread clock) in the last run.", stageCPU)
        if !stageCounters.isEmpty { metric("bitspot_bench_stage_events", "gauge", "Events a stage counted (early exits and the like).", stageCounters) }
        if let budget {
            metric("bitspot_bench_budget_met", "gauge", "1 when the budget item was met in the last run.",
                   budget.verdicts.map { (["item": $0.item], $0.met ? 1 : 0) })
        }
        if let controller {
            metric("bitspot_bench_controller_decisions", "gauge", "Knob changes the adaptive controller made.", [([:], Double(controller.decisions.count))])
            metric("bitspot_bench_controller_stride", "gauge", "Sampling stride at the end of the run.", [([:], Double(controller.final.stride))])
            metric("bitspot_bench_controller_gate_threshold", "gauge", "Gate threshold at the end of the run.", [([:], controller.final.gateThreshold)])
        }
        metric("bitspot_bench_last_run_timestamp_seconds", "gauge", "When the last run's report was written (Unix time).", [([:], Date().timeIntervalSince1970)])
        return s
    }
}
