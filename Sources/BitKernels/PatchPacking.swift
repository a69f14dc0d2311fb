/// Packed patches for narrow binary 3x3 convolutions.
///
/// Below 64 input channels a packed pixel still takes a whole 64-bit word, so a 3x3 patch is 9 words of
/// which only 9 x C bits count (16 channels: a quarter of every word). Packing each output pixel's patch
/// once as one dense bit string (tap `f = 3 ky + kx` at bits `f C ..< (f + 1) C`) makes the convolution a
/// 1x1 convolution over `words(9 C)` words: 3 instead of 9 at 16 channels, 5 at 32, 7 at 48. The weights
/// are packed the same way once at load. Padding is +1 (bit 0) in both forms, the unused high bits of the
/// last word are 0 in activations and weights, and the depth is still `9 C`: every popcount, and so every
/// output, is the 3x3 convolution's.
public enum PatchPacking {
    /// Whether a binary convolution with this kernel over `channels` input channels runs on packed patches:
    /// 3x3, one word per input pixel, and fewer words per patch.
    @inlinable
    public static func applies(kernel: Int, channels: Int) -> Bool {
        kernel == 3 && channels < 64 && bitWords(9 * channels) < 9
    }

    /// The layout of the packed patches of a convolution with this output size: one `9 C`-channel pixel per
    /// output pixel, no border (the 1x1 convolution over it has no padding).
    @inlinable
    public static func layout(outHeight: Int, outWidth: Int, channels: Int) -> PackedLayout {
        PackedLayout(height: outHeight, width: outWidth, channels: 9 * channels, border: 0)
    }

    /// Packs the 3x3 patches (stride `stride`, padding 1) of `input` (`l`, fewer than 64 channels) for
    /// output rows `rows` into `out` (`layout(...)`). `columns` (all when nil) limits the output pixels.
    public static func pack(_ input: UnsafePointer<UInt64>, _ l: PackedLayout, stride: Int,
                            into out: UnsafeMutablePointer<UInt64>, _ ol: PackedLayout, rows: Range<Int>,
                            columns: Range<Int>? = nil) {
        let c = l.channels, words = ol.words
        let cols = columns?.clamped(to: 0..<ol.width) ?? 0..<ol.width
        for oy in rows {
            let top = input + l.offset(oy * stride - 1, 0)
            for ox in cols {
                let a = top + (ox * stride - 1)
                let rs = l.rowStride
                packTaps(a[0], a[1], a[2], a[rs], a[rs + 1], a[rs + 2], a[2 * rs], a[2 * rs + 1], a[2 * rs + 2],
                         channels: c, into: out + ol.offset(oy, ox), words: words)
            }
        }
    }

    /// Weights `outChannels x 3 x 3 x 1` words (fewer than 64 input channels) as `outChannels x
    /// words(9 C)` words: the convolution's `wordsPerChannel` for `WeightLayout.prepare`.
    public static func packWeights(_ w: UnsafePointer<UInt64>, outChannels: Int, channels: Int,
                                   into dst: UnsafeMutablePointer<UInt64>) {
        let words = bitWords(9 * channels)
        for oc in 0..<outChannels {
            let s = w + oc * 9
            packTaps(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], channels: channels, into: dst + oc * words, words: words)
        }
    }

    /// Writes the nine `c`-bit taps as one bit string of `words` words.
    @inline(__always)
    static func packTaps(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64, _ t4: UInt64, _ t5: UInt64,
                         _ t6: UInt64, _ t7: UInt64, _ t8: UInt64, channels c: Int, into d: UnsafeMutablePointer<UInt64>,
                         words: Int) {
        var s = BitString(out: d, channels: c)
        s.append(t0); s.append(t1); s.append(t2); s.append(t3); s.append(t4); s.append(t5); s.append(t6); s.append(t7); s.append(t8)
        if s.written < words { d[s.written] = s.word }
    }

    /// Appends `channels`-bit fields to words at `out`, each word written once it is full.
    struct BitString {
        let out: UnsafeMutablePointer<UInt64>
        let channels: Int
        var word: UInt64 = 0
        var bit = 0
        var written = 0

        @inline(__always)
        init(out: UnsafeMutablePointer<UInt64>, channels: Int) {
            self.out = out
            self.channels = channels
        }

        @inline(__always)
        mutating func append(_ v: UInt64) {
            word |= v &<< UInt64(bit)
            bit += channels
            if bit >= 64 {
                out[written] = word
                written += 1
                bit -= 64
                // The part of `v` that did not fit (none when the word ended exactly).
                word = bit == 0 ? 0 : v &>> UInt64(channels - bit)
            }
        }
    }
}
