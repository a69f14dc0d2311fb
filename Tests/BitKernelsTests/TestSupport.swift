import BitKernels
import BitKernelsX86
import _BitKernelsShims

/// SplitMix64: a small deterministic generator for test data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every tier this machine can run, except the reference.
func fastTiers() -> [KernelSet] {
    // The NEON tier's byte-counting algorithm, compiled for this machine.
    let byteCounting = KernelSet(tier: .generic, binaryConv: GenericKernels.binaryConvByteCounting,
                                 xorPopcountLoop: GenericKernels.xorPopcountLoop)
    let byteCountingPairs = KernelSet(tier: .generic, binaryConv: GenericKernels.binaryConvByteCountingPairs,
                                      xorPopcountLoop: GenericKernels.xorPopcountLoop)
    var tiers: [KernelSet] = [.generic, byteCounting, byteCountingPairs]
    if let x86 = X86Tier.kernels, bitkernels_cpu_has_x86_avx2_popcnt() != 0 { tiers.append(x86) }
    #if arch(arm64)
    tiers.append(.arm64NEON)
    #endif
    return tiers
}

/// A packed activation with random interior bits, zero border and zero unused high bits.
func randomPacked(_ l: PackedLayout, _ rng: inout SplitMix64, density: Double = 0.5) -> [UInt64] {
    var buf = [UInt64](repeating: 0, count: l.count)
    for y in 0..<l.height {
        for x in 0..<l.width {
            for c in 0..<l.channels where Double(rng.next() % 1_000_000) / 1_000_000 < density {
                buf[l.offset(y, x) + c / 64] |= UInt64(1) << UInt64(c % 64)
            }
        }
    }
    return buf
}

/// Random packed weights `outC x k x k x words(inC)`, unused high bits zero.
func randomWeights(outC: Int, k: Int, inC: Int, _ rng: inout SplitMix64) -> [UInt64] {
    let words = bitWords(inC)
    var w = [UInt64](repeating: 0, count: outC * k * k * words)
    for i in 0..<(outC * k * k) {
        for c in 0..<inC where rng.next() & 1 == 1 { w[i * words + c / 64] |= UInt64(1) << UInt64(c % 64) }
    }
    return w
}

/// Runs one binary convolution on a tier and returns the raw output (packed words or floats).
struct ConvCase {
    var inLayout: PackedLayout
    var outC: Int
    var k: Int
    var stride: Int
    var input: [UInt64]
    var weights: [UInt64]
    var thresholds: [Int32]
    var scale: [Float]
    var bias: [Float]
    var shortcut: [Float]?
    var shortcutChannels: Int
    var map: [Int32]?
    var prelu: ([Float], [Float], [Float])?
    /// Thresholds of a fused sign-pack of the real output (nil: none).
    var packThresholds: [Float]?

    init(h: Int, w: Int, inC: Int, outC: Int, k: Int, stride: Int, seed: UInt64, withExtras: Bool = true) {
        var rng = SplitMix64(seed: seed)
        inLayout = PackedLayout(height: h, width: w, channels: inC, border: 1)
        self.outC = outC
        self.k = k
        self.stride = stride
        input = randomPacked(inLayout, &rng)
        weights = randomWeights(outC: outC, k: k, inC: inC, &rng)
        let depth = k * k * inC
        thresholds = (0..<outC).map { _ in Int32(Int(rng.next() % UInt64(depth + 2))) }
        scale = (0..<outC).map { _ in Float(Int(rng.next() % 200) - 100) / 64 }
        bias = (0..<outC).map { _ in Float(Int(rng.next() % 200) - 100) / 16 }
        let oh = convOutputSize(h, kernel: k, stride: stride, padding: k / 2)
        let ow = convOutputSize(w, kernel: k, stride: stride, padding: k / 2)
        shortcutChannels = outC + 3
        if withExtras {
            shortcut = (0..<(oh * ow * shortcutChannels)).map { _ in Float(Int(rng.next() % 100) - 50) / 8 }
            map = (0..<outC).map { _ in Int32(Int(rng.next() % UInt64(outC + 3))) }
            packThresholds = (0..<outC).map { _ in Float(Int(rng.next() % 9) - 4) / 2 }
            prelu = ((0..<outC).map { _ in Float(Int(rng.next() % 20) - 10) / 8 },
                     (0..<outC).map { _ in Float(Int(rng.next() % 20)) / 16 },
                     (0..<outC).map { _ in Float(Int(rng.next() % 20) - 10) / 8 })
        }
    }

