import CFFmpeg

/// FFmpeg's C calls wrapped once: error codes become Swift errors with FFmpeg's own message.
enum FFmpegCall {
    /// FFmpeg's text for an error code.
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        bitspot_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static let eof = bitspot_averror_eof()
    static let again = bitspot_averror_eagain()
    static let invalidData = bitspot_averror_invaliddata()

    /// `AVERROR(errno)` for a POSIX error number.
    static func posix(_ errno: Int32) -> Int32 { bitspot_averror(errno) }
}

/// FFmpeg's library versions, for reports and bundles.
public enum FFmpegVersion {
    public static var summary: String {
        func v(_ x: UInt32) -> String { "\(x >> 16).\((x >> 8) & 0xFF).\(x & 0xFF)" }
        return "libavformat \(v(avformat_version())), libavcodec \(v(avcodec_version())), libavutil \(v(avutil_version())), libswscale \(v(swscale_version()))"
    }

    /// Whether this FFmpeg build has an encoder of that name.
    public static func hasEncoder(_ name: String) -> Bool { avcodec_find_encoder_by_name(name) != nil }
}

/// FFmpeg's own log output: quiet by default, since BitSpot reports errors itself.
public enum FFmpegLog {
    public static func set(verbose: Bool) { bitspot_set_log_quiet(verbose ? 0 : 1) }
}
