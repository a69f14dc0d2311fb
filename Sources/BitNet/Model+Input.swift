import BitKernels

extension Model {
    /// The same network for another input size: every layer's output size recomputed from its op (the
    /// weights do not depend on it: the networks are fully convolutional). Throws `.invalid` when the
    /// graph does not fit the size: an addition or shortcut whose inputs no longer agree, a global pool
    /// feeding a spatial layer, or an output larger than the parser's limits.
    public func withInput(height: Int, width: Int) throws(BitNetError) -> Model {
        guard (1...ModelFile.Limits.dimension).contains(height), (1...ModelFile.Limits.dimension).contains(width) else {
            throw BitNetError(.badRequest, "input \(width)x\(height) out of range (1...\(ModelFile.Limits.dimension))")
        }
        var m = self
        var activations = 0
        m.input = TensorShape(height, width, input.channels)
        for i in m.nodes.indices {
            let n = m.nodes[i]
            let a = m.shape(n.inputs[0])
            let s: TensorShape
            switch n.op {
            case .firstConv:
                s = TensorShape(convOutputSize(a.height, kernel: 3, stride: n.stride, padding: 1),
                                convOutputSize(a.width, kernel: 3, stride: n.stride, padding: 1), n.shape.channels)
            case .binaryConv:
                s = TensorShape(convOutputSize(a.height, kernel: n.kernel, stride: n.stride, padding: n.kernel / 2),
                                convOutputSize(a.width, kernel: n.kernel, stride: n.stride, padding: n.kernel / 2), n.shape.channels)
            case .realConv1x1:
                s = TensorShape(convOutputSize(a.height, kernel: 1, stride: n.stride, padding: 0),
                                convOutputSize(a.width, kernel: 1, stride: n.stride, padding: 0), n.shape.channels)
            case .bitMaxPool, .avgPool:
                s = TensorShape(poolOutputSize(a.height, size: n.poolHeight), poolOutputSize(a.width, size: n.poolWidth), a.channels)
            case .globalAvgPool:
                s = TensorShape(1, 1, a.channels)
            case .add, .prelu, .signPack, .unpack:
                s = TensorShape(a.height, a.width, n.shape.channels)
            }
            guard s.height >= 1, s.width >= 1, s.count <= ModelFile.Limits.tensorElements else {
                throw BitNetError(.badRequest, "node \(i + 1) (\(n.op.name)) would be \(s) for a \(width)x\(height) input")
            }
            if n.inputs.count > 1 {
                let b = m.shape(n.inputs[1])
                guard b.height == s.height, b.width == s.width else {
                    throw BitNetError(.badRequest, "node \(i + 1) (\(n.op.name)) joins \(s) and \(b) for a \(width)x\(height) input")
                }
            }
            m.nodes[i].shape = s
            activations += n.kind == .bits ? PackedLayout(height: s.height, width: s.width, channels: s.channels).count * 8 : s.count * 4
            guard activations <= ModelFile.Limits.arenaBytes else {
                throw BitNetError(.badRequest, "a \(width)x\(height) input needs more than 1 GiB of activations")
            }
        }
        return m
    }
}
