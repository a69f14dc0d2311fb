import BitKernels
import Foundation

/// What the policy decides at an exit head.
public enum ExitDecision: Sendable, Equatable {
    /// Run on to the next head.
    case proceed
    /// Stop here; the rest of the graph is skipped.
    case stop
    /// Run on, but only where this exit head's cells are selected (see ``TileRegion``); the layers after
    /// the head are computed on the selected tiles plus the halo their kernels need, so the graph's
    /// outputs are exact there and `fill` elsewhere. Treated as `.proceed` when the model's layers after
    /// the head cannot run on regions (``Executor/supportsRegions(head:)``).
    case restrict(TileRegion)
}

/// The tiles of a one-channel exit head to go on with, and what the skipped outputs read.
public struct TileRegion: Sendable, Equatable {
    /// A tile is selected when sigmoid(head value) >= `threshold`.
    public var threshold: Float
    /// Selected tiles grow by this many tiles left and right, and up and down (text runs sideways).
    public var dilateX: Int
    public var dilateY: Int
    /// Written to every channel of the graph's final outputs outside the selection.
    public var fill: Float

    public init(threshold: Float, dilateX: Int = 1, dilateY: Int = 0, fill: Float = -30) {
        self.threshold = threshold
        self.dilateX = dilateX
        self.dilateY = dilateY
        self.fill = fill
    }
}

/// A head's output handed to the exit policy. `values` is valid only during the policy call (and,
/// for the executor's owner, until the next run).
public struct HeadOutput {
    /// Index into `Model.heads`.
    public var index: Int
    public var head: Head
    public var shape: TensorShape
    public var values: UnsafeBufferPointer<Float>
    /// Mean over positions of the top class probability (softmax over channels; for one channel,
    /// max(sigmoid, 1 - sigmoid)). 1 = certain.
    public var confidence: Float
}

/// What one run did and what it skipped.
public struct RunSummary: Sendable, Equatable {
    /// Index into `Model.heads` of the exit head that stopped the run, nil when it ran to the end.
    public var stoppedAtHead: Int?
    /// Index into `Model.heads` of the exit head whose tile selection restricted the rest of the run.
    public var restrictedAtHead: Int?
    /// Share of the output cells after that head that were computed (1 without a restriction).
    public var regionShare: Double = 1
    public var nodesRun = 0
    public var nodesSkipped = 0
    /// Work done and work skipped, by the op-count model of `OpCount`.
    public var done = OpCount()
    public var skipped = OpCount()
}

/// Runs a model on 8-bit images. All memory (activations, prepared weights, parameters) is planned and
/// allocated at init; a run allocates nothing. Not thread-safe: one run at a time per executor.
public final class Executor {
    public let model: Model
    public let kernels: KernelSet
    public let threads: Int
    let pool: WorkerPool
    private let arena: UnsafeMutableRawPointer
    /// Bytes of the arena (activations + parameters).
    public let arenaBytes: Int
    var plans: [NodePlan] = []
    let counts: [OpCount]
    private var headAt: [Int: Int] = [:]
    /// Region plans of the exit heads that support `.restrict`, by head node.
    var regionPlans: [Int: RegionPlan] = [:]

