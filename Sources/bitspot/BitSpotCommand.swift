import ArgumentParser

/// The `bitspot` command: text spotting for video on edge boards.
@main
struct BitSpotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bitspot",
        abstract: "Spot text in video with a binarized network, and account for every millijoule.",
        discussion: """
            Inputs: a file path, '-' for standard input, a URL FFmpeg opens (rtsp://, http://, file:), \
            a camera (/dev/videoN), or any libavdevice input written FORMAT:SPEC \
            (e.g. lavfi:testsrc2=size=1280x720:rate=30). With no input, the sample video is used.

            Exit codes: 0 success; 3 a budget was missed (bench); 64 usage; 65 input is not a usable video (corrupt, no video stream, \
            unsupported codec) or a damaged model; 66 input not found (missing file, absent camera); \
            69 device busy or unavailable; 70 a build step failed (bundle); 73 output cannot be written; 74 read error; 130 interrupted.
            """,
        version: BitSpotVersion.string,
        subcommands: [Spot.self, Probe.self, Frames.self, Inspect.self, Bench.self, BundleCommand.self, VerifyBundle.self]
    )
}

enum BitSpotVersion {
    static let string = "0.1.0"
}
