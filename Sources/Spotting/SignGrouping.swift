/// Groups word boxes into lines and lines into signs, from geometry alone (a recognizer's
/// predicted spaces are an unreliable way to split words).
///
/// Two words share a line when their vertical centres differ by less than `lineTolerance` x the
/// smaller height and the horizontal gap between them is under `wordGap` x that height. Two lines
/// share a sign when one is below the other by less than `lineGap` x the line height and they
/// overlap horizontally.
public struct SignGrouping: Sendable {
    public var lineTolerance = 0.5
    public var wordGap = 1.5
    public var lineGap = 1.0

    public init() {}

    /// A line of words, left to right (indices into the boxes given).
    public struct Line: Sendable, Equatable {
        public var words: [Int]
        public var box: WordBox
    }

    /// Signs, top to bottom; each a list of lines, top to bottom.
    public func group(_ boxes: [WordBox]) -> [[Line]] {
        let lines = self.lines(boxes)
        // Union-find over lines.
        var parent = Array(0..<lines.count)
        func find(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        for i in 0..<lines.count {
            for j in (i + 1)..<max(i + 1, lines.count) where sameSign(lines[i].box, lines[j].box) {
                parent[find(i)] = find(j)
            }
        }
        var groups: [Int: [Line]] = [:]
        for (i, line) in lines.enumerated() { groups[find(i), default: []].append(line) }
        return groups.values
            .map { $0.sorted { $0.box.y0 < $1.box.y0 } }
            .sorted { ($0[0].box.y0, $0[0].box.x0) < ($1[0].box.y0, $1[0].box.x0) }
    }

    /// Lines, top to bottom.
    public func lines(_ boxes: [WordBox]) -> [Line] {
        let order = boxes.indices.sorted { boxes[$0].x0 < boxes[$1].x0 }
        var lines: [Line] = []
        for i in order {
            let b = boxes[i]
            if let k = lines.lastIndex(where: { continues($0, with: b, boxes: boxes) }) {
                lines[k].words.append(i)
                lines[k].box = lines[k].box.union(b)
            } else {
                lines.append(Line(words: [i], box: b))
            }
        }
        return lines.sorted { ($0.box.y0, $0.box.x0) < ($1.box.y0, $1.box.x0) }
    }

    private func continues(_ line: Line, with b: WordBox, boxes: [WordBox]) -> Bool {
        guard let last = line.words.last.map({ boxes[$0] }) else { return false }
        let h = min(last.height, b.height)
        guard h > 0 else { return false }
        return abs(last.centerY - b.centerY) < lineTolerance * h && b.x0 - last.x1 < wordGap * h && b.x1 > last.x1
    }

    private func sameSign(_ a: WordBox, _ b: WordBox) -> Bool {
        let (upper, lower) = a.y0 <= b.y0 ? (a, b) : (b, a)
        let h = max(upper.height, lower.height)
        let gap = lower.y0 - upper.y1
        let overlap = min(upper.x1, lower.x1) - max(upper.x0, lower.x0)
        return gap < lineGap * h && overlap > 0
    }
}
