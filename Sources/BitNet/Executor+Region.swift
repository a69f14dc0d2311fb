import BitKernels
import Foundation

// Tile-region execution: after a one-channel exit head that scores tiles ("does this tile hold text?"),
// the rest of the graph runs only on the selected tiles. Each layer after the head computes its
// output on the cells the layers after it read: the selection for the graph's outputs, grown by the
// kernel radius (1 cell for a 3x3 convolution) for every layer on the way back. Every value a
// computed cell reads is therefore computed in this run, so the outputs inside the selection are the
// same bits and floats as a full run (tested); the cells outside hold stale values in the
// intermediate buffers and `fill` in the graph's outputs.

/// Which layers follow an exit head and how far each reads around a cell; checked once at init.
final class RegionPlan {
    let head: Int
    /// Cells of the grid after the head per tile (the average pool that feeds the head).
    let tileHeight: Int, tileWidth: Int
    let tilesHigh: Int, tilesWide: Int
    /// The grid every layer after the head has.
    let height: Int, width: Int
    /// Nodes after the head, in order.
    let after: [Int]
    /// The inputs after the head of each node after the head, and the radius each is read with: those of
    /// `after[k]` are `readNodes[readStart[k]..<readStart[k + 1]]` (flat arrays: planning allocates nothing).
    let readStart: [Int]
    let readNodes: [Int]
    let readRadius: [Int]
    /// By node: after the head, and no node after the head reads it (one of the graph's outputs).
    let isSink: [Bool]
    /// One cell mask per node after the head, then a scratch mask; tile masks (two).
    let masks: UnsafeMutablePointer<UInt8>
    let tiles: UnsafeMutablePointer<UInt8>

    init?(model: Model, head: Int) {
        guard head >= 1, head < model.nodes.count else { return nil }
        let h = model.node(head)
        guard h.op == .realConv1x1, h.stride == 1, h.shape.channels == 1, h.inputs[0] >= 1 else { return nil }
        let pool = model.node(h.inputs[0])
        guard pool.op == .avgPool, pool.poolHeight > 0, pool.poolWidth > 0, pool.inputs[0] >= 1 else { return nil }
        let grid = model.shape(pool.inputs[0])
        let th = pool.poolHeight, tw = pool.poolWidth
        guard h.shape.height == (grid.height + th - 1) / th, h.shape.width == (grid.width + tw - 1) / tw else { return nil }
        var readStart = [0], readNodes: [Int] = [], readRadius: [Int] = []
        var readers = Set<Int>()
        let after = Array((head + 1)...model.nodes.count)
        for i in after {
            let n = model.node(i)
            guard n.shape.height == grid.height, n.shape.width == grid.width else { return nil }
            switch n.op {
            case .binaryConv, .realConv1x1:
                guard n.stride == 1 else { return nil }
            case .signPack, .add, .prelu, .unpack:
                break
            default:
                return nil
            }
            for (k, j) in n.inputs.enumerated() {
                guard j >= 1 else { return nil }
                let s = model.shape(j)
                guard s.height == grid.height, s.width == grid.width else { return nil }
                if j > head {
                    readNodes.append(j)
                    readRadius.append(n.op == .binaryConv && k == 0 ? n.kernel / 2 : 0)
                    readers.insert(j)
                }
            }
            readStart.append(readNodes.count)
        }
        self.head = head
        tileHeight = th
        tileWidth = tw
        tilesHigh = h.shape.height
        tilesWide = h.shape.width
        height = grid.height
        width = grid.width
        self.after = after
        self.readStart = readStart
        self.readNodes = readNodes
        self.readRadius = readRadius
        isSink = (0...model.nodes.count).map { $0 > head && !readers.contains($0) }
        masks = .allocate(capacity: (after.count + 1) * height * width)
        tiles = .allocate(capacity: 2 * tilesHigh * tilesWide)
    }

    deinit {
        masks.deallocate()
        tiles.deallocate()
    }

    /// The cell mask of node `i` (after the head).
    func mask(_ i: Int) -> UnsafeMutablePointer<UInt8> { masks + (i - head - 1) * height * width }
    var scratch: UnsafeMutablePointer<UInt8> { masks + after.count * height * width }

    /// Selects tiles from the head's values, then plans every node's cells. Returns the selected cells
    /// of the outputs.
    @discardableResult
    func select(_ values: UnsafeBufferPointer<Float>, _ region: TileRegion) -> Int {
        let nt = tilesHigh * tilesWide
        let t = region.threshold
        let cut: Float = t <= 0 ? -.infinity : (t >= 1 ? .infinity : logf(t / (1 - t)))
        let sel = tiles, grown = tiles + nt
        for k in 0..<nt { sel[k] = values[k] >= cut ? 1 : 0 }
        let dx = max(0, region.dilateX), dy = max(0, region.dilateY)
        for ty in 0..<tilesHigh {
            for tx in 0..<tilesWide {
                var on: UInt8 = 0
                for y in max(0, ty - dy)...min(tilesHigh - 1, ty + dy) where on == 0 {
                    for x in max(0, tx - dx)...min(tilesWide - 1, tx + dx) where sel[y * tilesWide + x] != 0 {
                        on = 1
                        break
                    }
                }
                grown[ty * tilesWide + tx] = on
            }
        }
        let cells = height * width
        memset(masks, 0, after.count * cells)
        let base = scratch
        var selected = 0
        for y in 0..<height {
            for x in 0..<width {
                let on = grown[(y / tileHeight) * tilesWide + x / tileWidth]
                base[y * width + x] = on
                selected += Int(on)
            }
        }
        // By index: iterating `after` itself allocated in debug builds (RegionTests counts allocations).
        for k in 0..<after.count where isSink[after[k]] { memcpy(mask(after[k]), base, cells) }
        // Back from the outputs: a node's cells are what its readers need, grown by their radius.
        var k = after.count - 1
        while k >= 0 {
            for e in readStart[k]..<readStart[k + 1] {
                orDilated(mask(after[k]), radius: readRadius[e], into: mask(readNodes[e]))
            }
            k -= 1
        }
        return selected
    }

