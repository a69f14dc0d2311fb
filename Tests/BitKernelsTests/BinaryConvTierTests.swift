import XCTest
import BitKernels

/// Every tier against the reference.
final class BinaryConvTierTests: XCTestCase {
    private func check(_ c: ConvCase, _ label: String) {
        let refBits = c.runBits(.reference)
        let (refReal, refPacked) = c.runRealAndPack(.reference)
        if c.packThresholds != nil {
            // The fused sign-pack equals packing the real output afterwards.
            var expected = [UInt64](repeating: 0, count: c.outLayout.count)
            Packing.pack(refReal, RealLayout(height: c.outH, width: c.outW, channels: c.outC), thresholds: c.packThresholds!,
                         into: &expected, c.outLayout, rows: 0..<c.outH)
            XCTAssertEqual(refPacked, expected, "reference fused pack, \(label)")
        }
        for tier in fastTiers() {
            XCTAssertEqual(c.runBits(tier, chunks: 2), refBits, "bits, \(tier.tier), \(label)")
            let (real, packed) = c.runRealAndPack(tier, chunks: 3)
            XCTAssertEqual(real, refReal, "real, \(tier.tier), \(label)")
            XCTAssertEqual(packed, refPacked, "fused pack, \(tier.tier), \(label)")
        }
    }

    /// Every small shape: heights/widths 1...4, both kernels and strides, channel counts around 64.
    func testExhaustiveTinyShapes() {
        var seed: UInt64 = 1
        for k in [1, 3] {
            for stride in [1, 2] {
                for h in 1...4 {
                    for w in 1...4 {
                        for (inC, outC) in [(1, 1), (3, 5), (64, 4), (65, 7), (130, 66)] {
                            seed += 1
                            let c = ConvCase(h: h, w: w, inC: inC, outC: outC, k: k, stride: stride, seed: seed,
                                             withExtras: seed % 2 == 0)
                            check(c, "k\(k) s\(stride) \(h)x\(w) \(inC)->\(outC)")
                        }
                    }
                }
            }
        }
    }

    /// Random larger shapes, channel counts that are not multiples of 64.
    func testRandomLargeShapes() {
        let shapes: [(Int, Int, Int, Int, Int, Int)] = [
            (17, 23, 64, 64, 3, 1), (12, 9, 200, 70, 3, 2), (9, 15, 128, 129, 1, 1),
            (11, 10, 96, 33, 1, 2), (8, 40, 256, 64, 3, 1), (1, 1, 513, 37, 1, 1),
            // rows longer than 31 words: the byte accumulators of the AVX2 and NEON kernels fold mid-row
            (2, 3, 1500, 9, 3, 1), (3, 2, 4100, 10, 1, 2),
        ]
        for (i, s) in shapes.enumerated() {
            let c = ConvCase(h: s.0, w: s.1, inC: s.2, outC: s.3, k: s.4, stride: s.5, seed: 1000 + UInt64(i))
            check(c, "\(s)")
        }
    }

