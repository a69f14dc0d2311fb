/// Which decoded frames are kept. Dropping happens as early as the stream allows:
/// key-frames-only tells the decoder to discard other frames (they are never decoded), and the
/// other modes skip the colour conversion and scaling of the frames they drop.
public enum SamplingMode: Sendable, Equatable, CustomStringConvertible {
    /// Every frame.
    case all
    /// Every Nth decoded frame (the first, the N+1th, ...).
    case every(Int)
    /// About `rate` frames per second of video time: the first frame of each 1/rate-second slot.
    case rate(Double)
    /// Key frames only; the decoder never sees the other frames.
    case keyFrames

    public var description: String {
        switch self {
        case .all: return "all frames"
        case .every(let n): return "every \(n)th frame"
        case .rate(let r): return "\(Self.format(r)) fps"
        case .keyFrames: return "key frames only"
        }
    }

    /// A short machine-friendly name: `all`, `every:N`, `fps:R`, `keyframes`.
    public var name: String {
        switch self {
        case .all: return "all"
        case .every(let n): return "every:\(n)"
        case .rate(let r): return "fps:\(Self.format(r))"
        case .keyFrames: return "keyframes"
        }
    }

    private static func format(_ r: Double) -> String {
        r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Checks the numbers: a stride of at least 1, a positive finite rate.
    public func validate() throws {
        switch self {
        case .every(let n) where n < 1:
            throw VideoIOError(.badRequest, "--every", "must be 1 or more, got \(n)")
        case .rate(let r) where !(r > 0 && r.isFinite):
            throw VideoIOError(.badRequest, "--fps", "must be a positive number of frames per second, got \(r)")
        default: return
        }
    }
}

/// What each sampling step did, so that a user sees where frames went.
public struct SamplingCounters: Sendable, Equatable, Codable {
    /// Packets read from the video stream.
    public var packetsRead = 0
    /// Packets of non-key frames never handed to the decoder (key-frames-only mode).
    public var skippedUndecoded = 0
    /// Packets handed to the decoder.
    public var packetsDecoded = 0
    /// Frames the decoder produced.
    public var decoded = 0
    /// Packets never handed to the decoder because a key frame later in the same sampling slot stands in
    /// for the slot's frame and nothing kept needs them (`preferKeyFrames`).
    public var skippedBeforeKeyFrame = 0
    /// Frames the decoder was told not to decode (non-reference frames, `skipNonReference`): the
    /// packets handed to it that gave no frame, counted once the stream has ended.
    public var skippedNonReference = 0
    /// Decoded frames dropped by the sampling mode (not converted or scaled).
    public var droppedBySampling = 0
    /// Packets or frames never decoded, whichever sampling step left them out.
    public var notDecoded: Int { skippedUndecoded + skippedNonReference + skippedBeforeKeyFrame }
    /// Frames dropped by the change gate (too similar to the last kept frame).
    public var droppedByGate = 0
    /// Frames handed on.
    public var delivered = 0
    /// Packets or frames the decoder rejected as corrupt; decoding went on.
    public var decodeErrors = 0
    /// Times the stream's timestamps went backwards (delivered times were continued from the last one).
    public var timestampJumps = 0
    /// `skipBidirectional`: B-frame checks run (one per opened stream), and how many passed (decoding
    /// then left every B-frame out from packet ``bidirectionalFrom`` on).
    public var bidirectionalChecks = 0
    public var bidirectionalPassed = 0
    public var bidirectionalFrom = 0
    /// Why the last B-frame check failed (decoding went on skipping non-reference frames only).
    public var bidirectionalFailure: String?

    /// The B-frame check's outcome, for summaries (empty when none ran).
    public var bidirectionalSummary: String {
        guard bidirectionalChecks > 0 else { return "" }
        return bidirectionalPassed > 0 ? "B-frames skipped from packet \(bidirectionalFrom)"
            : "B-frames decoded (check failed: \(bidirectionalFailure ?? "?"))"
    }

    public init() {}
}

/// Decides, frame by frame, which decoded frames the sampling mode keeps.
struct FrameSampler {
    let mode: SamplingMode
    /// Indices come from frame times and may skip numbers (frames left undecoded): `--every N` then
    /// keeps the first frame at or after each multiple of N.
    let estimatedIndices: Bool
    /// Key frames only: also keep the first frame at or after this many seconds past the last kept one.
    let maxGap: Double?
    private var lastSlot: Int64?
    private var nextEvery: Int?
    private var lastKeptTime: Double?

    init(mode: SamplingMode, estimatedIndices: Bool = false, maxGap: Double? = nil) {
        self.mode = mode
        self.estimatedIndices = estimatedIndices
        self.maxGap = maxGap
    }

    /// The 1/rate-second slot a time falls in (rate sampling keeps the first frame of each).
    static func slot(time: Double, rate r: Double) -> Int64 {
        Int64(max(-9e18, min(9e18, (time * r + 1e-6).rounded(.down))))
    }

    /// The N-frame slot a frame number falls in (`--every N` with numbers from the frame times keeps the
    /// first frame of each); floor division, so slot -1 holds numbers -N ..< 0.
    static func slot(index: Int, every n: Int) -> Int64 {
        let i = Int64(index), n = Int64(n)
        return i >= 0 ? i / n : (i - n + 1) / n
    }

    /// Whether to keep the decoded frame with this 0-based decode index and time in seconds (`isKey`: a key
    /// frame).
    mutating func keeps(index: Int, time: Double, isKey: Bool = false) -> Bool {
        switch mode {
        case .all:
            return true
        case .keyFrames:
            // Every key frame; with a gap, another frame only once the gap since the last kept one is
            // reached (a time that went backwards restarts from this frame).
            guard let gap = maxGap else { return true }
            if !isKey, let last = lastKeptTime, time >= last, time < last + gap - KeyFrameGaps.tolerance { return false }
            lastKeptTime = time
            return true
        case .every(let n) where estimatedIndices:
            if let next = nextEvery, index < next, index >= next - n { return false }
            // Kept; a time that went backwards or jumped ahead restarts the count from this frame.
            let (q, overflow) = (index / n).addingReportingOverflow(1)
            nextEvery = overflow ? Int.max : q.multipliedReportingOverflow(by: n).partialValue
            return true
        case .every(let n):
            return index % n == 0
        case .rate(let r):
            // Slot k holds times [k/r, (k+1)/r); keep the first frame of each slot. A small epsilon
            // absorbs timestamp rounding (a 30 fps stream's frame 15 is at 0.49999...).
            // Clamped: a hostile file's times can be ~1e18 s (a 64-bit fragment time at one tick a second),
            // where Int64(_:) would trap.
            let slot = Self.slot(time: time, rate: r)
            if let last = lastSlot, slot == last { return false }
            if let last = lastSlot, slot < last {
                // Timestamps went backwards (a stream restart): start counting again.
                lastSlot = slot
                return true
            }
            lastSlot = slot
            return true
        }
    }
}