    /// Prepares `model` for the kernels of `tier` (the best this CPU has when nil) on `threads` threads.
    /// Real-valued outputs that are not heads share arena slots once nothing later reads them (a slot is
    /// reused by a later node after the last reader of its previous node has run), which is what keeps a
    /// large input's arena small; `keepAllOutputs` gives every node its own slot instead (to read every
    /// layer after a run, as the golden tests do).
    ///
    /// With `fuseBases`, each two-base block (two binary convolutions over the same weights, the second
    /// base's feeding the first's shortcut; docs/model-format.md) runs as one fused convolution
    /// (`BinaryConvParams.second`) with the same outputs; the second base's own output is then never written
    /// (`elidedNodes`).
    public init(model: Model, tier: KernelTier? = nil, threads: Int = 1, keepAllOutputs: Bool = false,
                fuseBases: Bool = true) throws(BitNetError) {
        self.model = model
        self.kernels = try KernelSelector.kernels(forced: tier)
        self.threads = max(1, threads)
        self.pool = WorkerPool(threads: self.threads)
        counts = (1...model.nodes.count).map { model.opCount($0) }
        for (i, h) in model.heads.enumerated() { headAt[h.node] = i }
        // Plan: a slot per node output, then the parameters. Packed outputs (their zero borders are the
        // convolutions' padding) and heads keep their own slots; other real outputs share.
        var layout = ArenaLayout()
        var outputs: [Int] = [0]
        var lastReader = [Int](repeating: 0, count: model.nodes.count + 1)
        for (k, n) in model.nodes.enumerated() {
            for j in n.inputs where j > 0 { lastReader[j] = max(lastReader[j], k + 1) }
        }
        let heads = Set(model.heads.map(\.node))
        // Two-base pairs (first base's node -> second base's, the node before it). The fused node reads the
        // second base's inputs, so they live until it has run.
        let basePairs = fuseBases ? Self.twoBasePairs(model, heads: heads) : [:]
        for (i, j) in basePairs {
            for r in model.nodes[j - 1].inputs where r > 0 { lastReader[r] = max(lastReader[r], i) }
        }
        elidedNodes = basePairs.values.sorted()
        var free: [(offset: Int, bytes: Int)] = []
        var slotOf: [Int: (offset: Int, bytes: Int)] = [:]
        for (k, n) in model.nodes.enumerated() {
            let i = k + 1
            let bytes = n.kind == .bits
                ? PackedLayout(height: n.shape.height, width: n.shape.width, channels: n.shape.channels).count * 8
                : n.shape.count * 4
            let shares = !keepAllOutputs && n.kind == .real && !heads.contains(i) && lastReader[i] > 0
            if basePairs.values.contains(i) {
                outputs.append(0)                       // a fused second base's output is never written
            } else if shares, let best = free.indices.filter({ free[$0].bytes >= bytes }).min(by: { free[$0].bytes < free[$1].bytes }) {
                let slot = free.remove(at: best)
                outputs.append(slot.offset)
                slotOf[i] = slot
            } else {
                let offset = layout.reserve(bytes)
                outputs.append(offset)
                if shares { slotOf[i] = (offset, (bytes + 63) / 64 * 64) }
            }
            // Slots whose node's last reader is this node are free for the nodes after it.
            for j in 1...i where lastReader[j] == i {
                if let slot = slotOf.removeValue(forKey: j) { free.append(slot) }
            }
        }
        // Narrow 3x3 binary convolutions run on packed patches (PatchPacking), packed into one scratch slot
        // that each such node uses only while it runs.
        func patchLayout(_ n: Node) -> PackedLayout? {
            let inC = model.shape(n.inputs[0]).channels
            guard n.op == .binaryConv, PatchPacking.applies(kernel: n.kernel, channels: inC) else { return nil }
            return PatchPacking.layout(outHeight: n.shape.height, outWidth: n.shape.width, channels: inC)
        }
        let patchBytes = model.nodes.compactMap { patchLayout($0).map { $0.count * 8 } }.max() ?? 0
        let patchOffset = patchBytes > 0 ? layout.reserve(patchBytes) : nil
        // A fused two-base node packs its second base's patches too.
        let secondPatchBytes = basePairs.keys.compactMap { patchLayout(model.nodes[$0 - 1]).map { $0.count * 8 } }.max() ?? 0
        let secondPatchOffset = secondPatchBytes > 0 ? layout.reserve(secondPatchBytes) : nil
        var paramOffsets: [[Int]] = []
        let wl = kernels.weightLayout
        for (idx, n) in model.nodes.enumerated() {
            let inC = model.shape(n.inputs[0]).channels
            var o: [Int] = []
            if n.op == .binaryConv && basePairs.values.contains(idx + 1) {
                o.append(layout.reserve(0))             // a fused second base: the first's copy of the weights serves
            } else if n.op == .binaryConv {
                let wpc = patchLayout(n)?.words ?? n.kernel * n.kernel * bitWords(inC)
                o.append(layout.reserve(8 * wl.count(outChannels: n.shape.channels, wordsPerChannel: wpc)))
            } else {
                o.append(layout.reserve(8 * n.binaryWeights.count))
            }
            // Typed one by one: a single literal of these sums is too slow to type-check for Swift 6.0.
            let mapCount: Int = n.shortcutMap?.count ?? 0
            let slopeCount: Int = n.prelu?.slope.count ?? 0
            let firstBytes: Int = n.op == .firstConv
                ? 4 * RealOps.firstConvPreparedCount(outChannels: n.shape.channels, inChannels: inC) : 0
            var sizes: [Int] = [firstBytes]
            sizes.append(n.op == .realConv1x1
                ? 4 * inC * RealOps.conv1x1PaddedOutChannels(n.shape.channels) : 4 * n.realWeights.count)
            sizes.append(4 * n.thresholds.count)
            sizes.append(4 * n.signThresholds.count)
            sizes.append(4 * n.scale.count)
            sizes.append(4 * n.bias.count)
            sizes.append(4 * mapCount)
            sizes.append(contentsOf: [4 * slopeCount, 4 * slopeCount, 4 * slopeCount])
            for bytes in sizes {
                o.append(layout.reserve(bytes))
            }
            _ = idx
            paramOffsets.append(o)
        }
        arenaBytes = layout.size
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(arenaBytes, 64), alignment: 64)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(arenaBytes, 64))
        for (idx, n) in model.nodes.enumerated() {
            let o = paramOffsets[idx]
            let inC = model.shape(n.inputs[0]).channels
            func copy<T>(_ values: [T], _ offset: Int) -> UnsafeMutableRawPointer {
                let p = arena + offset
                values.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                return p
            }
            var plan = NodePlan(output: arena + outputs[idx + 1])
            plan.inputs = n.inputs.map { $0 == 0 ? nil : arena + outputs[$0] }
            if n.op == .binaryConv && !basePairs.values.contains(idx + 1) {
                let dst = (arena + o[0]).assumingMemoryBound(to: UInt64.self)
                if let pl = patchLayout(n), let patchOffset {
                    var packed = [UInt64](repeating: 0, count: n.shape.channels * pl.words)
                    n.binaryWeights.withUnsafeBufferPointer {
                        PatchPacking.packWeights($0.baseAddress!, outChannels: n.shape.channels, channels: inC, into: &packed)
                    }
                    wl.prepare(packed, outChannels: n.shape.channels, wordsPerChannel: pl.words, into: dst)
                    let inShape = model.shape(n.inputs[0])
                    plan.patches = PatchPlan(
                        source: PatchSource(input: UnsafePointer(plan.inputs[0]!.assumingMemoryBound(to: UInt64.self)),
                                            layout: PackedLayout(height: inShape.height, width: inShape.width, channels: inShape.channels),
                                            stride: n.stride),
                        scratch: (arena + patchOffset).assumingMemoryBound(to: UInt64.self), layout: pl)
                } else {
                    let wpc = n.kernel * n.kernel * bitWords(inC)
                    n.binaryWeights.withUnsafeBufferPointer {
                        wl.prepare($0.baseAddress!, outChannels: n.shape.channels, wordsPerChannel: wpc, into: dst)
                    }
                }
                plan.weights = UnsafeRawPointer(dst)
            }
            if n.op == .firstConv {
                let dst = (arena + o[1]).assumingMemoryBound(to: Float.self)
                n.int8Weights.withUnsafeBufferPointer {
                    RealOps.prepareFirstConvWeights($0.baseAddress!, outChannels: n.shape.channels, inChannels: inC, into: dst)
                }
                plan.weights = UnsafeRawPointer(dst)
            }
            if n.op == .realConv1x1 {
                // Transposed to inC x outC for the eight-lane kernel (RealConv1x1+Lanes.swift).
                let dst = (arena + o[2]).assumingMemoryBound(to: Float.self)
                n.realWeights.withUnsafeBufferPointer {
                    RealOps.transposeConv1x1Weights($0.baseAddress!, outChannels: n.shape.channels, inChannels: inC, into: dst)
                }
                plan.weights = UnsafeRawPointer(dst)
            } else if !n.realWeights.isEmpty {
                plan.weights = UnsafeRawPointer(copy(n.realWeights, o[2]))
            }
            if !n.thresholds.isEmpty { plan.thresholds = UnsafeRawPointer(copy(n.thresholds, o[3])) }
            if !n.signThresholds.isEmpty { plan.thresholds = UnsafeRawPointer(copy(n.signThresholds, o[4])) }
            if !n.scale.isEmpty { plan.scale = UnsafePointer(copy(n.scale, o[5]).assumingMemoryBound(to: Float.self)) }
            if !n.bias.isEmpty { plan.bias = UnsafePointer(copy(n.bias, o[6]).assumingMemoryBound(to: Float.self)) }
            if let m = n.shortcutMap { plan.map = UnsafePointer(copy(m, o[7]).assumingMemoryBound(to: Int32.self)) }
            if let p = n.prelu {
                plan.prelu = ShiftedPReLU(shiftIn: UnsafePointer(copy(p.shiftIn, o[8]).assumingMemoryBound(to: Float.self)),
                                          slope: UnsafePointer(copy(p.slope, o[9]).assumingMemoryBound(to: Float.self)),
                                          shiftOut: UnsafePointer(copy(p.shiftOut, o[10]).assumingMemoryBound(to: Float.self)))
            }
            plans.append(plan)
        }
        // Fuse a sign_pack that directly follows the binary conv (real output) it packs: the conv packs
        // each output pixel while it is in L1, and the sign_pack node is not run on its own.
        for i in 1..<max(model.nodes.count, 1) {
            let conv = model.nodes[i - 1], next = model.nodes[i]
            guard conv.op == .binaryConv, conv.kind == .real, next.op == .signPack, next.inputs == [i] else { continue }
            plans[i - 1].signPack = SignPack(bits: plans[i].output.assumingMemoryBound(to: UInt64.self),
                                             layout: packedLayout(i + 1),
                                             thresholds: plans[i].thresholds!.assumingMemoryBound(to: Float.self))
            plans[i].fused = true
            // A second sign_pack of the same output right after (the next block's second base): same pass.
            if i + 1 < model.nodes.count, model.nodes[i + 1].op == .signPack, model.nodes[i + 1].inputs == [i] {
                let bits2 = plans[i + 1].output.assumingMemoryBound(to: UInt64.self)
                let thresholds2 = plans[i + 1].thresholds!.assumingMemoryBound(to: Float.self)
                plans[i - 1].signPack?.bits2 = bits2
                plans[i - 1].signPack?.thresholds2 = thresholds2
                plans[i + 1].fused = true
            }
        }
        for (i, j) in basePairs {
            let second = model.nodes[j - 1], pj = plans[j - 1]
            let shortcut = second.inputs.count > 1
                ? Shortcut(values: UnsafePointer(pj.inputs[1]!.assumingMemoryBound(to: Float.self)),
                           channels: model.shape(second.inputs[1]).channels, map: pj.map) : nil
            var input = UnsafePointer(pj.inputs[0]!.assumingMemoryBound(to: UInt64.self))
            if plans[i - 1].patches != nil, let secondPatchOffset {
                plans[i - 1].patches!.source.second = input
                input = UnsafePointer((arena + secondPatchOffset).assumingMemoryBound(to: UInt64.self))
            }
            plans[i - 1].second = SecondBase(input: input, scale: pj.scale!, bias: pj.bias!, shortcut: shortcut)
            plans[j - 1].fused = true
        }
        for h in model.heads where h.isExit {
            if let r = RegionPlan(model: model, head: h.node) { regionPlans[h.node] = r }
        }
    }

    /// Nodes (1-based) whose work is done inside another node: a sign_pack done by the binary conv whose
    /// output it packs, a two-base block's second convolution done by the first's (`fuseBases`).
    public var fusedNodes: [Int] { plans.indices.filter { plans[$0].fused }.map { $0 + 1 } }

    /// Fused nodes whose output is never written: the second convolutions of fused two-base blocks.
    public let elidedNodes: [Int]

    /// The two-base blocks of `model` that run fused, as first base's node -> second base's node: binary
    /// convolutions with real outputs, the second right before the first, read by it alone as its shortcut
    /// (without a channel map), without a PReLU and not a head; same weights, kernel, stride and shapes.
    static func twoBasePairs(_ model: Model, heads: Set<Int>) -> [Int: Int] {
        var readers = [Int](repeating: 0, count: model.nodes.count + 1)
        for n in model.nodes { for j in n.inputs where j > 0 { readers[j] += 1 } }
        var pairs: [Int: Int] = [:]
        for i in stride(from: 2, through: model.nodes.count, by: 1) {
            let a = model.nodes[i - 1], j = i - 1, b = model.nodes[j - 1]
            guard a.op == .binaryConv, b.op == .binaryConv, a.kind == .real, b.kind == .real,
                  a.inputs.count == 2, a.inputs[1] == j, a.shortcutMap == nil, b.prelu == nil,
                  readers[j] == 1, !heads.contains(j), pairs[j] == nil,
                  a.kernel == b.kernel, a.stride == b.stride, a.shape == b.shape,
                  model.shape(a.inputs[0]) == model.shape(b.inputs[0]), a.binaryWeights == b.binaryWeights else { continue }
            pairs[i] = j
        }
        return pairs
    }

    deinit { arena.deallocate() }

    /// The packed layout of a bits node (border 1, as every packed buffer in the arena).
    public func packedLayout(_ node: Int) -> PackedLayout {
        let s = model.shape(node)
        return PackedLayout(height: s.height, width: s.width, channels: s.channels)
    }

    /// The output of real node `node` from the last run: a head's, or any node's with `keepAllOutputs`
    /// (other slots are reused within the run) but those in `elidedNodes`.
    public func realOutput(_ node: Int) -> UnsafeBufferPointer<Float> {
        precondition(node >= 1 && model.kind(node) == .real)
        return UnsafeBufferPointer(start: plans[node - 1].output.assumingMemoryBound(to: Float.self), count: model.shape(node).count)
    }

    /// The packed output of bits node `node` from the last run (border included; see `packedLayout`).
    public func bitsOutput(_ node: Int) -> UnsafeBufferPointer<UInt64> {
        precondition(node >= 1 && model.kind(node) == .bits)
        return UnsafeBufferPointer(start: plans[node - 1].output.assumingMemoryBound(to: UInt64.self), count: packedLayout(node).count)
    }

    /// Runs the model on `image` (`model.input`, 8-bit, channels-last, dense). At every head the policy
    /// sees the head's output; at an exit head `.stop` ends the run there. Allocates nothing.
    @discardableResult
    public func run(image: UnsafePointer<UInt8>, policy: (HeadOutput) -> ExitDecision = { _ in .proceed }) -> RunSummary {
        var summary = RunSummary()
        var region: (plan: RegionPlan, tiles: TileRegion)?
        var computedCells = 0
        var i = 1
        while i <= model.nodes.count {
            if let r = region {
                computedCells += runRegion(i, r.plan, fill: r.tiles.fill, image: image, summary: &summary)
            } else {
                runNode(i, image: image)
                summary.nodesRun += 1
                summary.done += counts[i - 1]
            }
            if let h = headAt[i] {
                let head = model.heads[h]
                let values = realOutput(i)
                let out = HeadOutput(index: h, head: head, shape: model.shape(i), values: values,
                                     confidence: Self.confidence(values, channels: model.shape(i).channels))
                let decision = policy(out)
                if case .stop = decision, head.isExit, i < model.nodes.count {
                    summary.stoppedAtHead = h
                    for j in (i + 1)...model.nodes.count {
                        summary.nodesSkipped += 1
                        summary.skipped += counts[j - 1]
                    }
                    return summary
                }
                if case .restrict(let tiles) = decision, head.isExit, region == nil, let plan = regionPlans[i] {
                    plan.select(values, tiles)
                    region = (plan, tiles)
                    summary.restrictedAtHead = h
                }
            }
            i += 1
        }
        if let r = region {
            summary.regionShare = Double(computedCells) / Double(max(1, r.plan.height * r.plan.width * r.plan.after.count))
        }
        return summary
    }

    /// Mean top-class probability over positions (see `HeadOutput.confidence`).
    public static func confidence(_ v: UnsafeBufferPointer<Float>, channels c: Int) -> Float {
        let positions = v.count / max(c, 1)
        guard positions > 0 else { return 0 }
        var total: Float = 0
        for p in 0..<positions {
            let x = v.baseAddress! + p * c
            if c == 1 {
                let s = 1 / (1 + expf(-x[0]))
                total += max(s, 1 - s)
            } else {
                var m = x[0]
                for j in 1..<c { m = max(m, x[j]) }
                var sum: Float = 0
                for j in 0..<c { sum += expf(x[j] - m) }
                total += 1 / sum
            }
        }
        return total / Float(positions)
    }

    /// The kernel arguments of binary convolution node `i` (all of its output).
    func binaryConvParams(_ i: Int) -> BinaryConvParams {
        let n = model.nodes[i - 1]
        let plan = plans[i - 1]
        let inShape = model.shape(n.inputs[0])
        let inPacked = PackedLayout(height: inShape.height, width: inShape.width, channels: inShape.channels)
        let outPacked = PackedLayout(height: n.shape.height, width: n.shape.width, channels: n.shape.channels)
        let output: BinaryConvOutput
        if n.kind == .bits {
            output = .bits(plan.output.assumingMemoryBound(to: UInt64.self), outPacked,
                           thresholds: plan.thresholds!.assumingMemoryBound(to: Int32.self))
        } else {
            let shortcut = n.inputs.count > 1 && plan.second == nil
                ? Shortcut(values: UnsafePointer(plan.inputs[1]!.assumingMemoryBound(to: Float.self)),
                           channels: model.shape(n.inputs[1]).channels, map: plan.map) : nil
            output = .real(plan.output.assumingMemoryBound(to: Float.self), scale: plan.scale!, bias: plan.bias!,
                           shortcut: shortcut, prelu: plan.prelu)
        }
        if let patches = plan.patches {
            // The 1x1 convolution over the packed patches (`patches.source` packs them).
            return BinaryConvParams(input: UnsafePointer(patches.scratch), inLayout: patches.layout,
                                    weights: plan.weights!.assumingMemoryBound(to: UInt64.self),
                                    outChannels: n.shape.channels, kernel: 1, stride: 1, output: output, signPack: plan.signPack,
                                    second: plan.second)
        }
        return BinaryConvParams(input: UnsafePointer(plan.inputs[0]!.assumingMemoryBound(to: UInt64.self)), inLayout: inPacked,
                                weights: plan.weights!.assumingMemoryBound(to: UInt64.self),
                                outChannels: n.shape.channels, kernel: n.kernel, stride: n.stride, output: output,
                                signPack: plan.signPack, second: plan.second)
    }

    func runNode(_ i: Int, image: UnsafePointer<UInt8>) {
        let n = model.nodes[i - 1]
        let plan = plans[i - 1]
        let inShape = model.shape(n.inputs[0])
        let inReal = RealLayout(height: inShape.height, width: inShape.width, channels: inShape.channels)
        let inPacked = PackedLayout(height: inShape.height, width: inShape.width, channels: inShape.channels)
        let outPacked = PackedLayout(height: n.shape.height, width: n.shape.width, channels: n.shape.channels)
        let outReal = plan.output.assumingMemoryBound(to: Float.self)
        let outBits = plan.output.assumingMemoryBound(to: UInt64.self)
        func real(_ k: Int) -> UnsafePointer<Float> { UnsafePointer(plan.inputs[k]!.assumingMemoryBound(to: Float.self)) }
        func bits(_ k: Int) -> UnsafePointer<UInt64> { UnsafePointer(plan.inputs[k]!.assumingMemoryBound(to: UInt64.self)) }
        switch n.op {
        case .firstConv:
            let w = plan.weights!.assumingMemoryBound(to: Float.self)
            let output: FirstConvOutput = n.kind == .bits
                ? .bits(outBits, outPacked, thresholds: plan.thresholds!.assumingMemoryBound(to: Int32.self))
                : .real(outReal, scale: plan.scale!, bias: plan.bias!)
            pool.run(task: .firstConv(FirstConvParams(image: image, layout: inReal, zeroPoint: n.zeroPoint, weights: w,
                                                      outChannels: n.shape.channels, stride: n.stride, output: output), kernels))
        case .binaryConv:
            if plan.fused { return }
            if let patches = plan.patches {
                pool.run(task: .patchConv(binaryConvParams(i), kernels, source: patches.source))
            } else {
                pool.run(task: .binaryConv(binaryConvParams(i), kernels))
            }
        case .bitMaxPool:
            RealOps.bitMaxPool(bits(0), inPacked, ph: n.poolHeight, pw: n.poolWidth, into: outBits, outPacked)
        case .avgPool:
            kernels.real.avgPool(real(0), inReal, n.poolHeight, n.poolWidth, outReal)
        case .realConv1x1:
            kernels.real.conv1x1(Conv1x1Params(input: real(0), layout: inReal, weights: plan.weights!.assumingMemoryBound(to: Float.self),
                                               bias: plan.bias!, outChannels: n.shape.channels, stride: n.stride, output: outReal),
                                 0..<n.shape.height, nil)
        case .add:
            RealOps.add(real(0), inReal, real(1), bChannels: model.shape(n.inputs[1]).channels, map: plan.map, into: outReal)
        case .prelu:
            kernels.real.prelu(real(0), inReal, plan.prelu!, outReal)
        case .signPack:
            if plan.fused { return }
            Packing.pack(real(0), inReal, thresholds: plan.thresholds!.assumingMemoryBound(to: Float.self),
                         into: outBits, outPacked, rows: 0..<n.shape.height)
        case .globalAvgPool:
            RealOps.globalAvgPool(real(0), inReal, into: outReal)
        case .unpack:
            Packing.unpack(bits(0), inPacked, into: outReal)
        }
    }
}

