import Foundation

/// Word boxes from the detector's maps, exactly as the trainer's `data_det.boxes_from_maps` makes them.
///
/// The detector gives, at `stride` pixels per cell, a text-kernel probability (the word shrunk
/// horizontally by `shrinkX` word heights) and the log2 of the word's height. Cells at or above the
/// threshold are joined into 4-connected components; each component is one word: its horizontal
/// extent widened by `shrinkX` x height on both sides, its vertical centre the middle of its rows, its
/// height 2^(mean log2 height), its score the mean probability.
///
/// With `split` set, a component is first cut at the valleys of its column profile (the highest
/// probability in each column; `data_det.split_columns`): neighbouring words whose kernels touch
/// still show a dip between them, and each side becomes a word of its own.
public struct ScoreMapDecoder: Sendable {
    public var stride: Int
    public var shrinkX: Double
    public var threshold: Double
    public var minCells: Int
    /// Valley ratio for splitting components (nil: no splitting); see ``splitColumns(_:ratio:)``.
    public var split: Double?

    public init(stride: Int = 4, shrinkX: Double = 0.3, threshold: Double = 0.5, minCells: Int = 1, split: Double? = nil) {
        self.stride = stride
        self.shrinkX = shrinkX
        self.threshold = threshold
        self.minCells = minCells
        self.split = split
    }

    /// Inclusive column ranges of one component split at the valleys of its column profile: the lowest
    /// column `v` (with a column either side) below `ratio` x the lower of the highest values to its left
    /// and right is a gap; both sides are split again. Same choice, in the same order, as the trainer's
    /// `split_columns` (ties go to the leftmost column).
    public static func splitColumns(_ profile: [Double], ratio: Double) -> [ClosedRange<Int>] {
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
                    if profile[v] < ratio * lo {
                        let q = profile[v] / lo
                        if best == nil || q < best!.r { best = (v, q) }
                    }
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

    /// Boxes in the detector's input pixels, from row-major `score` and `log2Height` maps of `width` x `height` cells.
    /// `labels` is scratch space of at least `width * height` entries (kept by the caller so a frame allocates nothing new).
    public func boxes(score: UnsafeBufferPointer<Float>, log2Height: UnsafeBufferPointer<Float>, width: Int, height: Int,
                      labels: inout [Int32], stack: inout [Int32]) -> [WordBox] {
        precondition(score.count >= width * height && log2Height.count >= width * height)
        let n = width * height
        if labels.count < n { labels = [Int32](repeating: 0, count: n) }
        for i in 0..<n { labels[i] = 0 }
        stack.removeAll(keepingCapacity: true)
        var out: [WordBox] = []
        let thr = Float(threshold)
        var id: Int32 = 0
        for start in 0..<n where labels[start] == 0 && score[start] >= thr {
            id += 1
            labels[start] = id
            stack.append(Int32(start))
            var cells = 0
            var minX = width, maxX = -1, minY = height, maxY = -1
            var sumScore = 0.0, sumLog2 = 0.0
            while let cell = stack.popLast() {
                let c = Int(cell)
                let y = c / width, x = c % width
                cells += 1
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                sumScore += Double(score[c])
                sumLog2 += Double(log2Height[c])
                // 4-connected neighbours: up, down, left, right.
                if y > 0, labels[c - width] == 0, score[c - width] >= thr { labels[c - width] = id; stack.append(Int32(c - width)) }
                if y + 1 < height, labels[c + width] == 0, score[c + width] >= thr { labels[c + width] = id; stack.append(Int32(c + width)) }
                if x > 0, labels[c - 1] == 0, score[c - 1] >= thr { labels[c - 1] = id; stack.append(Int32(c - 1)) }
                if x + 1 < width, labels[c + 1] == 0, score[c + 1] >= thr { labels[c + 1] = id; stack.append(Int32(c + 1)) }
            }
            guard cells >= minCells else { continue }
            guard let ratio = split, maxX > minX + 1 else {
                out.append(box(minX: minX, maxX: maxX, minY: minY, maxY: maxY, cells: cells, sumScore: sumScore, sumLog2: sumLog2))
                continue
            }
            // The component's cells are the ones labelled `id` inside its bounding box.
            var profile = [Double](repeating: 0, count: maxX - minX + 1)
            for y in minY...maxY {
                for x in minX...maxX where labels[y * width + x] == id { profile[x - minX] = max(profile[x - minX], Double(score[y * width + x])) }
            }
            for part in Self.splitColumns(profile, ratio: ratio) {
                var pCells = 0, pMinX = width, pMaxX = -1, pMinY = height, pMaxY = -1
                var pScore = 0.0, pLog2 = 0.0
                for y in minY...maxY {
                    for x in (minX + part.lowerBound)...(minX + part.upperBound) where labels[y * width + x] == id {
                        let c = y * width + x
                        pCells += 1
                        pMinX = min(pMinX, x); pMaxX = max(pMaxX, x); pMinY = min(pMinY, y); pMaxY = max(pMaxY, y)
                        pScore += Double(score[c])
                        pLog2 += Double(log2Height[c])
                    }
                }
                guard pCells > 0 else { continue }
                out.append(box(minX: pMinX, maxX: pMaxX, minY: pMinY, maxY: pMaxY, cells: pCells, sumScore: pScore, sumLog2: pLog2))
            }
        }
        return out
    }

    private func box(minX: Int, maxX: Int, minY: Int, maxY: Int, cells: Int, sumScore: Double, sumLog2: Double) -> WordBox {
        let h = exp2(sumLog2 / Double(cells))
        let s = Double(stride)
        let cy = Double(minY + maxY + 1) / 2 * s
        return WordBox(x0: Double(minX) * s - shrinkX * h, y0: cy - h / 2,
                       x1: Double(maxX + 1) * s + shrinkX * h, y1: cy + h / 2, score: sumScore / Double(cells))
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
