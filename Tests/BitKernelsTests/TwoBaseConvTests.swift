import XCTest
import BitKernels

/// The fused two-base convolution (`BinaryConvParams.second`) on every tier against the unfused pair of
/// layers it replaces, run on the reference tier: the second base's convolution (its own shortcut and
/// channel map, no PReLU) into a real tensor, then the first base's with that tensor as its shortcut, the
/// PReLU and the sign-pack(s) of the output. The floats must be the same bits.
final class TwoBaseConvTests: XCTestCase {
    /// Owns the buffers of one case (freed at deinit).
    final class Buffers {
        var owned: [UnsafeMutableRawPointer] = []
        func make<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            owned.append(UnsafeMutableRawPointer(p))
            return p
        }
        deinit { owned.forEach { $0.deallocate() } }
    }

    struct Case {
        var c: ConvCase
        var input2: [UInt64]
        var scale2: [Float]
        var bias2: [Float]
        var packThresholds2: [Float]

        init(h: Int, w: Int, inC: Int, outC: Int, k: Int, stride: Int, seed: UInt64) {
            c = ConvCase(h: h, w: w, inC: inC, outC: outC, k: k, stride: stride, seed: seed)
            var rng = SplitMix64(seed: seed &* 31 &+ 7)
            input2 = randomPacked(c.inLayout, &rng, density: 0.3)
            scale2 = (0..<outC).map { _ in Float(Int(rng.next() % 200) - 100) / 256 }
            bias2 = (0..<outC).map { _ in Float(Int(rng.next() % 200) - 100) / 16 }
            packThresholds2 = (0..<outC).map { _ in Float(Int(rng.next() % 9) - 4) / 3 }
        }

        /// (real output, first sign-pack, second sign-pack) of the unfused pair on `kernels`.
        func unfused(_ kernels: KernelSet) -> ([Float], [UInt64], [UInt64]) {
            let b = Buffers()
            let weights = b.make(c.prepared(kernels))
            let n = c.outH * c.outW * c.outC
            let y2 = b.make([Float](repeating: .nan, count: n)), y = b.make([Float](repeating: .nan, count: n))
            let bits1 = b.make([UInt64](repeating: 0, count: c.outLayout.count))
            let bits2 = b.make([UInt64](repeating: 0, count: c.outLayout.count))
            let shortcut = Shortcut(values: b.make(c.shortcut!), channels: c.shortcutChannels, map: b.make(c.map!))
            let second = BinaryConvParams(input: b.make(input2), inLayout: c.inLayout, weights: weights, outChannels: c.outC,
                                          kernel: c.k, stride: c.stride,
                                          output: .real(y2, scale: b.make(scale2), bias: b.make(bias2), shortcut: shortcut, prelu: nil),
                                          columns: c.columns)
            kernels.binaryConv(second, 0..<second.outHeight)
            let first = BinaryConvParams(input: b.make(c.input), inLayout: c.inLayout, weights: weights, outChannels: c.outC,
                                         kernel: c.k, stride: c.stride,
                                         output: .real(y, scale: b.make(c.scale), bias: b.make(c.bias),
                                                       shortcut: Shortcut(values: y2, channels: c.outC), prelu: prelu(b)),
                                         signPack: SignPack(bits: bits1, layout: c.outLayout, thresholds: b.make(c.packThresholds!)),
                                         columns: c.columns)
            kernels.binaryConv(first, 0..<first.outHeight)
            // The second sign-pack as its own pass (the executor's unfused sign_pack node).
            let real = Array(UnsafeBufferPointer(start: y, count: n))
            var packed2 = [UInt64](repeating: 0, count: c.outLayout.count)
            Packing.pack(real, RealLayout(height: c.outH, width: c.outW, channels: c.outC), thresholds: packThresholds2,
                         into: &packed2, c.outLayout, rows: 0..<c.outH)
            if let cols = c.columns { clearOutside(cols, &packed2) }
            return (real, Array(UnsafeBufferPointer(start: bits1, count: c.outLayout.count)), packed2)
        }

        /// The same from one fused convolution with a double sign-pack, its rows run in `chunks` pieces.
        func fused(_ kernels: KernelSet, chunks: Int) -> ([Float], [UInt64], [UInt64]) {
            let b = Buffers()
            let n = c.outH * c.outW * c.outC
            let y = b.make([Float](repeating: .nan, count: n))
            let bits1 = b.make([UInt64](repeating: 0, count: c.outLayout.count))
            let bits2 = b.make([UInt64](repeating: 0, count: c.outLayout.count))
            let shortcut = Shortcut(values: b.make(c.shortcut!), channels: c.shortcutChannels, map: b.make(c.map!))
            let p = BinaryConvParams(input: b.make(c.input), inLayout: c.inLayout, weights: b.make(c.prepared(kernels)),
                                     outChannels: c.outC, kernel: c.k, stride: c.stride,
                                     output: .real(y, scale: b.make(c.scale), bias: b.make(c.bias), shortcut: nil, prelu: prelu(b)),
                                     signPack: SignPack(bits: bits1, layout: c.outLayout, thresholds: b.make(c.packThresholds!),
                                                        bits2: bits2, thresholds2: b.make(packThresholds2)),
                                     columns: c.columns,
                                     second: SecondBase(input: b.make(input2), scale: b.make(scale2), bias: b.make(bias2), shortcut: shortcut))
            precondition(p.isValid)
            for k in 0..<chunks { kernels.binaryConv(p, (p.outHeight * k / chunks)..<(p.outHeight * (k + 1) / chunks)) }
            return (Array(UnsafeBufferPointer(start: y, count: n)), Array(UnsafeBufferPointer(start: bits1, count: c.outLayout.count)),
                    Array(UnsafeBufferPointer(start: bits2, count: c.outLayout.count)))
        }

        func prelu(_ b: Buffers) -> ShiftedPReLU {
            ShiftedPReLU(shiftIn: b.make(c.prelu!.0), slope: b.make(c.prelu!.1), shiftOut: b.make(c.prelu!.2))
        }

        /// Zeroes the words of pixels outside `cols` (what a column-limited fused pack leaves untouched).
        func clearOutside(_ cols: Range<Int>, _ words: inout [UInt64]) {
            let l = c.outLayout
            for y in 0..<l.height {
                for x in 0..<l.width where !cols.contains(x) {
                    for w in 0..<l.words { words[l.offset(y, x) + w] = 0 }
                }
            }
        }
    }

    private func check(_ t: Case, _ label: String) {
        let (real, bits1, bits2) = t.unfused(.reference)
        var tiers = fastTiers()
        tiers.insert(.reference, at: 0)
        for tier in tiers {
            let (r, b1, b2) = t.fused(tier, chunks: 2)
            var mismatches = 0
            for (i, v) in real.enumerated() where v.bitPattern != r[i].bitPattern && !(v.isNaN && r[i].isNaN) { mismatches += 1 }
            XCTAssertEqual(mismatches, 0, "real, \(tier.tier), \(label)")
            XCTAssertEqual(b1, bits1, "first sign-pack, \(tier.tier), \(label)")
            XCTAssertEqual(b2, bits2, "second sign-pack, \(tier.tier), \(label)")
        }
        // The unfused pair gives the same on the fast tiers too (the baseline is not a reference artefact).
        for tier in fastTiers() { XCTAssertEqual(t.unfused(tier).0.map(\.bitPattern), real.map(\.bitPattern), "unfused, \(tier.tier), \(label)") }
    }

    func testFusedEqualsUnfusedPair() {
        var seed: UInt64 = 11
        for k in [1, 3] {
            for stride in [1, 2] {
                for (inC, outC) in [(1, 1), (16, 8), (32, 12), (48, 17), (63, 64), (64, 5), (65, 24), (130, 40)] {
                    let t = Case(h: 5, w: 7, inC: inC, outC: outC, k: k, stride: stride, seed: seed)
                    check(t, "k \(k) s \(stride) \(inC)->\(outC)")
                    seed += 1
                }
            }
        }
    }

    func testFusedOnColumnRanges() {
        for (cols, seed) in [(1..<4, UInt64(3)), (0..<1, 4), (5..<7, 5)] {
            var t = Case(h: 4, w: 7, inC: 40, outC: 20, k: 3, stride: 1, seed: seed)
            t.c.columns = cols
            check(t, "columns \(cols)")
        }
    }

    func testSecondBaseNeedsRealOutputWithoutShortcut() {
        let t = Case(h: 3, w: 3, inC: 8, outC: 4, k: 3, stride: 1, seed: 9)
        let b = Buffers()
        let sb = SecondBase(input: b.make(t.input2), scale: b.make(t.scale2), bias: b.make(t.bias2), shortcut: nil)
        let out = b.make([Float](repeating: 0, count: 36))
        let bitsOut = b.make([UInt64](repeating: 0, count: t.c.outLayout.count))
        let withShortcut = BinaryConvParams(input: b.make(t.c.input), inLayout: t.c.inLayout, weights: b.make(t.c.weights),
                                            outChannels: 4, kernel: 3, stride: 1,
                                            output: .real(out, scale: b.make(t.c.scale), bias: b.make(t.c.bias),
                                                          shortcut: Shortcut(values: out, channels: 4), prelu: nil), second: sb)
        XCTAssertFalse(withShortcut.isValid)
        let bits = BinaryConvParams(input: b.make(t.c.input), inLayout: t.c.inLayout, weights: b.make(t.c.weights),
                                    outChannels: 4, kernel: 3, stride: 1,
                                    output: .bits(bitsOut, t.c.outLayout, thresholds: b.make(t.c.thresholds)), second: sb)
        XCTAssertFalse(bits.isValid)
    }
}
