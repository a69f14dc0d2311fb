import CFFmpeg

/// `DecodeOptions.preferKeyFrames`: which packets rate sampling can leave undecoded because a key frame
/// comes later in the same sampling slot.
///
/// Rate sampling keeps one frame per 1/R-second slot (`--every N`: per N-frame slot). When a slot holds
/// a key frame, its first key frame can stand in for the slot's first frame, and then the packets before
/// it (in decode order) are needed by nothing kept: the key frame references none of them, and neither does any frame after it (a key
/// packet of H.264 and HEVC in MP4/Matroska is an IDR or CRA picture). So a packet is left out when a
/// key packet follows it and every packet up to that key belongs either to the key's slot or to a slot
/// that already has its frame. The source reads packets ahead of the decoder to decide: at most until the
/// slot after the first one without a frame, and never more than ``maxLookahead`` packets or
/// ``maxLookaheadBytes`` of them.
///
/// A slot is counted as having its frame once a packet of it has gone to the decoder; a slot whose only
/// pictures the decoder discards (B-frames under `skipNonReference`) has no frame either way.
struct KeyFrameSlots {
    /// One packet read ahead: its sampling slot (nil without a timestamp or without slots), whether it is
    /// a key packet, and its presentation time in seconds (nil without a timestamp; used by
    /// ``KeyFrameGaps``).
    struct Entry: Equatable {
        var slot: Int64?
        var key: Bool
        var time: Double?

        init(slot: Int64?, key: Bool, time: Double? = nil) {
            self.slot = slot
            self.key = key
            self.time = time
        }
    }

    enum Decision: Equatable {
        /// The head packet is not needed: leave it out.
        case skip
        /// The head packet goes to the decoder.
        case decode
        /// Not decidable yet: read another packet ahead.
        case readMore
    }

    /// Packets read ahead at most (a stream with rare key frames and many packets per slot).
    static let maxLookahead = 600
    /// Bytes of packets read ahead at most (a high-bitrate stream sampled rarely).
    static let maxLookaheadBytes = 32 << 20

    /// The highest sampling slot of a packet handed to the decoder.
    private(set) var covered: Int64?

    /// What to do with the first of `queue` (packets in decode order, read ahead); `ended` at the end of
    /// the stream, `full` when no more packets may be read ahead (the byte limit).
    func decide(_ queue: ArraySlice<Entry>, ended: Bool, full: Bool = false) -> Decision {
        guard let head = queue.first else { return ended || full ? .decode : .readMore }
        guard let headSlot = head.slot else { return .decode }
        // A key packet of a slot without its frame yet is that frame (the first key frame of a slot, the
        // nearest to its sampling point, is kept rather than a later one).
        if head.key, covered.map({ headSlot > $0 }) ?? true { return .decode }
        guard let k = queue.dropFirst().firstIndex(where: { $0.key }) else {
            if ended, queue.allSatisfy({ $0.slot.map(hasItsFrame) ?? false }) {
                // The stream's last packets, all of slots that have their frames: nothing needs them.
                return .skip
            }
            if ended || full || queue.count >= Self.maxLookahead { return .decode }
            // A key packet further on stands in for a slot after the first one without its frame,
            // which would then need this head's reference chain: decode.
            let bound = max(covered ?? headSlot, headSlot) + 1
            guard let last = queue.last!.slot, last <= bound else { return .decode }
            return .readMore
        }
        guard let keySlot = queue[k].slot else { return .decode }
        if let c = covered, keySlot < c { return .decode }
        for e in queue[queue.startIndex..<k] {
            guard let s = e.slot else { return .decode }
            if s == keySlot || hasItsFrame(s) { continue }
            return .decode
        }
        return .skip
    }

    /// Whether slot `s` already has its frame (one of the last two slots sent: a slot far behind means
    /// timestamps that jumped, not a slot to skip for).
    private func hasItsFrame(_ s: Int64) -> Bool {
        guard let c = covered else { return false }
        return s <= c && s > c - 2
    }

    /// Notes a packet handed to the decoder.
    mutating func sent(_ e: Entry) {
        if let s = e.slot { covered = max(covered ?? s, s) }
    }
}

