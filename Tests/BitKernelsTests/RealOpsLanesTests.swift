import BitKernels
import XCTest

/// The eight-lane real ops (1x1 convolution, average pooling, shifted PReLU) against the scalar
/// references: bit-identical outputs for channel counts around the vector width, odd sizes, both
/// strides and row ranges.
final class RealOpsLanesTests: XCTestCase {
    func testLanesMatchReferenceBitForBit() {
        var rng = SplitMix64(seed: 0x1_0001)
        for (inC, outC) in [(1, 1), (16, 32), (32, 48), (48, 2), (7, 9), (33, 8), (64, 17), (128, 37), (3, 16)] {
            for stride in [1, 2] {
                let layout = RealLayout(height: 5, width: 7, channels: inC)
                let src = (0..<layout.height * layout.width * inC).map { _ in Float(Int(rng.next() % 20001) - 10000) / 997 }
                let w = (0..<outC * inC).map { _ in Float(Int(rng.next() % 20001) - 10000) / 3001 }
                let bias = (0..<outC).map { _ in Float(Int(rng.next() % 2001) - 1000) / 101 }
                let oh = (layout.height - 1) / stride + 1, ow = (layout.width - 1) / stride + 1
                var ref = [Float](repeating: .nan, count: oh * ow * outC)
                var lanes = ref
                var wt = [Float](repeating: .nan, count: inC * RealOps.conv1x1PaddedOutChannels(outC))
                RealOps.transposeConv1x1Weights(w, outChannels: outC, inChannels: inC, into: &wt)
                RealOps.conv1x1(src, layout, weights: w, bias: bias, outChannels: outC, stride: stride, into: &ref, rows: 0..<oh)
                // Two row ranges, as a caller splitting the rows would run them.
                RealOps.conv1x1Lanes(src, layout, transposedWeights: wt, bias: bias, outChannels: outC, stride: stride,
                                     into: &lanes, rows: 0..<1)
                RealOps.conv1x1Lanes(src, layout, transposedWeights: wt, bias: bias, outChannels: outC, stride: stride,
                                     into: &lanes, rows: 1..<oh)
                XCTAssertEqual(ref.map(\.bitPattern), lanes.map(\.bitPattern), "inC \(inC) outC \(outC) stride \(stride)")
            }
        }
    }

    func testTransposeOneHot() {
        let w: [Float] = [1, 2, 3, 4, 5, 6]  // 2 x 3
        var t = [Float](repeating: .nan, count: 24)
        RealOps.transposeConv1x1Weights(w, outChannels: 2, inChannels: 3, into: &t)
        XCTAssertEqual(t, [1, 4, 0, 0, 0, 0, 0, 0, 2, 5, 0, 0, 0, 0, 0, 0, 3, 6, 0, 0, 0, 0, 0, 0])
    }

    func testAvgPoolAndPReLULanesMatchReferenceBitForBit() {
        var rng = SplitMix64(seed: 77)
        func value() -> Float { Float(Int(rng.next() % 20001) - 10000) / 997 }
        for c in [1, 7, 8, 9, 16, 32, 48, 50] {
            let layout = RealLayout(height: 9, width: 11, channels: c)
            var src = (0..<layout.height * layout.width * c).map { _ in value() }
            src[0] = -0.0
            for (ph, pw) in [(2, 2), (10, 10), (2, 1), (3, 4)] {
                let oh = (layout.height + ph - 1) / ph, ow = (layout.width + pw - 1) / pw
                var ref = [Float](repeating: .nan, count: oh * ow * c)
                var lanes = ref
                RealOps.avgPool(src, layout, ph: ph, pw: pw, into: &ref)
                RealOps.avgPoolLanes(src, layout, ph: ph, pw: pw, into: &lanes)
                XCTAssertEqual(ref.map(\.bitPattern), lanes.map(\.bitPattern), "avg pool c \(c) \(ph)x\(pw)")
            }
            let shiftIn = (0..<c).map { _ in value() / 10 }, slope = (0..<c).map { _ in value() / 100 }
            let shiftOut = (0..<c).map { _ in value() / 10 }
            var ref = [Float](repeating: .nan, count: src.count)
            var lanes = ref
            shiftIn.withUnsafeBufferPointer { si in
                slope.withUnsafeBufferPointer { sl in
                    shiftOut.withUnsafeBufferPointer { so in
                        let f = ShiftedPReLU(shiftIn: si.baseAddress!, slope: sl.baseAddress!, shiftOut: so.baseAddress!)
                        RealOps.prelu(src, layout, f, into: &ref)
                        RealOps.preluLanes(src, layout, f, into: &lanes)
                    }
                }
            }
            XCTAssertEqual(ref.map(\.bitPattern), lanes.map(\.bitPattern), "prelu c \(c)")
        }
    }

