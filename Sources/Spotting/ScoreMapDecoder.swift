import Foundation

/// Word boxes from the detector's maps, exactly as the trainer's `data_det.boxes_from_maps` makes them.
///
/// The detector gives, at `stride` pixels per cell, a text-kernel probability (the word shrunk
/// horizontally by `shrinkX` word heights) and the log2 of the word's height. Cells at or above the
/// threshold are joined into 4-connected components; each component is one word: its horizontal
/// extent widened by `shrinkX` x height on both sides, its vertical centre the middle of its rows, its
/// height 2^(mean log2 height), its score the mean probability.
///
/// With `join` set, components on one text line (centres at most ``lineTolerance`` x the shorter height
/// apart vertically, heights within ``heightRatio``) with at most `join` x the shorter height of empty
/// columns between them are first joined into one (`data_det.join_components`): the kernel of a tall or
/// tilted word often breaks into pieces, while the words of a line lie about a word height apart.
/// With `split` set, a (joined) component is then cut at the valleys of its column profile (the highest
/// probability in each column; `data_det.split_columns`): neighbouring words whose kernels touch
/// still show a dip between them, and each side becomes a word of its own. With `splitGap` set, a valley
/// counts only where it is at least that many word heights wide (a narrower dip is a hole in one word).
public struct ScoreMapDecoder: Sendable {
    public var stride: Int
    public var shrinkX: Double
    public var threshold: Double
    public var minCells: Int
    /// Valley ratio for splitting components (nil: no splitting); see ``splitColumns(_:ratio:minWidth:)``.
    public var split: Double?
    /// Join pieces of one line at most this many word heights apart (nil: no joining).
    public var join: Double?
    /// Smallest width of a splitting valley, in word heights (nil: one column).
    public var splitGap: Double?
    /// Pieces are on one line when their centres are at most this many (shorter) heights apart vertically.
    public static let lineTolerance = 0.5
    /// ... and the taller one is at most this many times the shorter.
    public static let heightRatio = 1.5

    public init(stride: Int = 4, shrinkX: Double = 0.3, threshold: Double = 0.5, minCells: Int = 1, split: Double? = nil,
                join: Double? = nil, splitGap: Double? = nil) {
        self.stride = stride
        self.shrinkX = shrinkX
        self.threshold = threshold
        self.minCells = minCells
        self.split = split
        self.join = join
        self.splitGap = splitGap
    }