/// `DecodeOptions.maxKeyFrameGap` (`--keyframes --max-gap S`): which packets key-frames-only sampling
/// leaves undecoded when it must also keep a frame wherever key frames are more than S seconds apart.
///
/// Every key frame is kept, as with plain key frames only; a frame is kept too at the first time at or
/// after S seconds past the last kept frame (the *due* time) when no key frame comes by then (the *fill*
/// frame). A non-key packet is left out when a key packet follows it no later than the next due time (that
/// key frame is the next one kept, and it references nothing before it); otherwise it goes to the
/// decoder, since the next fill frame needs the reference chain from the last key frame. Packets come in
/// decode order, so the fill frame is the earliest time at or after the due time among the packets sent:
/// a B-frame sent after its P-frame can still take its place, and nothing before it is left out. Packets
/// are only ever left out in runs that end at a key packet, so every decoded frame has its references.
/// Packets are read ahead until a key packet or the due time (at most ``KeyFrameSlots/maxLookahead``
/// packets or ``KeyFrameSlots/maxLookaheadBytes``).
struct KeyFrameGaps {
    typealias Entry = KeyFrameSlots.Entry
    typealias Decision = KeyFrameSlots.Decision

    /// The longest time between kept frames that is not filled in, in seconds.
    let gap: Double
    /// The time of the last key packet sent, or of the fill frame before the current one.
    private(set) var anchor: Double?
    /// The earliest time at or after `anchor` + `gap` among the non-key packets sent since: the fill frame.
    private(set) var fill: Double?

    init(gap: Double) {
        self.gap = gap
    }

    /// Time stamps are rounded; a frame this close to a due time counts as at it (`FrameSampler` too).
    static let tolerance = 1e-6

    /// Whether time `t` is at or after `from` + `gap`.
    private func reaches(_ t: Double, from: Double) -> Bool { t >= from + gap - Self.tolerance }

    /// What to do with the first of `queue` (packets in decode order, read ahead); `ended` at the end of
    /// the stream, `full` when no more packets may be read ahead.
    func decide(_ queue: ArraySlice<Entry>, ended: Bool, full: Bool = false) -> Decision {
        guard let head = queue.first else { return ended || full ? .decode : .readMore }
        if head.key { return .decode }
        // Before the first packet sent (a stream that starts between key frames) and without a time:
        // decode, as a plain decode would.
        guard let anchor, head.time != nil else { return .decode }
        // The next fill frame is due `gap` after the last kept one.
        let last = fill ?? anchor
        for (i, e) in zip(0..., queue) {
            guard let t = e.time else { return .decode }
            // A key frame by the due time: nothing before it is needed.
            if e.key && i > 0 { return t <= last + gap + Self.tolerance ? .skip : .decode }
            // The due time comes first: its frame needs the packets before it.
            if reaches(t, from: last) { return .decode }
            // So does an earlier candidate for the fill frame than the one sent (a B-frame that comes
            // after its P-frame, maybe referencing the B-frames between them).
            if let fill, reaches(t, from: anchor), t < fill { return .decode }
        }
        // The stream's last packets, before the due time: no frame of them is kept.
        if ended { return .skip }
        if full || queue.count >= KeyFrameSlots.maxLookahead { return .decode }
        return .readMore
    }

    /// Notes a packet handed to the decoder.
    mutating func sent(_ e: Entry) {
        guard let t = e.time else { return }
        if e.key || anchor == nil {
            (anchor, fill) = (t, nil)
        } else if let f = fill {
            if reaches(t, from: anchor!), t < f { fill = t }
            else if reaches(t, from: f) { (anchor, fill) = (f, t) }
        } else if reaches(t, from: anchor!) {
            fill = t
        }
    }
}

/// Packets read ahead of the decoder (decode order), with their ``KeyFrameSlots`` entries; frees what it
/// still holds.
final class PacketQueue {
    private(set) var entries: ArraySlice<KeyFrameSlots.Entry> = []
    private var packets: [UnsafeMutablePointer<AVPacket>] = []
    /// The stream has no more packets.
    var ended = false

    /// Bytes of packet data held.
    private(set) var bytes = 0

    var isEmpty: Bool { packets.isEmpty }
    /// At the byte limit: no more packets should be read ahead.
    var isFull: Bool { bytes >= KeyFrameSlots.maxLookaheadBytes }

    /// Takes over the reference `packet` holds (leaving it blank); false when out of memory.
    func push(moving packet: UnsafeMutablePointer<AVPacket>, entry: KeyFrameSlots.Entry) -> Bool {
        guard let p = av_packet_alloc() else { return false }
        av_packet_move_ref(p, packet)
        bytes += Int(p.pointee.size)
        packets.append(p)
        entries.append(entry)
        return true
    }

    /// Moves the first packet's reference into `packet` (or frees it, with nil) and drops it.
    func popFirst(into packet: UnsafeMutablePointer<AVPacket>?) {
        var p: UnsafeMutablePointer<AVPacket>? = packets.removeFirst()
        entries.removeFirst()
        bytes -= Int(p!.pointee.size)
        if let packet { av_packet_move_ref(packet, p) }
        av_packet_free(&p)
    }

    deinit {
        for var p in packets as [UnsafeMutablePointer<AVPacket>?] { av_packet_free(&p) }
    }
}
