import BitKernels

/// Parameter, byte and operation counts of one node, and an op-count energy estimate.
///
/// Binary MACs are ±1 multiply-accumulates done 64 at a time by xor + popcount + add. Real MACs are
/// float32 (or, in the first layer, int8) multiply-accumulates; real ops are other elementwise float
/// operations (epilogue scale/bias, adds, PReLU, comparisons, pooling). The energy is the Horowitz
/// (ISSCC 2014, 45 nm) estimate for the arithmetic alone, memory traffic excluded: a 64-bit xor +
/// popcount + add as three 64-bit integer ops (0.2 pJ each) per 64 binary MACs; a float32 MAC 4.6 pJ
/// (3.7 multiply + 0.9 add); an int8 MAC 0.3 pJ (0.2 multiply + 0.1 int32 add); other float ops 0.9 pJ.
public struct OpCount: Sendable, Equatable {
    public var parameters = 0
    public var bytes = 0
    public var binaryMACs = 0
    public var floatMACs = 0
    public var int8MACs = 0
    public var realOps = 0

    public init() {}

    /// Floating-point operations (a MAC counts 2).
    public var floatOps: Int { 2 * floatMACs + 2 * int8MACs + realOps }

    /// Picojoules by the op-count model above.
    public var energyPicojoules: Double {
        Double(binaryMACs) * 0.6 / 64 + Double(floatMACs) * 4.6 + Double(int8MACs) * 0.3 + Double(realOps) * 0.9
    }

    public static func + (a: OpCount, b: OpCount) -> OpCount {
        var r = OpCount()
        r.parameters = a.parameters + b.parameters
        r.bytes = a.bytes + b.bytes
        r.binaryMACs = a.binaryMACs + b.binaryMACs
        r.floatMACs = a.floatMACs + b.floatMACs
        r.int8MACs = a.int8MACs + b.int8MACs
        r.realOps = a.realOps + b.realOps
        return r
    }

    public static func += (a: inout OpCount, b: OpCount) { a = a + b }

    /// The work of `part` out of `whole` positions (parameters and bytes unchanged): a layer run on a
    /// region of its output.
    public func share(_ part: Int, of whole: Int) -> OpCount {
        guard whole > 0 else { return self }
        func f(_ x: Int) -> Int { Int((Double(x) * Double(part) / Double(whole)).rounded()) }
        var r = self
        r.binaryMACs = f(binaryMACs)
        r.floatMACs = f(floatMACs)
        r.int8MACs = f(int8MACs)
        r.realOps = f(realOps)
        return r
    }

    /// The work counts of `self` less those of `b` (no parameters or bytes: those count where the
    /// layer ran, so that done + skipped adds up to the whole layer).
    public func minusWork(_ b: OpCount) -> OpCount {
        var r = self
        r.parameters = 0
        r.bytes = 0
        r.binaryMACs -= b.binaryMACs
        r.floatMACs -= b.floatMACs
        r.int8MACs -= b.int8MACs
        r.realOps -= b.realOps
        return r
    }
}

extension Model {
    /// The counts of node `i` (1-based).
    public func opCount(_ i: Int) -> OpCount {
        let n = node(i)
        let inShape = shape(n.inputs[0])
        let out = n.shape
        var c = OpCount()
        let pixels = out.height * out.width
        switch n.op {
        case .firstConv:
            c.parameters = n.int8Weights.count + n.thresholds.count + n.scale.count + n.bias.count
            c.bytes = n.int8Weights.count + 4 * (n.thresholds.count + n.scale.count + n.bias.count)
            c.int8MACs = pixels * out.channels * 9 * inShape.channels
            c.realOps = pixels * out.channels * (n.kind == .bits ? 1 : 2)
        case .binaryConv:
            let depth = n.kernel * n.kernel * inShape.channels
            c.parameters = out.channels * depth + n.thresholds.count + n.scale.count + n.bias.count
                + (n.shortcutMap?.count ?? 0) + 3 * (n.prelu?.slope.count ?? 0)
            c.bytes = 8 * n.binaryWeights.count + 4 * (c.parameters - out.channels * depth)
            c.binaryMACs = pixels * out.channels * depth
            var perValue = n.kind == .bits ? 1 : 2
            if n.inputs.count > 1 { perValue += 1 }
            if n.prelu != nil { perValue += 3 }
            c.realOps = pixels * out.channels * perValue
        case .bitMaxPool:
            c.realOps = 0
        case .avgPool:
            c.realOps = inShape.count
        case .realConv1x1:
            c.parameters = n.realWeights.count + n.bias.count
            c.bytes = 4 * c.parameters
            c.floatMACs = pixels * out.channels * inShape.channels
            c.realOps = pixels * out.channels
        case .add:
            c.parameters = n.shortcutMap?.count ?? 0
            c.bytes = 4 * c.parameters
            c.realOps = out.count
        case .prelu:
            c.parameters = 3 * out.channels
            c.bytes = 4 * c.parameters
            c.realOps = 3 * out.count
        case .signPack:
            c.parameters = out.channels
            c.bytes = 4 * c.parameters
            c.realOps = out.count
        case .globalAvgPool:
            c.realOps = inShape.count
        case .unpack:
            c.realOps = 0
        }
        return c
    }

    /// The sum over all nodes.
    public var totalOpCount: OpCount {
        (1...nodes.count).reduce(OpCount()) { $0 + opCount($1) }
    }
}
