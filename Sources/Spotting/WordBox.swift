/// An axis-aligned word box in frame pixels, with the detector's score for it.
public struct WordBox: Sendable, Equatable, Codable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double
    /// Mean detector probability over the box's cells (0...1).
    public var score: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double, score: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
        self.score = score
    }

    public var width: Double { max(0, x1 - x0) }
    public var height: Double { max(0, y1 - y0) }
    public var area: Double { width * height }
    public var centerX: Double { (x0 + x1) / 2 }
    public var centerY: Double { (y0 + y1) / 2 }

    /// Intersection over union with another box (0 when either is empty).
    public func iou(_ other: WordBox) -> Double {
        let w = min(x1, other.x1) - max(x0, other.x0)
        let h = min(y1, other.y1) - max(y0, other.y0)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    /// The box scaled by (sx, sy), e.g. from the detector's working size to the frame's size.
    public func scaled(x sx: Double, y sy: Double) -> WordBox {
        WordBox(x0: x0 * sx, y0: y0 * sy, x1: x1 * sx, y1: y1 * sy, score: score)
    }

    /// The smallest box holding both.
    public func union(_ other: WordBox) -> WordBox {
        WordBox(x0: min(x0, other.x0), y0: min(y0, other.y0), x1: max(x1, other.x1), y1: max(y1, other.y1),
                score: max(score, other.score))
    }
}
