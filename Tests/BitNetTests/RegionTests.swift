import _AllocationCounter
import BitKernels
import Foundation
import XCTest
@testable import BitNet

/// Tile-region execution (`ExitDecision.restrict`) on the shipped detector: the outputs inside the
/// selected tiles are the same floats as a full run on every tier and thread count, `fill` elsewhere,
/// the work is counted, and a model that cannot run on regions runs whole.
final class RegionTests: XCTestCase {
    /// The shipped detector (Models/) and a 640 x 360 frame: flat grey with a few blocks of dark strokes
    /// (so some tiles score high and most low), plus a little deterministic texture everywhere.
    static func detector() throws -> (model: Model, image: [UInt8]) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let model = try ModelFile.load(path: root.appendingPathComponent("Models/detector.bitnet").path)
        let w = model.input.width, h = model.input.height
        var image = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var v = 170 + (x * 7 + y * 13) % 17
                for (bx, by) in [(60, 40), (300, 200), (420, 90)] where x >= bx && x < bx + 120 && y >= by && y < by + 18 {
                    if (x - bx) % 9 < 3 || (y - by) % 18 < 2 { v = 30 }
                }
                image[y * w + x] = UInt8(v)
            }
        }
        return (model, image)
    }

    /// Expected selection of output cells, computed here from the tile head's values.
    static func expectedCells(tiles: [Float], tilesHigh: Int, tilesWide: Int, tile: Int, height: Int, width: Int,
                              region: TileRegion) -> [Bool] {
        let cut = logf(region.threshold / (1 - region.threshold))
        var grown = [Bool](repeating: false, count: tiles.count)
        for ty in 0..<tilesHigh {
            for tx in 0..<tilesWide {
                for y in max(0, ty - region.dilateY)...min(tilesHigh - 1, ty + region.dilateY) {
                    for x in max(0, tx - region.dilateX)...min(tilesWide - 1, tx + region.dilateX) where tiles[y * tilesWide + x] >= cut {
                        grown[ty * tilesWide + tx] = true
                    }
                }
            }
        }
        return (0..<(height * width)).map { grown[($0 / width / tile) * tilesWide + ($0 % width) / tile] }
    }

    func testRegionOutputsEqualFullRunInsideAndFillOutside() throws {
        let (model, image) = try Self.detector()
        let head = model.heads.firstIndex { $0.isExit }!
        let headNode = model.heads[head].node
        let last = model.nodes.count
        let full = try Executor(model: model, threads: 1)
        XCTAssertTrue(full.supportsRegions(head: head))
        let fullSummary = image.withUnsafeBufferPointer { full.run(image: $0.baseAddress!) }
        let reference = Array(full.realOutput(last))
        let tiles = Array(full.realOutput(headNode))
        let hs = model.shape(headNode), out = model.shape(last)
        let sorted = tiles.sorted()
        // Thresholds between the tile values: a few tiles, about half, all of them; and none.
        let sigmoid = { (x: Float) in 1 / (1 + expf(-x)) }
        let choices: [TileRegion] = [
            TileRegion(threshold: sigmoid(sorted[sorted.count - 3]) - 1e-6, dilateX: 0, dilateY: 0, fill: -30),
            TileRegion(threshold: sigmoid(sorted[sorted.count / 2]), dilateX: 1, dilateY: 0, fill: -7),
            TileRegion(threshold: 1e-6, dilateX: 0, dilateY: 0, fill: -30),
            TileRegion(threshold: 0.999999, dilateX: 1, dilateY: 1, fill: -30),
        ]
        // The fast tiers (the reference tier takes minutes in a debug build; tiers agree in GoldenTests).
        for tier in KernelSelector.available where tier != .reference {
            for threads in [1, 2] {
                let exec = try Executor(model: model, tier: tier, threads: threads)
                for region in choices {
                    let label = "\(tier) \(threads) thread(s) \(region)"
                    let summary = image.withUnsafeBufferPointer { img in
                        exec.run(image: img.baseAddress!) { $0.head.isExit ? .restrict(region) : .proceed }
                    }
                    let cells = Self.expectedCells(tiles: tiles, tilesHigh: hs.height, tilesWide: hs.width, tile: 10,
                                                   height: out.height, width: out.width, region: region)
                    let got = exec.realOutput(last)
                    var mismatches = 0
                    for k in 0..<cells.count {
                        for c in 0..<out.channels {
                            let v = got[k * out.channels + c]
                            if cells[k] ? v.bitPattern != reference[k * out.channels + c].bitPattern : v != region.fill { mismatches += 1 }
                        }
                    }
                    XCTAssertEqual(mismatches, 0, label)
                    XCTAssertEqual(summary.restrictedAtHead, head, label)
                    XCTAssertEqual(summary.done + summary.skipped, fullSummary.done, label)
                    let selected = cells.filter { $0 }.count
                    if selected == 0 {
                        XCTAssertEqual(summary.regionShare, 0, label)
                    } else {
                        XCTAssertGreaterThan(summary.regionShare, Double(selected) / Double(cells.count) - 1e-9, label)
                        XCTAssertLessThanOrEqual(summary.regionShare, 1, label)
                        XCTAssertLessThan(summary.done.binaryMACs, fullSummary.done.binaryMACs + 1, label)
                    }
                }
            }
        }
    }

    /// A region run between full runs leaves nothing behind: the next full run is the reference again.
    func testFullRunAfterRegionRunIsUnchanged() throws {
        let (model, image) = try Self.detector()
        let exec = try Executor(model: model, threads: 1)
        let last = model.nodes.count
        image.withUnsafeBufferPointer { _ = exec.run(image: $0.baseAddress!) }
        let reference = Array(exec.realOutput(last))
        image.withUnsafeBufferPointer { img in
            _ = exec.run(image: img.baseAddress!) { $0.head.isExit ? .restrict(TileRegion(threshold: 0.5)) : .proceed }
        }
        image.withUnsafeBufferPointer { _ = exec.run(image: $0.baseAddress!) }
        XCTAssertEqual(Array(exec.realOutput(last)).map(\.bitPattern), reference.map(\.bitPattern))
    }

    /// golden-a's exit head is a two-class classifier, not a tile map: `.restrict` runs the whole graph.
    func testModelWithoutTileHeadRunsWhole() throws {
        let g = try GoldenTests.loadGolden("golden-a")
        let exec = try Executor(model: g.model, threads: 1)
        let head = g.model.heads.firstIndex { $0.isExit }!
        XCTAssertFalse(exec.supportsRegions(head: head))
        let image = g.tensors[0]!.bytes
        let last = g.model.nodes.count
        let whole = image.withUnsafeBufferPointer { exec.run(image: $0.baseAddress!) }
        let reference = Array(exec.realOutput(last))
        let summary = image.withUnsafeBufferPointer { img in
            exec.run(image: img.baseAddress!) { $0.head.isExit ? .restrict(TileRegion(threshold: 0.9)) : .proceed }
        }
        XCTAssertNil(summary.restrictedAtHead)
        XCTAssertEqual(summary, whole)
        XCTAssertEqual(Array(exec.realOutput(last)).map(\.bitPattern), reference.map(\.bitPattern))
    }

    /// Region runs allocate nothing either (masks are planned at init).
    func testRegionRunsAllocateNothing() throws {
        guard bitspot_alloc_count() >= 0 else { throw XCTSkip("allocation counter needs glibc and no sanitizer") }
        let (model, bytes) = try Self.detector()
        for threads in [1, 2] {
            let exec = try Executor(model: model, threads: threads)
            let image = UnsafeMutablePointer<UInt8>.allocate(capacity: model.input.count)
            defer { image.deallocate() }
            for (i, b) in bytes.enumerated() { image[i] = b }
            exec.run(image: image) { $0.head.isExit ? .restrict(TileRegion(threshold: 0.2)) : .proceed }
            bitspot_alloc_counting(1)
            for frame in 0..<6 {
                exec.run(image: image) { $0.head.isExit ? .restrict(TileRegion(threshold: frame % 2 == 0 ? 0.2 : 0.6)) : .proceed }
            }
            bitspot_alloc_counting(0)
            let runs = bitspot_alloc_count()
            XCTAssertEqual(runs, 0, "heap allocations in 6 region runs with \(threads) thread(s)")
        }
    }
}

