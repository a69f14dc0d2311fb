import Foundation

/// Word boxes from the detector's maps, exactly as the trainer's `data_det.boxes_from_maps` makes them.
///
/// The detector gives, at `stride` pixels per cell, a text-kernel probability (the word shrunk
/// horizontally by `shrinkX` word heights) and the log2 of the word's height. Cells at or above the
/// threshold are joined into 4-connected components; each component is one word: its horizontal
/// extent widened by `shrinkX` x height on both sides, its vertical centre the middle of its rows, its
/// height 2^(mean log2 height), its score the mean probability.
public struct ScoreMapDecoder: Sendable {
    public var stride: Int
    public var shrinkX: Double
    public var threshold: Double
    public var minCells: Int

    public init(stride: Int = 4, shrinkX: Double = 0.3, threshold: Double = 0.5, minCells: Int = 1) {
        self.stride = stride
        self.shrinkX = shrinkX
        self.threshold = threshold
        self.minCells = minCells
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
        for start in 0..<n where labels[start] == 0 && score[start] >= thr {
            labels[start] = 1
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
                if y > 0, labels[c - width] == 0, score[c - width] >= thr { labels[c - width] = 1; stack.append(Int32(c - width)) }
                if y + 1 < height, labels[c + width] == 0, score[c + width] >= thr { labels[c + width] = 1; stack.append(Int32(c + width)) }
                if x > 0, labels[c - 1] == 0, score[c - 1] >= thr { labels[c - 1] = 1; stack.append(Int32(c - 1)) }
                if x + 1 < width, labels[c + 1] == 0, score[c + 1] >= thr { labels[c + 1] = 1; stack.append(Int32(c + 1)) }
            }
            guard cells >= minCells else { continue }
            let h = exp2(sumLog2 / Double(cells))
            let s = Double(stride)
            let cy = Double(minY + maxY + 1) / 2 * s
            out.append(WordBox(x0: Double(minX) * s - shrinkX * h, y0: cy - h / 2,
                               x1: Double(maxX + 1) * s + shrinkX * h, y1: cy + h / 2, score: sumScore / Double(cells)))
        }
        return out
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