    /// One input bit set (one channel of one pixel), all weights +1: exactly the windows that cover
    /// that pixel see one -1, so their popcount is 1 and every other popcount is 0.
    func testOneHotInputBitOrder() {
        for k in [1, 3] {
            for stride in [1, 2] {
                for channel in [0, 1, 31, 63, 64, 99] {
                    let inC = 100, h = 5, w = 6
                    var c = ConvCase(h: h, w: w, inC: inC, outC: 3, k: k, stride: stride, seed: 7, withExtras: false)
                    let (y0, x0) = (2, 3)
                    c.input = [UInt64](repeating: 0, count: c.inLayout.count)
                    c.input[c.inLayout.offset(y0, x0) + channel / 64] = UInt64(1) << UInt64(channel % 64)
                    c.weights = [UInt64](repeating: 0, count: c.weights.count)
                    c.scale = [1, 1, 1]
                    c.bias = [0, 0, 0]
                    let depth = Float(k * k * inC)
                    for tier in [KernelSet.reference] + fastTiers() {
                        let real = c.runReal(tier)
                        for oy in 0..<c.outH {
                            for ox in 0..<c.outW {
                                let dy = y0 - (oy * stride - k / 2), dx = x0 - (ox * stride - k / 2)
                                let covered = dy >= 0 && dy < k && dx >= 0 && dx < k
                                let expect = covered ? depth - 2 : depth
                                XCTAssertEqual(real[(oy * c.outW + ox) * 3], expect, "\(tier.tier) k\(k) s\(stride) ch\(channel)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// One weight bit set: output channel `oc` sees input channel `ch` at tap (ky, kx) only.
    func testOneHotWeightBitOrder() {
        let inC = 70, outC = 6, k = 3
        for (oc, ch, ky, kx) in [(0, 0, 0, 0), (5, 69, 2, 2), (3, 64, 1, 0), (1, 63, 0, 2)] {
            var c = ConvCase(h: 4, w: 4, inC: inC, outC: outC, k: k, stride: 1, seed: 9, withExtras: false)
            c.input = [UInt64](repeating: 0, count: c.inLayout.count)
            c.weights = [UInt64](repeating: 0, count: c.weights.count)
            c.weights[((oc * k + ky) * k + kx) * bitWords(inC) + ch / 64] = UInt64(1) << UInt64(ch % 64)
            c.scale = [Float](repeating: 1, count: outC)
            c.bias = [Float](repeating: 0, count: outC)
            for tier in [KernelSet.reference] + fastTiers() {
                let real = c.runReal(tier)
                for i in 0..<(c.outH * c.outW) {
                    for o in 0..<outC {
                        XCTAssertEqual(real[i * outC + o], Float(k * k * inC - (o == oc ? 2 : 0)), "\(tier.tier)")
                    }
                }
            }
        }
    }

    /// All inputs -1, all weights +1: every in-image tap gives -1 per channel, every padding tap +1.
    func testPaddingEdgesArePlusOne() {
        let inC = 65, h = 3, w = 4
        for stride in [1, 2] {
            var c = ConvCase(h: h, w: w, inC: inC, outC: 4, k: 3, stride: stride, seed: 11, withExtras: false)
            c.input = [UInt64](repeating: 0, count: c.inLayout.count)
            for y in 0..<h {
                for x in 0..<w {
                    c.input[c.inLayout.offset(y, x)] = .max
                    c.input[c.inLayout.offset(y, x) + 1] = 1
                }
            }
            c.weights = [UInt64](repeating: 0, count: c.weights.count)
            c.scale = [1, 1, 1, 1]
            c.bias = [0, 0, 0, 0]
            for tier in [KernelSet.reference] + fastTiers() {
                let real = c.runReal(tier)
                for oy in 0..<c.outH {
                    for ox in 0..<c.outW {
                        var inside = 0
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let y = oy * stride - 1 + ky, x = ox * stride - 1 + kx
                                if y >= 0 && y < h && x >= 0 && x < w { inside += 1 }
                            }
                        }
                        let expect = Float((9 - 2 * inside) * inC)
                        XCTAssertEqual(real[(oy * c.outW + ox) * 4 + 2], expect, "\(tier.tier) s\(stride) (\(oy),\(ox))")
                    }
                }
            }
        }
    }

    /// Threshold edges: bit is 1 exactly when popcount >= threshold (0 = always, depth + 1 = never).
    func testThresholdEdges() {
        var c = ConvCase(h: 3, w: 3, inC: 64, outC: 3, k: 3, stride: 1, seed: 12, withExtras: false)
        c.thresholds = [0, Int32(9 * 64 + 1), 300]
        c.scale = [1, 1, 1]
        c.bias = [0, 0, 0]
        for tier in [KernelSet.reference] + fastTiers() {
            let bits = c.runBits(tier)
            let real = c.runReal(tier)
            for y in 0..<3 {
                for x in 0..<3 {
                    let word = bits[c.outLayout.offset(y, x)]
                    let popcount = (9 * 64 - Int(real[(y * 3 + x) * 3 + 2])) / 2
                    XCTAssertEqual(word & 1, 1)
                    XCTAssertEqual(word & 2, 0)
                    XCTAssertEqual((word >> 2) & 1, popcount >= 300 ? 1 : 0)
                    XCTAssertEqual(word >> 3, 0, "unused output bits stay 0")
                }
            }
            // The border of the output buffer is never written.
            XCTAssertEqual(bits[c.outLayout.offset(-1, -1)], 0)
            XCTAssertEqual(bits[c.outLayout.offset(3, 3)], 0)
        }
    }

    /// A column range (the executor's tile regions): those columns equal a full run on every tier, with
    /// the fused pack; every other output value, bit and packed word is left as it was.
    func testColumnRangesComputeOnlyTheirColumns() {
        var seed: UInt64 = 300
        for (k, stride, h, w, inC, outC) in [(3, 1, 5, 9, 64, 8), (3, 1, 4, 7, 96, 13), (1, 1, 3, 6, 130, 5), (3, 2, 6, 11, 70, 4)] {
            seed += 1
            var c = ConvCase(h: h, w: w, inC: inC, outC: outC, k: k, stride: stride, seed: seed, withExtras: true)
            let fullBits = c.runBits(.reference)
            let (fullReal, fullPacked) = c.runRealAndPack(.reference)
            let outW = c.outW
            for cols in [0..<1, 1..<2, 1..<4, 2..<outW, (outW - 1)..<outW, 0..<outW, 3..<(outW + 5)] {
                c.columns = cols
                let inside = cols.clamped(to: 0..<outW)
                for tier in [KernelSet.reference] + fastTiers() {
                    let label = "\(tier.tier) k\(k) s\(stride) \(h)x\(w) \(inC)->\(outC) cols \(cols)"
                    let bits = c.runBits(tier, chunks: 2)
                    let (real, packed) = c.runRealAndPack(tier, chunks: 2)
                    for oy in 0..<c.outH {
                        for ox in 0..<outW {
                            let o = c.outLayout.offset(oy, ox)
                            let words = c.outLayout.words
                            if inside.contains(ox) {
                                XCTAssertEqual(Array(bits[o..<(o + words)]), Array(fullBits[o..<(o + words)]), "bits \(label)")
                                XCTAssertEqual(Array(packed[o..<(o + words)]), Array(fullPacked[o..<(o + words)]), "pack \(label)")
                                for ch in 0..<outC {
                                    XCTAssertEqual(real[(oy * outW + ox) * outC + ch], fullReal[(oy * outW + ox) * outC + ch], "real \(label)")
                                }
                            } else {
                                XCTAssertTrue(bits[o..<(o + words)].allSatisfy { $0 == 0 }, "bits outside \(label)")
                                XCTAssertTrue(packed[o..<(o + words)].allSatisfy { $0 == 0 }, "pack outside \(label)")
                                XCTAssertTrue((0..<outC).allSatisfy { real[(oy * outW + ox) * outC + $0].isNaN }, "real outside \(label)")
                            }
                        }
                    }
                }
            }
        }
    }
}