/// Pointers of one node into the arena.
struct NodePlan {
    var output: UnsafeMutableRawPointer
    var inputs: [UnsafeMutableRawPointer?] = []
    var weights: UnsafeRawPointer?
    var thresholds: UnsafeRawPointer?
    var scale: UnsafePointer<Float>?
    var bias: UnsafePointer<Float>?
    var map: UnsafePointer<Int32>?
    var prelu: ShiftedPReLU?
    /// A binary conv that also packs its real output for the sign_pack after it.
    var signPack: SignPack?
    /// A sign_pack done by the binary conv before it, or a two-base block's second conv done by the first.
    var fused = false
    /// A two-base block's first conv: also runs the second base (`Executor.twoBasePairs`).
    var second: SecondBase?
    /// A narrow 3x3 binary conv runs on packed patches.
    var patches: PatchPlan?

    init(output: UnsafeMutableRawPointer) { self.output = output }
}

/// Where a narrow 3x3 binary conv packs its patches from (`source`), into (`scratch`, shared by all such
/// nodes) and in what layout (`PatchPacking.layout`).
struct PatchPlan {
    var source: PatchSource
    var scratch: UnsafeMutablePointer<UInt64>
    var layout: PackedLayout
}

/// Bump allocation of 64-byte aligned slots within one arena.
private struct ArenaLayout {
    var size = 0
    mutating func reserve(_ bytes: Int) -> Int {
        let offset = size
        size += (bytes + 63) / 64 * 64
        return offset
    }
}
