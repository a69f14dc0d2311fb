/// Skips frames whose downscaled luma barely differs from the last kept frame.
///
/// Each frame is reduced to a 32x18 grid of block means; the gate compares that grid with the one
/// of the last frame it let through, as the mean absolute difference in 8-bit grey levels. A frame
/// whose difference is below `threshold` is dropped. Threshold 0 lets everything through.
public struct ChangeGate: Sendable {
    public static let gridWidth = 32
    public static let gridHeight = 18

    /// Mean absolute difference (grey levels, 0-255) below which a frame counts as unchanged.
    public let threshold: Double
    private var reference: [Float] = []
    private var grid: [Float] = Array(repeating: 0, count: gridWidth * gridHeight)

    public init(threshold: Double) throws {
        guard threshold >= 0, threshold <= 255, threshold.isFinite else {
            throw VideoIOError(.badRequest, "--gate", "threshold must be between 0 and 255 grey levels, got \(threshold)")
        }
        self.threshold = threshold
    }

    /// The difference of this frame from the last kept one (infinity for the first frame).
    public mutating func difference(_ frame: LumaFrame) -> Double {
        Self.blockMeans(frame, into: &grid)
        guard reference.count == grid.count else { return .infinity }
        var sum: Float = 0
        for i in 0..<grid.count { sum += abs(grid[i] - reference[i]) }
        return Double(sum) / Double(grid.count)
    }

    /// Whether the frame is kept; a kept frame becomes the new reference.
    public mutating func admits(_ frame: LumaFrame) -> Bool {
        let d = difference(frame)
        if d >= threshold || d.isInfinite {
            reference = grid
            return true
        }
        return false
    }

    /// Means of a `gridWidth` x `gridHeight` grid of blocks over the frame.
    static func blockMeans(_ frame: LumaFrame, into grid: inout [Float]) {
        let gw = gridWidth, gh = gridHeight
        let w = frame.width, h = frame.height
        frame.pixels.withUnsafeBufferPointer { px in
            for gy in 0..<gh {
                let y0 = gy * h / gh, y1 = max(y0 + 1, (gy + 1) * h / gh)
                for gx in 0..<gw {
                    let x0 = gx * w / gw, x1 = max(x0 + 1, (gx + 1) * w / gw)
                    var sum = 0
                    // Every second row and column is plenty for a change signal.
                    var y = y0
                    var count = 0
                    while y < min(y1, h) {
                        var x = x0
                        let row = y * w
                        while x < min(x1, w) { sum += Int(px[row + x]); x += 2; count += 1 }
                        y += 2
                    }
                    grid[gy * gw + gx] = count > 0 ? Float(sum) / Float(count) : 0
                }
            }
        }
    }
}
