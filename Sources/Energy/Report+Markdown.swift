import Foundation

extension EnergyReport {
    /// A readable summary: run totals, stages, budget verdicts, controller decisions.
    public func markdown() -> String {
        let measured = run.joules.measured != nil
        func e(_ x: EnergyReport.Energy, _ scale: Double = 1, _ digits: Int = 2) -> String {
            let m = String(format: "%.\(digits)f", x.modelled * scale)
            guard let v = x.measured else { return m }
            return String(format: "%.\(digits)f", v * scale) + " (model " + m + ")"
        }
        var s = "# BitSpot energy report\n\n"
        s += "- input: `\(input)`\n"
        s += "- board: \(board.name) (idle \(board.idleWatts) W, full load \(board.fullLoadWatts) W, \(board.cores) cores; \(board.source))\n"
        s += "- meter: \(meter.name), **\(meter.provenance.rawValue)**: \(meter.detail)\n"
        for n in meter.notes { s += "  - \(n)\n" }
        for c in meter.caveats { s += "  - caveat: \(c)\n" }
        s += "- created: \(createdAt) by \(tool)\n\n"
        s += "## Run\n\n"
        s += "| figure | value |\n| --- | --- |\n"
        s += String(format: "| wall time | %.3f s |\n| process CPU time | %.3f s |\n", run.wallSeconds, run.processCPUSeconds)
        s += "| frames (decoded and sampled) | \(run.frames) |\n| processed frames (past the gate) | \(run.processedFrames) |\n"
        let label = measured ? "measured" : "modelled"
        s += "| energy (\(label)) | \(e(run.joules, 1, 3)) J = \(e(run.wattHours, 1000, 4)) mWh |\n"
        s += "| energy per frame (\(label)) | \(e(run.millijoulesPerFrame)) mJ |\n"
        if let p = run.millijoulesPerProcessedFrame { s += "| energy per processed frame (\(label)) | \(e(p)) mJ |\n" }
        s += "| energy outside stages (\(label)) | \(e(run.unattributedJoules, 1, 3)) J |\n"
        let l = run.processedLatencyMs
        s += String(format: "| processed-frame latency p50 / p95 / p99 / max | %.2f / %.2f / %.2f / %.2f ms |\n", l.p50, l.p95, l.p99, l.max)
        for (k, v) in pipelineCounters.sorted(by: { $0.key < $1.key }) { s += "| \(k) | \(v) |\n" }
        s += "\n## Stages\n\n"
        s += "| stage | calls | p50 ms | p95 ms | p99 ms | max ms | CPU s | mJ/frame (\(label)) | mJ/processed frame | op-count mJ | counters |\n"
        s += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
        for st in stages {
            let c = st.counters.sorted(by: { $0.key < $1.key }).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            s += String(format: "| %@ | %d | %.2f | %.2f | %.2f | %.2f | %.3f | ", st.name, st.calls, st.latencyMs.p50, st.latencyMs.p95,
                        st.latencyMs.p99, st.latencyMs.max, st.cpuSeconds)
            s += e(st.millijoulesPerFrame, 1, 3) + " | " + (st.millijoulesPerProcessedFrame.map { e($0, 1, 3) } ?? "-") + " | "
            s += (st.opCountJoules.map { String(format: "%.4f", $0 * 1000) } ?? "-") + " | " + (c.isEmpty ? "-" : c) + " |\n"
        }
        s += "\nop-count energy (network only, \(opEnergyTable.source)) is a separate estimate, not part of the board energy.\n"
        if let budget {
            s += "\n## Budget: " + (budget.met ? "met" : "**MISSED**") + "\n\n| item | verdict | detail |\n| --- | --- | --- |\n"
            for v in budget.verdicts { s += "| `\(v.item)` | \(v.met ? "met" : "**missed**") | \(v.summary) |\n" }
        }
        if let controller {
            s += "\n## Adaptive controller\n\n"
            s += "window \(controller.window) frames, tighten above \(controller.tightenAbove), relax below \(controller.relaxBelow); "
            s += "start \(Self.describe(controller.initial)), end \(Self.describe(controller.final)), \(controller.decisions.count) decisions\n\n"
            if !controller.decisions.isEmpty {
                s += "| frame | time s | action | knob | item | pressure | knobs after |\n| ---: | ---: | --- | --- | --- | ---: | --- |\n"
                for d in controller.decisions {
                    s += String(format: "| %d | %.2f | %@ | %@ | `%@` | %.2f | %@ |\n", d.frame, d.time, d.action, d.knob, d.item, d.pressure, Self.describe(d.knobs))
                }
            }
        }
        if !notes.isEmpty { s += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined() }
        return s
    }

    static func describe(_ k: Knobs) -> String {
        var s = "stride \(k.stride), gate \(String(format: "%.1f", k.gateThreshold))"
        if !k.exitThresholds.isEmpty { s += ", exits " + k.exitThresholds.map { String(format: "%.2f", $0) }.joined(separator: "/") }
        return s
    }
}
