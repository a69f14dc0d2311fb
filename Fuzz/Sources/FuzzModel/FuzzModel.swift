import BitKernels
import BitNet
import FuzzSupport

/// Model files: `ModelFile.parse` on the bytes as given, then (when they are long enough for a header)
/// with the header's file size and CRC-32 made right, so that mutations reach the section table, graph
/// and parameters instead of stopping at the checksum. A model that parses is prepared by an `Executor`
/// and run once on a small image when it is cheap enough: a valid model must not crash the runtime.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let model = try? ModelFile.parse(bytes) { exercise(model) }
    guard bytes.count >= 64 else { return 0 }
    let declared = UInt64(bytes.count)
    for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: declared >> (8 * UInt64(i))) }
    let crc = bytes.withUnsafeBytes { ModelFile.crc32(UnsafeRawBufferPointer(rebasing: $0[64...])) }
    for i in 0..<4 { bytes[32 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    guard !bytes.elementsEqual(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    do {
        let model = try ModelFile.parse(bytes)
        exercise(model)
    } catch {
        Fuzz.check(error.category == .invalid, "parse threw \(error.category), not .invalid: \(error)")
    }
    return 0
}

/// Activation bytes as the executor plans them (one slot per node).
private func activationBytes(_ model: Model) -> Int {
    model.nodes.reduce(0) { total, n in
        total + (n.kind == .bits
            ? PackedLayout(height: n.shape.height, width: n.shape.width, channels: n.shape.channels).count * 8
            : n.shape.count * 4)
    }
}

private func exercise(_ model: Model) {
    Fuzz.check(!model.nodes.isEmpty && !model.heads.isEmpty, "a parsed model has nodes and heads")
    for h in model.heads {
        Fuzz.check((1...model.nodes.count).contains(h.node) && model.kind(h.node) == .real, "head \(h.node) is a real node")
    }
    let ops = model.totalOpCount
    // The parser admits up to 1 GiB of activations; the executor is built only for small ones (time and
    // memory per input), and run only when the work is a few million operations.
    guard activationBytes(model) <= 32 << 20 else { return }
    let executor: Executor
    do {
        executor = try Executor(model: model, threads: 1)
    } catch {
        Fuzz.check(false, "a parsed model's executor failed: \(error)")
        return
    }
    let work = ops.binaryMACs / 64 + ops.floatMACs + ops.int8MACs + ops.realOps
    guard work <= 4_000_000 else { return }
    var image = [UInt8](repeating: 0, count: model.input.count)
    for i in image.indices { image[i] = UInt8(truncatingIfNeeded: i &* 37 &+ i >> 3) }
    var headsSeen = 0
    let summary = image.withUnsafeBufferPointer { px in
        executor.run(image: px.baseAddress!) { out in
            headsSeen += 1
            Fuzz.check(out.values.count == out.shape.count, "head output has its shape's count")
            Fuzz.check(!(out.confidence < 0 || out.confidence > 1.0001), "confidence \(out.confidence) outside 0...1")
            return out.head.isExit ? .stop : .proceed
        }
    }
    Fuzz.check(summary.nodesRun + summary.nodesSkipped == model.nodes.count, "every node is run or skipped")
    Fuzz.check(headsSeen >= 1, "the run reaches a head")
    // Tile regions at every exit head (run whole when the layers after it cannot run on regions).
    let region = image.withUnsafeBufferPointer { px in
        executor.run(image: px.baseAddress!) { out in out.head.isExit ? .restrict(TileRegion(threshold: 0.5)) : .proceed }
    }
    Fuzz.check(region.nodesRun + region.nodesSkipped == model.nodes.count, "region run: every node is run or skipped")
    let counted = region.done + region.skipped
    Fuzz.check(counted.binaryMACs == ops.binaryMACs && counted.floatMACs == ops.floatMACs && counted.realOps == ops.realOps,
               "region run: done + skipped is the whole model's work")
    Fuzz.check(region.regionShare >= 0 && region.regionShare <= 1, "region share \(region.regionShare)")
}
