import XCTest
import BitKernels

/// Narrow 3x3 convolutions on packed patches (a 1x1 convolution over one dense bit string per output
/// pixel) against the 3x3 reference, on every tier: bits, real output with shortcut, PReLU and fused pack.
final class PatchPackingTests: XCTestCase {
    /// The same convolution as `c`, as a 1x1 convolution over `c`'s packed patches.
    private func packedForm(_ c: ConvCase) -> ConvCase {
        let inC = c.inLayout.channels
        let ol = PatchPacking.layout(outHeight: c.outH, outWidth: c.outW, channels: inC)
        var patches = [UInt64](repeating: 0xDEAD, count: ol.count)
        var weights = [UInt64](repeating: 0xBEEF, count: c.outC * ol.words)
        c.input.withUnsafeBufferPointer { i in
            patches.withUnsafeMutableBufferPointer { o in
                // In two row ranges, as the executor's threads would.
                PatchPacking.pack(i.baseAddress!, c.inLayout, stride: c.stride, into: o.baseAddress!, ol, rows: 0..<(c.outH / 2))
                PatchPacking.pack(i.baseAddress!, c.inLayout, stride: c.stride, into: o.baseAddress!, ol, rows: (c.outH / 2)..<c.outH)
            }
        }
        c.weights.withUnsafeBufferPointer { w in
            weights.withUnsafeMutableBufferPointer { o in
                PatchPacking.packWeights(w.baseAddress!, outChannels: c.outC, channels: inC, into: o.baseAddress!)
            }
        }
        var q = c
        q.inLayout = ol
        q.k = 1
        q.stride = 1
        q.input = patches
        q.weights = weights
        return q
    }

    func testPackedPatchesGiveTheThreeByThreeConvolution() {
        var seed: UInt64 = 40
        for inC in [1, 5, 16, 21, 32, 33, 48, 56] {
            XCTAssertTrue(PatchPacking.applies(kernel: 3, channels: inC))
            for stride in [1, 2] {
                for (h, w, outC) in [(5, 7, 8), (9, 12, 13), (6, 17, 32)] {
                    seed += 1
                    let c = ConvCase(h: h, w: w, inC: inC, outC: outC, k: 3, stride: stride, seed: seed)
                    let q = packedForm(c)
                    XCTAssertEqual(q.outH, c.outH)
                    XCTAssertEqual(q.outW, c.outW)
                    let bits = c.runBits(.reference)
                    let (real, packed) = c.runRealAndPack(.reference)
                    for tier in [KernelSet.reference] + fastTiers() {
                        let label = "\(tier.tier.rawValue) \(h)x\(w)x\(inC)->\(outC) s\(stride)"
                        XCTAssertEqual(q.runBits(tier), bits, "bits, " + label)
                        let (r, p) = q.runRealAndPack(tier, chunks: 2)
                        XCTAssertEqual(r, real, "real, " + label)
                        XCTAssertEqual(p, packed, "fused pack, " + label)
                    }
                }
            }
        }
    }

    func testWhereItApplies() {
        XCTAssertFalse(PatchPacking.applies(kernel: 1, channels: 16))
        XCTAssertFalse(PatchPacking.applies(kernel: 3, channels: 64))
        XCTAssertFalse(PatchPacking.applies(kernel: 3, channels: 60))  // 540 bits: 9 words, nothing gained
        XCTAssertEqual(PatchPacking.layout(outHeight: 2, outWidth: 3, channels: 16).words, 3)
        XCTAssertEqual(PatchPacking.layout(outHeight: 2, outWidth: 3, channels: 32).words, 5)
        XCTAssertEqual(PatchPacking.layout(outHeight: 2, outWidth: 3, channels: 48).words, 7)
    }
}
