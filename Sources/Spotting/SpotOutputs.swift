/// Which tracks were seen on the same sign, gathered frame by frame, for the LPCV answers.
public struct SignMemory: Sendable {
    /// Each distinct set of track ids seen together on one sign in some frame.
    public private(set) var groups: [Set<Int>] = []

    public init() {}

    /// Records one frame: the track id and sign index of each word read in it.
    public mutating func record(tracks: [Int], signs: [Int]) {
        var bySign: [Int: Set<Int>] = [:]
        for (t, s) in zip(tracks, signs) { bySign[s, default: []].insert(t) }
        for group in bySign.values {
            if groups.contains(where: { $0.isSuperset(of: group) }) { continue }
            groups.removeAll { group.isSuperset(of: $0) }
            groups.append(group)
        }
    }

    /// The signs as lists of words (each track's voted text), for `LPCVAnswers.answers`.
    public func signs(_ tracks: [WordTracker.Track]) -> [[String]] {
        let text = Dictionary(uniqueKeysWithValues: tracks.map { ($0.id, $0.text) })
        return groups.map { $0.sorted().compactMap { text[$0] }.filter { !$0.isEmpty } }.filter { !$0.isEmpty }
    }
}

/// Subtitles of what was seen when (SubRip).
public enum SubRip {
    public static func render(_ tracks: [WordTracker.Track], minimumDuration: Double = 1.0) -> String {
        var out = ""
        for (n, t) in tracks.filter({ !$0.text.isEmpty }).sorted(by: { ($0.firstTime, $0.id) < ($1.firstTime, $1.id) }).enumerated() {
            let end = max(t.lastTime, t.firstTime + minimumDuration)
            out += "\(n + 1)\n\(timestamp(t.firstTime)) --> \(timestamp(end))\n\(t.text)\n\n"
        }
        return out
    }

    /// `HH:MM:SS,mmm`.
    public static func timestamp(_ seconds: Double) -> String {
        // Capped: a hostile video's frame times can be ~1e18 s, where Int(_:) would trap.
        let ms = Int(min(max(0, seconds) * 1000, 9e18).rounded())
        let h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, f = ms % 1000
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)),\(pad(f, 3))"
    }
}