    /// `dst |= dilate(src, radius)` (a square of side 2 radius + 1).
    private func orDilated(_ src: UnsafeMutablePointer<UInt8>, radius r: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let w = width, h = height
        if r == 0 {
            for k in 0..<(w * h) { dst[k] |= src[k] }
            return
        }
        let tmp = scratch
        for y in 0..<h {
            let s = src + y * w, d = tmp + y * w
            for x in 0..<w {
                var on: UInt8 = 0
                for xx in max(0, x - r)...min(w - 1, x + r) { on |= s[xx] }
                d[x] = on
            }
        }
        for y in 0..<h {
            let d = dst + y * w
            for x in 0..<w {
                var on: UInt8 = 0
                for yy in max(0, y - r)...min(h - 1, y + r) { on |= tmp[yy * w + x] }
                d[x] |= on
            }
        }
    }

    /// Calls `body(y, x0..<x1)` for each run of set cells of row `y` of `m`.
    @inline(__always)
    func forEachRun(_ m: UnsafeMutablePointer<UInt8>, row y: Int, _ body: (Int, Range<Int>) -> Void) {
        forEachSetRun(UnsafePointer(m + y * width), width: width) { body(y, $0) }
    }

    func count(_ m: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        for k in 0..<(height * width) { n += Int(m[k]) }
        return n
    }
}

/// Calls `body(x0..<x1)` for each run of non-zero bytes of `row` (`width` bytes).
@inline(__always)
func forEachSetRun(_ row: UnsafePointer<UInt8>, width: Int, _ body: (Range<Int>) -> Void) {
    var x = 0
    while x < width {
        if row[x] == 0 { x += 1; continue }
        let x0 = x
        while x < width && row[x] != 0 { x += 1 }
        body(x0..<x)
    }
}

extension Executor {
    /// Whether `.restrict` at exit head `head` (index into `model.heads`) runs on regions: the head has one
    /// channel over average-pooled tiles, and every layer after it is a stride-1 convolution, packing,
    /// addition or PReLU on the same grid.
    public func supportsRegions(head: Int) -> Bool {
        regionPlans[model.heads[head].node] != nil
    }

    /// Runs node `i` (after a restricting head) on its planned cells, counts the work done and skipped,
    /// and writes `fill` outside the selection when `i` is one of the graph's real outputs. Returns the
    /// cells computed.
    func runRegion(_ i: Int, _ plan: RegionPlan, fill: Float, image: UnsafePointer<UInt8>, summary: inout RunSummary) -> Int {
        let cells = plan.height * plan.width
        let m = plan.mask(i)
        let n = plan.count(m)
        let full = counts[i - 1]
        let done = full.share(n, of: cells)
        summary.done += done
        summary.skipped += full.minusWork(done)
        if n == 0 {
            summary.nodesSkipped += 1
        } else {
            summary.nodesRun += 1
            runNodeRegion(i, plan, m, image: image)
        }
        if plan.isSink[i] && model.kind(i) == .real {
            let c = model.shape(i).channels
            let out = plans[i - 1].output.assumingMemoryBound(to: Float.self)
            for k in 0..<cells where m[k] == 0 {
                for ch in 0..<c { out[k * c + ch] = fill }
            }
        }
        return n
    }

    /// Runs node `i` on the cells of mask `m` (whole when its op has no column ranges: still exact
    /// inside the mask, since it only reads cells its inputs computed).
    private func runNodeRegion(_ i: Int, _ plan: RegionPlan, _ m: UnsafeMutablePointer<UInt8>, image: UnsafePointer<UInt8>) {
        let n = model.nodes[i - 1]
        let p = plans[i - 1]
        if p.fused { return }
        let inShape = model.shape(n.inputs[0])
        let inReal = RealLayout(height: inShape.height, width: inShape.width, channels: inShape.channels)
        switch n.op {
        case .binaryConv:
            if let patches = p.patches {
                pool.run(task: .patchConvRegion(binaryConvParams(i), kernels, source: patches.source, mask: UnsafePointer(m)))
            } else {
                pool.run(task: .binaryConvRegion(binaryConvParams(i), kernels, mask: UnsafePointer(m)))
            }
        case .realConv1x1:
            let src = UnsafePointer(p.inputs[0]!.assumingMemoryBound(to: Float.self))
            let w = p.weights!.assumingMemoryBound(to: Float.self)
            let out = p.output.assumingMemoryBound(to: Float.self)
            let params = Conv1x1Params(input: src, layout: inReal, weights: w, bias: p.bias!, outChannels: n.shape.channels,
                                       stride: 1, output: out)
            for y in 0..<plan.height {
                plan.forEachRun(m, row: y) { y, cols in kernels.real.conv1x1(params, y..<(y + 1), cols) }
            }
        case .signPack:
            let src = UnsafePointer(p.inputs[0]!.assumingMemoryBound(to: Float.self))
            let out = p.output.assumingMemoryBound(to: UInt64.self)
            let layout = packedLayout(i)
            let thr = p.thresholds!.assumingMemoryBound(to: Float.self)
            for y in 0..<plan.height {
                plan.forEachRun(m, row: y) { y, cols in
                    Packing.pack(src, inReal, thresholds: thr, into: out, layout, rows: y..<(y + 1), columns: cols)
                }
            }
        default:
            runNode(i, image: image)
        }
    }
}
