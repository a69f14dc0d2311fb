import ArgumentParser
import BitNet
import Foundation

/// `bitspot inspect MODEL`: one row per layer and the totals.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's layers: kind, shape, kept/total channels, parameters, bytes, binary and float ops, op-count energy.",
        discussion: """
            Binary MACs are ±1 multiply-accumulates (xor + popcount); float ops count a MAC as 2. \
            Energy is the Horowitz 45 nm op-count estimate of the arithmetic alone (see OpCounts.swift). \
            Exit code 65 for a damaged or invalid model, 66 for a missing file.
            """
    )

    @Argument(help: "The model file (.bitnet).")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        try reportingFailures {
            let m = try ModelFile.load(path: model)
            if json { try printJSON(m) } else { printTable(m) }
        }
    }

    private func layerShape(_ m: Model, _ i: Int) -> String {
        let n = m.node(i)
        let s = m.shape(n.inputs[0])
        var text = "\(s.height)x\(s.width)x\(s.channels)->\(n.shape)"
        switch n.op {
        case .firstConv, .binaryConv, .realConv1x1: text = "\(n.kernel)x\(n.kernel)/\(n.stride) " + text
        case .bitMaxPool, .avgPool: text = "\(n.poolHeight)x\(n.poolWidth) " + text
        default: break
        }
        return text
    }

    private func printTable(_ m: Model) {
        print("\(model): format \(m.version.major).\(m.version.minor), \(m.fileSize) bytes, input \(m.input), \(m.nodes.count) nodes")
        print("metadata: \(m.metadata)")
        let header = ["#", "kind", "shape (k/s in->out)", "kept/total", "params", "bytes", "bin MACs", "float ops", "energy uJ", "head"]
        var rows: [[String]] = []
        for i in 1...m.nodes.count {
            let n = m.node(i), c = m.opCount(i)
            let head = m.heads.first { $0.node == i }.map { $0.name + ($0.isExit ? " (exit)" : "") } ?? ""
            let kept = n.originalChannels == n.shape.channels ? "\(n.shape.channels)" : "\(n.shape.channels)/\(n.originalChannels)"
            rows.append([String(i), n.op.name + (n.kind == .bits ? " ->bits" : ""), layerShape(m, i), kept,
                         String(c.parameters), String(c.bytes), String(c.binaryMACs), String(c.floatOps),
                         String(format: "%.3f", c.energyPicojoules / 1e6), head])
        }
        let t = m.totalOpCount
        rows.append(["", "total", "", "", String(t.parameters), String(t.bytes), String(t.binaryMACs), String(t.floatOps),
                     String(format: "%.3f", t.energyPicojoules / 1e6), ""])
        var widths = header.map(\.count)
        for r in rows { for (j, v) in r.enumerated() { widths[j] = max(widths[j], v.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { j, v in
                j <= 3 || j == 9 ? v.padding(toLength: widths[j], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[j] - v.count) + v
            }.joined(separator: "  ")
        }
        print(line(header))
        for r in rows { print(line(r)) }
        var prefix = OpCount()
        for (hi, h) in m.heads.enumerated() where h.isExit {
            for i in 1...h.node { prefix += m.opCount(i) }
            print(String(format: "exit %d '%@' at node %d: %.1f%% of binary MACs, %.1f%% of float ops",
                         hi, h.name, h.node, 100 * Double(prefix.binaryMACs) / Double(max(t.binaryMACs, 1)),
                         100 * Double(prefix.floatOps) / Double(max(t.floatOps, 1))))
            prefix = OpCount()
        }
    }

    private func printJSON(_ m: Model) throws {
        var layers: [[String: Any]] = []
        for i in 1...m.nodes.count {
            let n = m.node(i), c = m.opCount(i)
            layers.append(["node": i, "op": n.op.name, "output": n.kind == .bits ? "bits" : "real",
                           "inputs": n.inputs, "shape": [n.shape.height, n.shape.width, n.shape.channels],
                           "kept_channels": n.shape.channels, "total_channels": n.originalChannels,
                           "parameters": c.parameters, "bytes": c.bytes, "binary_macs": c.binaryMACs,
                           "float_ops": c.floatOps, "energy_pj": c.energyPicojoules])
        }
        let t = m.totalOpCount
        let obj: [String: Any] = [
            "file": model, "bytes": m.fileSize, "version": "\(m.version.major).\(m.version.minor)",
            "input": [m.input.height, m.input.width, m.input.channels], "layers": layers,
            "heads": m.heads.map { ["node": $0.node, "name": $0.name, "exit": $0.isExit] as [String: Any] },
            "total": ["parameters": t.parameters, "bytes": t.bytes, "binary_macs": t.binaryMACs,
                      "float_ops": t.floatOps, "energy_pj": t.energyPicojoules],
            "metadata": (try? JSONSerialization.jsonObject(with: Data(m.metadata.utf8))) ?? m.metadata,
        ]
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
