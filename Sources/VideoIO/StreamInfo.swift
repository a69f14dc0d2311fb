/// What an input holds, read from its container header (and, for live inputs, its first packets).
public struct StreamInfo: Sendable, Codable, Equatable {
    /// Container (demuxer) short name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `mpegts`, `lavfi`.
    public var container: String
    /// Container long name, e.g. `QuickTime / MOV`.
    public var containerLongName: String
    /// Codec short name, e.g. `h264`.
    public var codec: String
    public var width: Int
    public var height: Int
    /// Decoder pixel format, e.g. `yuv420p`.
    public var pixelFormat: String
    /// Average frame rate in frames per second, when the container says.
    public var frameRate: Double?
    /// Duration in seconds, when the container says.
    public var duration: Double?
    /// Number of frames, when the container says (MP4 does; MPEG-TS does not).
    public var frameCount: Int?
    /// Bit rate in bits per second, when known.
    public var bitRate: Int?
}
