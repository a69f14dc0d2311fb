import XCTest
import BitKernels

/// The vectorised first layer against the scalar one, both outputs, channel counts around 8 and 64, widths
/// where runs of eight pixels take the vector loads and where they do not.
final class FirstConvTests: XCTestCase {
    func testVectorMatchesScalar() {
        var rng = SplitMix64(seed: 8)
        for (h, w, inC, outC, stride) in [(5, 7, 1, 16, 1), (9, 6, 1, 65, 2), (4, 4, 3, 7, 1), (6, 5, 4, 130, 2), (1, 1, 1, 8, 1),
                                              // Wide enough for the vector loads (runs of 8 inside the row) and the edges.
                                              (7, 45, 1, 16, 2), (6, 46, 1, 32, 2), (5, 37, 1, 16, 1), (4, 29, 1, 9, 1), (3, 64, 3, 8, 2)] {
            let layout = RealLayout(height: h, width: w, channels: inC)
            let image = (0..<layout.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let weights = (0..<(outC * 9 * inC)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
            let thresholds = (0..<outC).map { _ in Int32(Int(rng.next() % 4001) - 2000) }
            let scale = (0..<outC).map { _ in Float(Int(rng.next() % 100)) / 1024 }
            let bias = (0..<outC).map { _ in Float(Int(rng.next() % 100) - 50) / 16 }
            let zp = Int32(rng.next() % 256)
            var prepared = [Float](repeating: 0, count: RealOps.firstConvPreparedCount(outChannels: outC, inChannels: inC))
            RealOps.prepareFirstConvWeights(weights, outChannels: outC, inChannels: inC, into: &prepared)
            let oh = convOutputSize(h, kernel: 3, stride: stride, padding: 1), ow = convOutputSize(w, kernel: 3, stride: stride, padding: 1)
            let pl = PackedLayout(height: oh, width: ow, channels: outC)
            var bitsA = [UInt64](repeating: 0, count: pl.count), bitsB = bitsA
            var realA = [Float](repeating: 0, count: oh * ow * outC), realB = realA
            thresholds.withUnsafeBufferPointer { t in
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        bitsA.withUnsafeMutableBufferPointer { a in
                            RealOps.firstConv(image, layout, zeroPoint: zp, weights: weights, outChannels: outC, stride: stride,
                                              output: .bits(a.baseAddress!, pl, thresholds: t.baseAddress!), rows: 0..<oh)
                        }
                        bitsB.withUnsafeMutableBufferPointer { a in
                            RealOps.firstConvVector(image, layout, zeroPoint: zp, preparedWeights: prepared, outChannels: outC,
                                                    stride: stride, output: .bits(a.baseAddress!, pl, thresholds: t.baseAddress!), rows: 0..<oh)
                        }
                        realA.withUnsafeMutableBufferPointer { a in
                            RealOps.firstConv(image, layout, zeroPoint: zp, weights: weights, outChannels: outC, stride: stride,
                                              output: .real(a.baseAddress!, scale: s.baseAddress!, bias: b.baseAddress!), rows: 0..<oh)
                        }
                        realB.withUnsafeMutableBufferPointer { a in
                            RealOps.firstConvVector(image, layout, zeroPoint: zp, preparedWeights: prepared, outChannels: outC, stride: stride,
                                                    output: .real(a.baseAddress!, scale: s.baseAddress!, bias: b.baseAddress!), rows: 0..<oh)
                        }
                    }
                }
            }
            XCTAssertEqual(bitsA, bitsB, "bits \(h)x\(w)x\(inC)->\(outC) s\(stride)")
            XCTAssertEqual(realA, realB, "real \(h)x\(w)x\(inC)->\(outC) s\(stride)")
            // Each tier's table (the same loops compiled with the tier target's flags), in two row ranges.
            for tier in fastTiers() {
                var bitsC = [UInt64](repeating: 0, count: pl.count)
                var realC = [Float](repeating: 0, count: oh * ow * outC)
                thresholds.withUnsafeBufferPointer { t in
                    scale.withUnsafeBufferPointer { s in
                        bias.withUnsafeBufferPointer { b in
                            prepared.withUnsafeBufferPointer { wp in
                                bitsC.withUnsafeMutableBufferPointer { a in
                                    let p = FirstConvParams(image: image, layout: layout, zeroPoint: zp, weights: wp.baseAddress!, outChannels: outC,
                                                            stride: stride, output: .bits(a.baseAddress!, pl, thresholds: t.baseAddress!))
                                    tier.real.firstConv(p, 0..<(oh / 2))
                                    tier.real.firstConv(p, (oh / 2)..<oh)
                                }
                                realC.withUnsafeMutableBufferPointer { a in
                                    let p = FirstConvParams(image: image, layout: layout, zeroPoint: zp, weights: wp.baseAddress!, outChannels: outC,
                                                            stride: stride, output: .real(a.baseAddress!, scale: s.baseAddress!, bias: b.baseAddress!))
                                    tier.real.firstConv(p, 0..<(oh / 2))
                                    tier.real.firstConv(p, (oh / 2)..<oh)
                                }
                            }
                        }
                    }
                }
                XCTAssertEqual(bitsA, bitsC, "bits, tier \(tier.tier.rawValue) \(h)x\(w)x\(inC)->\(outC) s\(stride)")
                XCTAssertEqual(realA, realC, "real, tier \(tier.tier.rawValue) \(h)x\(w)x\(inC)->\(outC) s\(stride)")
            }
            XCTAssertTrue(bitsA.contains { $0 != 0 })
        }
    }
}
