/// Follows the same word across frames and votes on what it says.
///
/// A reading joins a track when its box overlaps the track's last box (IoU at or above `minIoU`), or
/// when it reads nearly the same (similarity at or above `minSimilarity`) and the track was seen in
/// the last `maxGap` seconds (a panning camera moves boxes between sampled frames). Each track keeps
/// confidence-weighted votes per string; its text is the string with the most weight.
public struct WordTracker: Sendable {
    /// One word read in one frame.
    public struct Reading: Sendable, Equatable {
        public var time: Double
        public var box: WordBox
        public var text: String
        public var confidence: Double
        /// Which sign of its frame the word belongs to (for LPCV answers).
        public var sign: Int

        public init(time: Double, box: WordBox, text: String, confidence: Double, sign: Int) {
            self.time = time
            self.box = box
            self.text = text
            self.confidence = confidence
            self.sign = sign
        }
    }

    public struct Track: Sendable, Equatable, Codable {
        public var id: Int
        public var firstTime: Double
        public var lastTime: Double
        /// The box of the most confident reading.
        public var bestBox: WordBox
        public var bestConfidence: Double
        public var sightings: Int
        /// Total confidence per string read.
        public var votes: [String: Double]

        /// The string with the most confidence-weighted votes (ties: the longer, then alphabetical).
        public var text: String {
            votes.max { a, b in a.value != b.value ? a.value < b.value : (a.key.count != b.key.count ? a.key.count < b.key.count : a.key > b.key) }?.key ?? ""
        }

        var lastBox: WordBox
    }

    public var minIoU = 0.3
    public var minSimilarity = 0.6
    public var maxGap = 2.0
    public private(set) var tracks: [Track] = []
    /// Tracks seen within `maxGap` of the latest reading: the only ones a reading can join. Frame times
    /// never go backwards (VideoSource), so a track that drops out never comes back; it is then compacted
    /// (only its winning vote is kept), so a run of days neither slows down nor holds every vote.
    private var active: [Int] = []

    public init() {}

    /// Adds one frame's readings; returns the track id of each reading, in order.
    @discardableResult
    public mutating func update(_ readings: [Reading]) -> [Int] {
        if let now = readings.map(\.time).max() {
            active.removeAll { i in
                guard now - tracks[i].lastTime > maxGap else { return false }
                let text = tracks[i].text
                tracks[i].votes = [text: tracks[i].votes[text] ?? 0]
                return true
            }
        }
        var taken = Set<Int>()
        var ids: [Int] = []
        for r in readings {
            var best: (index: Int, score: Double)?
            for i in active where !taken.contains(i) {
                let t = tracks[i]
                guard r.time - t.lastTime <= maxGap && r.time >= t.lastTime else { continue }
                let overlap = r.box.iou(t.lastBox)
                let similar = stringSimilarity(r.text, t.text)
                guard overlap >= minIoU || similar >= minSimilarity else { continue }
                let score = overlap + similar
                if best == nil || score > best!.score { best = (i, score) }
            }
            if let b = best {
                taken.insert(b.index)
                var t = tracks[b.index]
                t.lastTime = r.time
                t.lastBox = r.box
                t.sightings += 1
                t.votes[r.text, default: 0] += r.confidence
                if r.confidence > t.bestConfidence { t.bestConfidence = r.confidence; t.bestBox = r.box }
                tracks[b.index] = t
                ids.append(t.id)
            } else {
                let t = Track(id: tracks.count, firstTime: r.time, lastTime: r.time, bestBox: r.box, bestConfidence: r.confidence,
                              sightings: 1, votes: [r.text: r.confidence], lastBox: r.box)
                taken.insert(tracks.count)
                active.append(tracks.count)
                tracks.append(t)
                ids.append(t.id)
            }
        }
        return ids
    }
}