/// `Model.withInput`: the shipped detector reshaped to the golden fixture's 40 x 40 input is the network
/// the trainer exported at that size (Scripts/train/golden/detector, same checkpoint): same outputs.
final class ModelInputTests: XCTestCase {
    func testReshapedDetectorMatchesTheGoldenExport() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let golden = try GoldenTests.loadGolden("detector", folder: root.appendingPathComponent("Scripts/train/golden"))
        let shipped = try ModelFile.load(path: root.appendingPathComponent("Models/detector.bitnet").path)
        let reshaped = try shipped.withInput(height: golden.model.input.height, width: golden.model.input.width)
        XCTAssertEqual(reshaped.input, golden.model.input)
        XCTAssertEqual(reshaped.nodes.map(\.shape), golden.model.nodes.map(\.shape))
        let a = try Executor(model: reshaped, threads: 1), b = try Executor(model: golden.model, threads: 1)
        let image = golden.tensors[0]!.bytes
        image.withUnsafeBufferPointer { _ = a.run(image: $0.baseAddress!) }
        image.withUnsafeBufferPointer { _ = b.run(image: $0.baseAddress!) }
        for h in reshaped.heads {
            XCTAssertEqual(Array(a.realOutput(h.node)).map(\.bitPattern), Array(b.realOutput(h.node)).map(\.bitPattern), h.name)
        }
        // 960 x 540: stride-4 maps of 135 x 240, tiles of 14 x 24.
        let big = try shipped.withInput(height: 540, width: 960)
        XCTAssertEqual(big.shape(big.nodes.count), TensorShape(135, 240, 2))
        XCTAssertEqual(big.shape(big.heads.first { $0.isExit }!.node), TensorShape(14, 24, 1))
    }

    /// Real outputs share arena slots once read: the heads come out the same as with a slot per node, in a
    /// smaller arena (the shipped detector at 960 x 540: about half).
    func testSharedSlotsGiveTheSameHeads() throws {
        let (model, image) = try RegionTests.detector()
        let golden = try GoldenTests.loadGolden("golden-a")
        for (m, img) in [(model, image), (golden.model, golden.tensors[0]!.bytes)] {
            let shared = try Executor(model: m, threads: 1), whole = try Executor(model: m, threads: 1, keepAllOutputs: true)
            XCTAssertLessThan(shared.arenaBytes, whole.arenaBytes)
            for e in [shared, whole] { img.withUnsafeBufferPointer { _ = e.run(image: $0.baseAddress!) } }
            for h in m.heads {
                XCTAssertEqual(Array(shared.realOutput(h.node)).map(\.bitPattern), Array(whole.realOutput(h.node)).map(\.bitPattern), h.name)
            }
        }
        let shared = try Executor(model: model, threads: 1), whole = try Executor(model: model, threads: 1, keepAllOutputs: true)
        print("detector \(model.input): arena \(shared.arenaBytes) bytes shared, \(whole.arenaBytes) with a slot per node")
    }

    func testSizesOutOfRangeAreRefused() throws {
        let g = try GoldenTests.loadGolden("golden-a")
        XCTAssertThrowsError(try g.model.withInput(height: 0, width: 10))
        XCTAssertThrowsError(try g.model.withInput(height: 8192, width: 8192)) { error in
            XCTAssertTrue("\(error)".contains("8192x8192"), "\(error)")
            XCTAssertEqual((error as? BitNetError)?.category, .badRequest)   // the caller's request, not a damaged file
        }
        XCTAssertNoThrow(try g.model.withInput(height: 33, width: 47))
    }
}
