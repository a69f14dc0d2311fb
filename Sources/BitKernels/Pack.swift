/// Packing real activations into bits with a per-channel threshold (batch-norm + sign folded),
/// and unpacking bits back to ±1.
///
/// Rule: bit = 1 (value -1) iff `x < threshold[c]`; so `threshold = 0` is plain sign with sign(0) = +1,
/// and a ReActNet shift `sign(x + b)` is `threshold = -b`.
public enum Packing {
    /// Packs `src` (`layout`, dense channels-last Float) into `dst` (`out`, which must have the same
    /// height, width and channels). Only the interior is written; the border stays as it is (zero).
    /// `columns` (all when nil) limits the pixels of each row that are packed.
    public static func pack(_ src: UnsafePointer<Float>, _ layout: RealLayout, thresholds: UnsafePointer<Float>,
                            into dst: UnsafeMutablePointer<UInt64>, _ out: PackedLayout, rows: Range<Int>,
                            columns: Range<Int>? = nil) {
        let c = layout.channels
        let cols = columns?.clamped(to: 0..<layout.width) ?? 0..<layout.width
        for y in rows {
            for x in cols {
                packPixel(src + (y * layout.width + x) * c, channels: c, thresholds: thresholds, into: dst + out.offset(y, x))
            }
        }
    }

    /// Packs the `channels` values of one pixel into `words(channels)` words at `d`.
    @inlinable @inline(__always)
    public static func packPixel(_ s: UnsafePointer<Float>, channels c: Int, thresholds: UnsafePointer<Float>,
                                 into d: UnsafeMutablePointer<UInt64>) {
        let full = c / 64
        for w in 0..<full { d[w] = packWord(s + w * 64, thresholds + w * 64) }
        if full * 64 < c {
            // The last, partial word (all of it below 64 channels): eight lanes at a time, then one by one.
            let base = full * 64
            var word: UInt64 = 0
            var ch = base
            while ch + 8 <= c {
                word |= packByte(s + ch, thresholds + ch) << UInt64(ch - base)
                ch += 8
            }
            while ch < c {
                word |= (s[ch] < thresholds[ch] ? 1 : 0) << UInt64(ch - base)
                ch += 1
            }
            d[full] = word
        }
    }

    /// Eight comparisons `x < t` as the low byte of a word.
    @inlinable @inline(__always)
    public static func packByte(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>) -> UInt64 {
        let weights = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)
        let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD8<Float>.self)
        let u = UnsafeRawPointer(t).loadUnaligned(as: SIMD8<Float>.self)
        return UInt64(UInt32(bitPattern: SIMD8<Int32>(repeating: 0).replacing(with: weights, where: v .< u).wrappedSum()))
    }

    /// 64 comparisons `x < t` as one word, eight lanes at a time (vector compare, mask to bits).
    @inlinable @inline(__always)
    public static func packWord(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>) -> UInt64 {
        var word: UInt64 = 0
        for j in 0..<8 { word |= packByte(x + 8 * j, t + 8 * j) << UInt64(8 * j) }
        return word
    }

    /// Packs 8-bit activations (e.g. luma), same rule with integer thresholds.
    public static func pack(_ src: UnsafePointer<UInt8>, _ layout: RealLayout, thresholds: UnsafePointer<Int32>,
                            into dst: UnsafeMutablePointer<UInt64>, _ out: PackedLayout, rows: Range<Int>) {
        let c = layout.channels, words = out.words
        for y in rows {
            for x in 0..<layout.width {
                let s = src + (y * layout.width + x) * c
                let d = dst + out.offset(y, x)
                for w in 0..<words {
                    var word: UInt64 = 0
                    let lo = w * 64, hi = min(c, lo + 64)
                    for ch in lo..<hi where Int32(s[ch]) < thresholds[ch] {
                        word |= UInt64(1) << UInt64(ch - lo)
                    }
                    d[w] = word
                }
            }
        }
    }

    /// Writes the ±1 values of packed bits as Float, dense channels-last.
    public static func unpack(_ src: UnsafePointer<UInt64>, _ layout: PackedLayout, into dst: UnsafeMutablePointer<Float>) {
        let c = layout.channels
        for y in 0..<layout.height {
            for x in 0..<layout.width {
                let s = src + layout.offset(y, x)
                let d = dst + (y * layout.width + x) * c
                for ch in 0..<c {
                    d[ch] = (s[ch >> 6] >> UInt64(ch & 63)) & 1 == 1 ? -1 : 1
                }
            }
        }
    }

    /// Zeroes a packed buffer, border included (every packed buffer starts this way).
    public static func clear(_ dst: UnsafeMutablePointer<UInt64>, _ layout: PackedLayout) {
        dst.update(repeating: 0, count: layout.count)
    }
}