    /// Output columns the kernels compute (all when nil).
    var columns: Range<Int>?

    var outH: Int { convOutputSize(inLayout.height, kernel: k, stride: stride, padding: k / 2) }
    var outW: Int { convOutputSize(inLayout.width, kernel: k, stride: stride, padding: k / 2) }
    var outLayout: PackedLayout { PackedLayout(height: outH, width: outW, channels: outC, border: 1) }

    /// The weights in the layout `kernels` expects.
    func prepared(_ kernels: KernelSet) -> [UInt64] {
        let wpc = k * k * inLayout.words
        var out = [UInt64](repeating: 0, count: kernels.weightLayout.count(outChannels: outC, wordsPerChannel: wpc))
        weights.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernels.weightLayout.prepare(src.baseAddress!, outChannels: outC, wordsPerChannel: wpc, into: dst.baseAddress!)
            }
        }
        return out
    }

    /// Packed output (border included) from `kernels`, running rows in `chunks` pieces.
    func runBits(_ kernels: KernelSet, chunks: Int = 1) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: outLayout.count)
        let weights = prepared(kernels)
        input.withUnsafeBufferPointer { i in
            weights.withUnsafeBufferPointer { w in
                thresholds.withUnsafeBufferPointer { t in
                    out.withUnsafeMutableBufferPointer { o in
                        let p = BinaryConvParams(input: i.baseAddress!, inLayout: inLayout, weights: w.baseAddress!,
                                                 outChannels: outC, kernel: k, stride: stride,
                                                 output: .bits(o.baseAddress!, outLayout, thresholds: t.baseAddress!),
                                                 columns: columns)
                        precondition(p.isValid)
                        runRows(kernels, p, chunks)
                    }
                }
            }
        }
        return out
    }

    /// Real output from `kernels` (shortcut, map and PReLU when the case has them).
    func runReal(_ kernels: KernelSet, chunks: Int = 1) -> [Float] { runRealAndPack(kernels, chunks: chunks).0 }

    /// Real output and, when the case has pack thresholds, the fused sign-pack's words (border included).
    func runRealAndPack(_ kernels: KernelSet, chunks: Int = 1) -> ([Float], [UInt64]) {
        var out = [Float](repeating: .nan, count: outH * outW * outC)
        var packed = [UInt64](repeating: 0, count: outLayout.count)
        let pt = packThresholds ?? [0]
        let sc = shortcut ?? [0], mp = map ?? [0]
        let pr = prelu ?? ([0], [0], [0])
        let weights = prepared(kernels)
        input.withUnsafeBufferPointer { i in
        weights.withUnsafeBufferPointer { w in
        scale.withUnsafeBufferPointer { s in
        bias.withUnsafeBufferPointer { b in
        sc.withUnsafeBufferPointer { scp in
        mp.withUnsafeBufferPointer { mpp in
        pr.0.withUnsafeBufferPointer { p0 in
        pr.1.withUnsafeBufferPointer { p1 in
        pr.2.withUnsafeBufferPointer { p2 in
        out.withUnsafeMutableBufferPointer { o in
        packed.withUnsafeMutableBufferPointer { pk in
        pt.withUnsafeBufferPointer { ptp in
            let shortcutArg = shortcut == nil ? nil
                : Shortcut(values: scp.baseAddress!, channels: shortcutChannels, map: map == nil ? nil : mpp.baseAddress!)
            let preluArg = prelu == nil ? nil
                : ShiftedPReLU(shiftIn: p0.baseAddress!, slope: p1.baseAddress!, shiftOut: p2.baseAddress!)
            let packArg = packThresholds == nil ? nil
                : SignPack(bits: pk.baseAddress!, layout: outLayout, thresholds: ptp.baseAddress!)
            let p = BinaryConvParams(input: i.baseAddress!, inLayout: inLayout, weights: w.baseAddress!,
                                     outChannels: outC, kernel: k, stride: stride,
                                     output: .real(o.baseAddress!, scale: s.baseAddress!, bias: b.baseAddress!,
                                                   shortcut: shortcutArg, prelu: preluArg), signPack: packArg, columns: columns)
            precondition(p.isValid)
            runRows(kernels, p, chunks)
        }}}}}}}}}}}}
        return (out, packed)
    }

    private func runRows(_ kernels: KernelSet, _ p: BinaryConvParams, _ chunks: Int) {
        let n = p.outHeight
        for c in 0..<chunks {
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            kernels.binaryConv(p, lo..<hi)
        }
    }
}