    /// Column ranges of the 1x1 convolution and of packing (tile regions): those pixels equal a full run,
    /// the others are left as they were.
    func testColumnRangesOfConv1x1AndPack() {
        var rng = SplitMix64(seed: 0x2_0002)
        let (inC, outC) = (32, 48)
        let layout = RealLayout(height: 4, width: 9, channels: inC)
        let src = (0..<layout.height * layout.width * inC).map { _ in Float(Int(rng.next() % 20001) - 10000) / 997 }
        let w = (0..<outC * inC).map { _ in Float(Int(rng.next() % 20001) - 10000) / 3001 }
        let bias = (0..<outC).map { _ in Float(Int(rng.next() % 2001) - 1000) / 101 }
        var wt = [Float](repeating: .nan, count: inC * RealOps.conv1x1PaddedOutChannels(outC))
        RealOps.transposeConv1x1Weights(w, outChannels: outC, inChannels: inC, into: &wt)
        var full = [Float](repeating: .nan, count: 4 * 9 * outC)
        RealOps.conv1x1Lanes(src, layout, transposedWeights: wt, bias: bias, outChannels: outC, stride: 1, into: &full, rows: 0..<4)
        let packLayout = PackedLayout(height: 4, width: 9, channels: inC)
        let thresholds = (0..<inC).map { _ in Float(Int(rng.next() % 200) - 100) / 50 }
        var fullBits = [UInt64](repeating: 0, count: packLayout.count)
        Packing.pack(src, layout, thresholds: thresholds, into: &fullBits, packLayout, rows: 0..<4)
        for cols in [0..<1, 2..<5, 8..<9, 0..<9, 7..<20] {
            var part = [Float](repeating: .nan, count: full.count)
            var bits = [UInt64](repeating: 0, count: packLayout.count)
            RealOps.conv1x1Lanes(src, layout, transposedWeights: wt, bias: bias, outChannels: outC, stride: 1, into: &part,
                                 rows: 1..<3, columns: cols)
            Packing.pack(src, layout, thresholds: thresholds, into: &bits, packLayout, rows: 1..<3, columns: cols)
            for y in 0..<4 {
                for x in 0..<9 {
                    let on = (1..<3).contains(y) && cols.contains(x)
                    let px = (y * 9 + x) * outC
                    if on {
                        XCTAssertEqual(part[px..<(px + outC)].map(\.bitPattern), full[px..<(px + outC)].map(\.bitPattern), "conv \(cols) (\(y),\(x))")
                        XCTAssertEqual(bits[packLayout.offset(y, x)], fullBits[packLayout.offset(y, x)], "pack \(cols) (\(y),\(x))")
                    } else {
                        XCTAssertTrue(part[px..<(px + outC)].allSatisfy(\.isNaN), "conv outside \(cols) (\(y),\(x))")
                        XCTAssertEqual(bits[packLayout.offset(y, x)], 0, "pack outside \(cols) (\(y),\(x))")
                    }
                }
            }
        }
    }
}
