/// A grid of thumbnails of the kept frames, saved as one PNG.
///
/// Thumbnails are made as frames arrive; when more than `capacity` have been collected, every
/// second one is dropped, so the sheet always spans the whole input evenly.
public struct ContactSheet: Sendable {
    public let thumbnailWidth: Int
    public let columns: Int
    public let capacity: Int
    private var thumbnails: [Raster] = []
    private var stride = 1
    private var seen = 0

    public init(thumbnailWidth: Int = 192, columns: Int = 6, capacity: Int = 48) {
        self.thumbnailWidth = thumbnailWidth
        self.columns = columns
        self.capacity = capacity
    }

    public var count: Int { thumbnails.count }

    /// Offers a frame; it is kept as a thumbnail if it falls on the current stride.
    public mutating func add(_ frame: LumaFrame) throws {
        defer { seen += 1 }
        guard seen % stride == 0 else { return }
        let h = max(1, frame.height * thumbnailWidth / max(1, frame.width))
        thumbnails.append(try Raster(frame).resized(to: FrameSize(width: thumbnailWidth, height: h)))
        if thumbnails.count > capacity {
            thumbnails = thumbnails.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            stride *= 2
        }
    }

    /// The sheet as one grey raster (thumbnails left to right, top to bottom, 4-pixel gaps).
    public func render() -> Raster? {
        guard let first = thumbnails.first else { return nil }
        let gap = 4
        let cols = min(columns, thumbnails.count)
        let rows = (thumbnails.count + cols - 1) / cols
        let cellH = first.height
        let width = cols * thumbnailWidth + (cols + 1) * gap
        let height = rows * cellH + (rows + 1) * gap
        var bytes = [UInt8](repeating: 32, count: width * height)
        for (i, thumb) in thumbnails.enumerated() {
            let x0 = gap + (i % cols) * (thumbnailWidth + gap)
            let y0 = gap + (i / cols) * (cellH + gap)
            for y in 0..<min(cellH, thumb.height) {
                for x in 0..<thumb.width { bytes[(y0 + y) * width + x0 + x] = thumb.bytes[y * thumb.width + x] }
            }
        }
        return Raster(width: width, height: height, layout: .gray8, bytes: bytes)
    }
}
