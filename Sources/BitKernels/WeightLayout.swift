/// How a tier wants the packed weights of a binary convolution laid out (prepared once at model load).
public enum WeightLayout: Sendable, Equatable {
    /// The file's layout: `outC x k x k x words(inC)`.
    case channelMajor
    /// Blocks of 8 output channels, then `k x k x words(inC)` words, then the 8 channels' words side by
    /// side; output channels are padded to a multiple of 8 with zero weights. Lets a vector of 4 or 8
    /// lanes hold the same input word's weights for consecutive output channels.
    case interleaved8

    /// Words needed for `outC` output channels with `wordsPerChannel` words each.
    public func count(outChannels: Int, wordsPerChannel: Int) -> Int {
        switch self {
        case .channelMajor: return outChannels * wordsPerChannel
        case .interleaved8: return (outChannels + 7) / 8 * 8 * wordsPerChannel
        }
    }

    /// Rewrites channel-major weights `src` into this layout at `dst` (`count(...)` words).
    public func prepare(_ src: UnsafePointer<UInt64>, outChannels: Int, wordsPerChannel: Int,
                        into dst: UnsafeMutablePointer<UInt64>) {
        switch self {
        case .channelMajor:
            dst.update(from: src, count: outChannels * wordsPerChannel)
        case .interleaved8:
            let blocks = (outChannels + 7) / 8
            dst.update(repeating: 0, count: blocks * 8 * wordsPerChannel)
            for oc in 0..<outChannels {
                let b = oc / 8, lane = oc % 8
                for i in 0..<wordsPerChannel {
                    dst[(b * wordsPerChannel + i) * 8 + lane] = src[oc * wordsPerChannel + i]
                }
            }
        }
    }
}
