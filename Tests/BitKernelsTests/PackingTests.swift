import XCTest
import BitKernels

final class PackingTests: XCTestCase {
    /// Float and 8-bit packing against the rule "bit 1 iff x < t[c]", channel counts around 64,
    /// then unpacking back to ±1; ties (x == t) give +1.
    func testPackUnpackAgainstTheRule() {
        var rng = SplitMix64(seed: 5)
        for c in [1, 8, 9, 16, 32, 48, 63, 64, 65, 71, 128, 130, 200] {
            let real = RealLayout(height: 3, width: 5, channels: c)
            let packed = PackedLayout(height: 3, width: 5, channels: c)
            let thresholds = (0..<c).map { _ in Float(Int(rng.next() % 9) - 4) / 4 }
            var values = (0..<real.count).map { _ in Float(Int(rng.next() % 17) - 8) / 4 }
            values[0] = thresholds[0]
            let bytes = (0..<real.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let byteThresholds = (0..<c).map { _ in Int32(rng.next() % 256) }
            var out = [UInt64](repeating: 0, count: packed.count)
            var out8 = [UInt64](repeating: 0, count: packed.count)
            var back = [Float](repeating: 0, count: real.count)
            Packing.pack(values, real, thresholds: thresholds, into: &out, packed, rows: 0..<3)
            Packing.pack(bytes, real, thresholds: byteThresholds, into: &out8, packed, rows: 0..<3)
            Packing.unpack(out, packed, into: &back)
            for y in 0..<3 {
                for x in 0..<5 {
                    for ch in 0..<c {
                        let i = (y * 5 + x) * c + ch
                        let bit = (out[packed.offset(y, x) + ch / 64] >> UInt64(ch % 64)) & 1
                        XCTAssertEqual(bit == 1, values[i] < thresholds[ch], "c=\(c)")
                        XCTAssertEqual(back[i], values[i] < thresholds[ch] ? -1 : 1)
                        let bit8 = (out8[packed.offset(y, x) + ch / 64] >> UInt64(ch % 64)) & 1
                        XCTAssertEqual(bit8 == 1, Int32(bytes[i]) < byteThresholds[ch])
                    }
                    if c % 64 != 0 { XCTAssertEqual(out[packed.offset(y, x) + c / 64] >> UInt64(c % 64), 0, "unused bits") }
                }
            }
            XCTAssertEqual(out[packed.offset(-1, -1)], 0, "border untouched")
        }
    }

    /// Bit max-pool = max of ±1 values over each window, ceil mode.
    func testBitMaxPoolIsMaxOfValues() {
        var rng = SplitMix64(seed: 6)
        for (h, w, c, ph, pw) in [(5, 7, 70, 2, 2), (4, 4, 64, 2, 1), (3, 5, 3, 3, 2)] {
            let l = PackedLayout(height: h, width: w, channels: c)
            let input = randomPacked(l, &rng)
            let ol = PackedLayout(height: poolOutputSize(h, size: ph), width: poolOutputSize(w, size: pw), channels: c)
            var out = [UInt64](repeating: 0, count: ol.count)
            input.withUnsafeBufferPointer { RealOps.bitMaxPool($0.baseAddress!, l, ph: ph, pw: pw, into: &out, ol) }
            input.withUnsafeBufferPointer { inp in
                for oy in 0..<ol.height {
                    for ox in 0..<ol.width {
                        for ch in 0..<c {
                            var m = -1
                            for y in (oy * ph)..<min(h, oy * ph + ph) {
                                for x in (ox * pw)..<min(w, ox * pw + pw) {
                                    m = max(m, ReferenceKernels.value(inp.baseAddress!, l, y, x, ch))
                                }
                            }
                            let bit = (out[ol.offset(oy, ox) + ch / 64] >> UInt64(ch % 64)) & 1
                            XCTAssertEqual(bit == 1 ? -1 : 1, m)
                        }
                    }
                }
            }
        }
    }
}
