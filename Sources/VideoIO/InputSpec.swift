import CFFmpeg
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where frames come from, as the user wrote it on the command line.
///
/// - a file path;
/// - `-` for standard input (`rpicam-vid -t 0 -o - | bitspot spot -`);
/// - a URL FFmpeg opens (`rtsp://`, `http://`, `file:`);
/// - a camera: `/dev/videoN` (libavdevice's v4l2) or any libavdevice input written `FORMAT:SPEC`,
///   such as `lavfi:testsrc2=size=1280x720:rate=30`.
public struct InputSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case file
        case standardInput
        case url
        case device(format: String)
    }

    public let kind: Kind
    /// What FFmpeg is asked to open (the path, `pipe:0`, the URL, or the device's spec).
    public let openName: String
    /// The input as the user wrote it; used in every message.
    public let original: String

    public var description: String { original }

    /// Whether frames arrive live (camera or stream): sampling by time, no seeking, no second pass.
    public var isLive: Bool {
        switch kind {
        case .device: return true
        case .url: return !original.hasPrefix("file:")
        case .file, .standardInput: return false
        }
    }

    /// Whether the input can be opened again for a second pass.
    public var isRepeatable: Bool {
        switch kind {
        case .file: return true
        case .url: return original.hasPrefix("file:")
        case .device(let format): return format == "lavfi"
        case .standardInput: return false
        }
    }

    /// Parses what the user wrote. `inputFormat` forces a libavdevice/libavformat input format.
    public init(_ text: String, inputFormat: String? = nil) throws {
        VideoIO.setUp()
        original = text
        if text.isEmpty { throw VideoIOError(.badRequest, "input", "empty input name") }
        if let forced = inputFormat {
            guard VideoIO.findInputFormat(forced) != nil else {
                throw VideoIOError(.badRequest, text, "FFmpeg has no input format '\(forced)'"
                                   + (VideoIO.devicesUnavailable.map { " (\($0))" } ?? ""))
            }
            kind = .device(format: forced)
            openName = text
            return
        }
        if text == "-" {
            kind = .standardInput
            openName = "pipe:0"
            return
        }
        if text.hasPrefix("/dev/video") {
            kind = .device(format: "v4l2")
            openName = text
            return
        }
        if text.contains("://") || text.hasPrefix("file:") || text.hasPrefix("pipe:") {
            kind = .url
            openName = text
            return
        }
        // FORMAT:SPEC, where FORMAT is an input format FFmpeg knows (lavfi, v4l2, x11grab, ...).
        if let colon = text.firstIndex(of: ":"), colon != text.startIndex {
            let format = String(text[..<colon])
            if format.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !Self.pathExists(text),
               VideoIO.findInputFormat(format) != nil {
                kind = .device(format: format)
                openName = String(text[text.index(after: colon)...])
                return
            }
        }
        kind = .file
        openName = text
    }

    /// Checks a file input before FFmpeg sees it, so that the common mistakes get a precise message.
    func checkFileExists() throws {
        guard case .file = kind else { return }
        var info = stat()
        if stat(openName, &info) != 0 {
            throw VideoIOError(.inputMissing, original, "no such file")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw VideoIOError(.inputInvalid, original, "is a directory, not a video file")
        }
        if access(openName, R_OK) != 0 {
            throw VideoIOError(.inputMissing, original, "not readable (permission denied)")
        }
        if info.st_size == 0 {
            throw VideoIOError(.inputInvalid, original, "empty file (0 bytes)")
        }
    }

    private static func pathExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}

/// Module-wide set-up shared by every entry point.
public enum VideoIO {
    /// The largest block FFmpeg may allocate at once (`av_max_alloc`). Demuxers trust counts in headers:
    /// a 1.2 KB fragmented MP4 from the fuzz-video target made libavformat 5.1 ask for 2.8 GB in three
    /// blocks; with the cap that input is refused. Real video stays far below it (an 8K frame is about
    /// 50 MB, the index of a 10-hour MP4 about as much).
    public static let maxAllocation = 256 << 20

    private static let setUpOnce: Bool = {
        av_max_alloc(maxAllocation)
        FFmpegLog.set(verbose: false)
        return true
    }()

    /// Caps FFmpeg's allocations (``maxAllocation``) and quiets FFmpeg's own log (BitSpot reports errors
    /// itself; ``FFmpegLog`` turns it back on), once.
    public static func setUp() { _ = setUpOnce }

    /// The input format `name` (a demuxer, or a libavdevice input such as `v4l2` or `lavfi`, for which
    /// libavdevice is opened and registered the first time: `FFmpegLibraries`), nil when FFmpeg has none.
    public static func findInputFormat(_ name: String) -> UnsafePointer<AVInputFormat>? {
        setUp()
        if let f = av_find_input_format(name) { return f }
        guard FFmpegLibraries.devicesRegistered else { return nil }
        return av_find_input_format(name)
    }

    /// Why device inputs are unavailable (libavdevice could not be opened), nil when they are available.
    public static var devicesUnavailable: String? {
        FFmpegLibraries.devicesRegistered ? nil
            : "cannot load FFmpeg's libavdevice (\(FFmpegLibraries.avdevice.error ?? "no avdevice_register_all")), which cameras and FORMAT:SPEC inputs need"
    }
}