    /// Inclusive column ranges of one component split at the valleys of its column profile: the lowest
    /// column `v` (with a column either side) below `ratio` x the lower of the highest values to its left
    /// and right is a gap, provided at least `minWidth` neighbouring columns (`v` among them, neither end
    /// of the range among them) lie below that same bar; both sides are split again. Same choice, in the
    /// same order, as the trainer's `split_columns` (ties go to the leftmost column).
    public static func splitColumns(_ profile: [Double], ratio: Double, minWidth: Int = 1) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        var pending: [ClosedRange<Int>] = profile.isEmpty ? [] : [0...(profile.count - 1)]
        while let r = pending.popLast() {
            let a = r.lowerBound, b = r.upperBound
            var best: (v: Int, r: Double)?
            if b - a >= 2 {
                // Running maxima from the left and right of each candidate valley.
                var left = profile[a]
                var rightMax = [Double](repeating: 0, count: b - a + 1)
                rightMax[b - a] = profile[b]
                for i in Swift.stride(from: b - 1, through: a, by: -1) { rightMax[i - a] = max(profile[i], rightMax[i + 1 - a]) }
                for v in (a + 1)..<b {
                    if v > a + 1 { left = max(left, profile[v - 1]) }
                    let lo = min(left, rightMax[v + 1 - a])
                    let bar = ratio * lo
                    guard profile[v] < bar else { continue }
                    if minWidth > 1 {
                        var l = v, u = v
                        while l - 1 > a, profile[l - 1] < bar { l -= 1 }
                        while u + 1 < b, profile[u + 1] < bar { u += 1 }
                        if u - l + 1 < minWidth { continue }
                    }
                    let q = profile[v] / lo
                    if best == nil || q < best!.r { best = (v, q) }
                }
            }
            if let v = best?.v {
                // Right part pushed first so the left one is taken next: ranges come out left to right.
                pending.append((v + 1)...b)
                pending.append(a...(v - 1))
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// One 4-connected component of cells at or above the threshold.
    private struct Component {
        var minX: Int, maxX: Int, minY: Int, maxY: Int, cells: Int
        var sumScore: Double, sumLog2: Double
        var height: Double { exp2(sumLog2 / Double(cells)) }
        /// Vertical centre in input pixels for `stride`.
        func centre(_ stride: Int) -> Double { Double(minY + maxY + 1) / 2 * Double(stride) }
    }

    /// Groups of components (indices, ascending) joined by ``join``: on one line, at most `join` x the
    /// shorter height of empty columns apart, transitively (the trainer's `join_components`).
    private func groups(_ comps: [Component]) -> [[Int]] {
        var parent = Array(comps.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        if let join, join > 0 {
            let hs = comps.map(\.height), ys = comps.map { $0.centre(stride) }
            for i in comps.indices {
                for j in (i + 1)..<comps.count {
                    let lo = min(hs[i], hs[j])
                    if max(hs[i], hs[j]) > Self.heightRatio * lo || abs(ys[i] - ys[j]) > Self.lineTolerance * lo { continue }
                    let gap = max(comps[i].minX, comps[j].minX) - min(comps[i].maxX, comps[j].maxX) - 1
                    if Double(gap * stride) <= join * lo { parent[root(i)] = root(j) }
                }
            }
        }
        var byRoot: [Int: Int] = [:]
        var out: [[Int]] = []
        for i in comps.indices {
            let r = root(i)
            if let k = byRoot[r] { out[k].append(i) } else { byRoot[r] = out.count; out.append([i]) }
        }
        return out
    }

    /// Boxes in the detector's input pixels, from row-major `score` and `log2Height` maps of `width` x `height` cells.
    /// `labels` is scratch space of at least `width * height` entries (kept by the caller so a frame allocates nothing new).
    public func boxes(score: UnsafeBufferPointer<Float>, log2Height: UnsafeBufferPointer<Float>, width: Int, height: Int,
                      labels: inout [Int32], stack: inout [Int32]) -> [WordBox] {
        precondition(score.count >= width * height && log2Height.count >= width * height)
        let n = width * height
        if labels.count < n { labels = [Int32](repeating: 0, count: n) }
        for i in 0..<n { labels[i] = 0 }
        stack.removeAll(keepingCapacity: true)
        let thr = Float(threshold)
        // Components, labelled 1, 2, ... in the order their first cell is met; those under `minCells` keep
        // their label but are left out.
        var comps: [Component] = []
        var labelOf: [Int32] = []   // component index -> its label
        var id: Int32 = 0
        for start in 0..<n where labels[start] == 0 && score[start] >= thr {
            id += 1
            labels[start] = id
            stack.append(Int32(start))
            var c = Component(minX: width, maxX: -1, minY: height, maxY: -1, cells: 0, sumScore: 0, sumLog2: 0)
            while let cell = stack.popLast() {
                let i = Int(cell)
                let y = i / width, x = i % width
                c.cells += 1
                c.minX = min(c.minX, x); c.maxX = max(c.maxX, x); c.minY = min(c.minY, y); c.maxY = max(c.maxY, y)
                c.sumScore += Double(score[i])
                c.sumLog2 += Double(log2Height[i])
                // 4-connected neighbours: up, down, left, right.
                if y > 0, labels[i - width] == 0, score[i - width] >= thr { labels[i - width] = id; stack.append(Int32(i - width)) }
                if y + 1 < height, labels[i + width] == 0, score[i + width] >= thr { labels[i + width] = id; stack.append(Int32(i + width)) }
                if x > 0, labels[i - 1] == 0, score[i - 1] >= thr { labels[i - 1] = id; stack.append(Int32(i - 1)) }
                if x + 1 < width, labels[i + 1] == 0, score[i + 1] >= thr { labels[i + 1] = id; stack.append(Int32(i + 1)) }
            }
            guard c.cells >= minCells else { continue }
            comps.append(c)
            labelOf.append(id)
        }
        var out: [WordBox] = []
        for group in groups(comps) {
            // The group's extent and sums.
            var g = comps[group[0]]
            for k in group.dropFirst() {
                let c = comps[k]
                g.minX = min(g.minX, c.minX); g.maxX = max(g.maxX, c.maxX); g.minY = min(g.minY, c.minY); g.maxY = max(g.maxY, c.maxY)
                g.cells += c.cells; g.sumScore += c.sumScore; g.sumLog2 += c.sumLog2
            }
            guard let ratio = split, g.maxX > g.minX + 1 else {
                out.append(box(g))
                continue
            }
            // The group's cells are the ones labelled with one of its components' labels inside its bounding box.
            let members = Set(group.map { labelOf[$0] })
            var profile = [Double](repeating: 0, count: g.maxX - g.minX + 1)
            for y in g.minY...g.maxY {
                for x in g.minX...g.maxX where members.contains(labels[y * width + x]) {
                    profile[x - g.minX] = max(profile[x - g.minX], Double(score[y * width + x]))
                }
            }
            var minWidth = 1
            if let gap = splitGap, gap > 0 { minWidth = max(1, Int((gap * g.height / Double(stride)).rounded(.down))) }
            for part in Self.splitColumns(profile, ratio: ratio, minWidth: minWidth) {
                var p = Component(minX: width, maxX: -1, minY: height, maxY: -1, cells: 0, sumScore: 0, sumLog2: 0)
                for y in g.minY...g.maxY {
                    for x in (g.minX + part.lowerBound)...(g.minX + part.upperBound) where members.contains(labels[y * width + x]) {
                        let i = y * width + x
                        p.cells += 1
                        p.minX = min(p.minX, x); p.maxX = max(p.maxX, x); p.minY = min(p.minY, y); p.maxY = max(p.maxY, y)
                        p.sumScore += Double(score[i])
                        p.sumLog2 += Double(log2Height[i])
                    }
                }
                guard p.cells > 0 else { continue }   // columns between joined pieces only
                out.append(box(p))
            }
        }
        return out
    }

    private func box(_ c: Component) -> WordBox {
        let h = c.height
        let s = Double(stride)
        let cy = c.centre(stride)
        return WordBox(x0: Double(c.minX) * s - shrinkX * h, y0: cy - h / 2,
                       x1: Double(c.maxX + 1) * s + shrinkX * h, y1: cy + h / 2, score: c.sumScore / Double(c.cells))
    }

    /// Convenience over arrays.
    public func boxes(score: [Float], log2Height: [Float], width: Int, height: Int) -> [WordBox] {
        var labels: [Int32] = []
        var stack: [Int32] = []
        return score.withUnsafeBufferPointer { s in
            log2Height.withUnsafeBufferPointer { h in
                boxes(score: s, log2Height: h, width: width, height: height, labels: &labels, stack: &stack)
            }
        }
    }
}
