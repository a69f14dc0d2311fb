import BitKernels
import CFFmpeg
import Foundation

/// Reading `.bitnet` model files (format: docs/model-format.md). Every count, size and offset is checked
/// before use; a damaged, truncated or hostile file gives a `BitNetError` of category `.invalid`.
public enum ModelFile {
    public static let magic: [UInt8] = Array("BSPOTNET".utf8)
    public static let majorVersion = 1
    static let headerSize = 64
    static let sectionEntrySize = 32
    static let nodeHeaderSize = 56
    static let paramRefSize = 24
    static let headRecordSize = 40

    /// Limits that keep a hostile file from asking for huge allocations.
    public enum Limits {
        public static let fileBytes = 256 << 20
        public static let nodes = 4096
        public static let heads = 64
        public static let paramsPerNode = 8
        public static let sections = 16
        public static let dimension = 8192
        public static let channels = 16384
        public static let tensorElements = 1 << 26
        public static let arenaBytes = 1 << 30
        public static let metadataBytes = 1 << 20
    }

    enum Section: UInt32 {
        case meta = 1, graph, weights, thresholds, heads
    }

    /// Loads and validates the model at `path`.
    public static func load(path: String) throws(BitNetError) -> Model {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw BitNetError(.missing, "no such model file", path: path)
        }
        let size: Int
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            size = (attrs[.size] as? NSNumber)?.intValue ?? -1
        } catch {
            throw BitNetError(.missing, "cannot read model file (\(error.localizedDescription))", path: path)
        }
        guard size >= 0, size <= Limits.fileBytes else {
            throw BitNetError(.invalid, "file of \(size) bytes exceeds the \(Limits.fileBytes >> 20) MiB limit", path: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BitNetError(.missing, "cannot read model file", path: path)
        }
        do {
            return try parse([UInt8](data))
        } catch {
            throw BitNetError(error.category, error.message, path: path)
        }
    }

    /// Parses and validates a model from bytes.
    public static func parse(_ bytes: [UInt8]) throws(BitNetError) -> Model {
        let result = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<Model, BitNetError> in
            var parser = Parser(raw)
            do throws(BitNetError) { return .success(try parser.model()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The CRC-32 (IEEE) of `bytes`, through libavutil.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return bitspot_crc32(0, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }
}

/// A bounds-checked little-endian reader over one region.
struct ByteReader {
    let raw: UnsafeRawBufferPointer
    var position: Int
    let what: String

    init(_ raw: UnsafeRawBufferPointer, what: String) {
        self.raw = raw
        self.position = 0
        self.what = what
    }

    mutating func u16() throws(BitNetError) -> UInt16 { UInt16(littleEndian: try load(UInt16.self)) }
    mutating func u32() throws(BitNetError) -> UInt32 { UInt32(littleEndian: try load(UInt32.self)) }
    mutating func i32() throws(BitNetError) -> Int32 { Int32(littleEndian: try load(Int32.self)) }
    mutating func u64() throws(BitNetError) -> UInt64 { UInt64(littleEndian: try load(UInt64.self)) }

    mutating func bytes(_ n: Int) throws(BitNetError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= raw.count - position else {
            throw BitNetError(.invalid, "truncated \(what): needs \(n) bytes at offset \(position), has \(raw.count - position)")
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: raw[position..<(position + n)])
    }

    private mutating func load<T: FixedWidthInteger>(_ type: T.Type) throws(BitNetError) -> T {
        let b = try bytes(MemoryLayout<T>.size)
        return b.loadUnaligned(as: T.self)
    }
}

/// Parses one file, checking as it goes.
private struct Parser {
    let raw: UnsafeRawBufferPointer
    var sections: [ModelFile.Section: UnsafeRawBufferPointer] = [:]

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    static func fail(_ message: String) -> BitNetError { BitNetError(.invalid, message) }

    mutating func model() throws(BitNetError) -> Model {
        var h = ByteReader(raw, what: "header")
        guard raw.count >= ModelFile.headerSize else {
            throw Self.fail("truncated: \(raw.count) bytes, smaller than the \(ModelFile.headerSize)-byte header")
        }
        guard Array(try h.bytes(8)) == ModelFile.magic else { throw Self.fail("not a BitSpot model (bad magic)") }
        let major = Int(try h.u16()), minor = Int(try h.u16())
        guard major == ModelFile.majorVersion else {
            throw BitNetError(.invalid, "unsupported format version \(major).\(minor) (this runtime reads \(ModelFile.majorVersion).x)")
        }
        guard try h.u32() == UInt32(ModelFile.headerSize) else { throw Self.fail("bad header size") }
        let declared = try h.u64()
        guard declared == UInt64(raw.count) else {
            throw Self.fail("truncated or padded: header says \(declared) bytes, file has \(raw.count)")
        }
        let sectionCount = Int(try h.u32())
        guard try h.u32() == 1 else { throw Self.fail("unknown checksum kind") }
        let crc = try h.u32()
        let payload = UnsafeRawBufferPointer(rebasing: raw[ModelFile.headerSize...])
        let actual = ModelFile.crc32(payload)
        guard actual == crc else {
            throw Self.fail("checksum mismatch (CRC-32 \(hex(actual)), header says \(hex(crc))): the file is damaged")
        }
        guard (1...ModelFile.Limits.sections).contains(sectionCount) else { throw Self.fail("bad section count \(sectionCount)") }
        try readSectionTable(count: sectionCount)
        guard let meta = sections[.meta], let graph = sections[.graph], let headsRaw = sections[.heads],
              sections[.weights] != nil else {
            throw Self.fail("missing a required section (meta, graph, weights, heads)")
        }
        guard meta.count <= ModelFile.Limits.metadataBytes else { throw Self.fail("metadata section too large") }
        guard let metadata = String(validating: meta, as: UTF8.self) else { throw Self.fail("metadata is not UTF-8") }
        var (input, nodes) = try parseGraph(graph)
        let heads = try parseHeads(headsRaw, nodes: nodes)
        try checkArena(input: input, nodes: &nodes)
        return Model(input: input, nodes: nodes, heads: heads, metadata: metadata, version: (major, minor), fileSize: raw.count)
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    mutating func readSectionTable(count: Int) throws(BitNetError) {
        var r = ByteReader(raw, what: "section table")
        r.position = ModelFile.headerSize
        let tableEnd = ModelFile.headerSize + count * ModelFile.sectionEntrySize
        var spans: [(Int, Int)] = []
        for _ in 0..<count {
            let kindRaw = try r.u32()
            guard try r.u32() == 0 else { throw Self.fail("reserved section field is not zero") }
            let offset = try r.u64(), size = try r.u64()
            guard try r.u64() == 0 else { throw Self.fail("reserved section field is not zero") }
            guard let kind = ModelFile.Section(rawValue: kindRaw) else { throw Self.fail("unknown section kind \(kindRaw)") }
            guard sections[kind] == nil else { throw Self.fail("section \(kind) appears twice") }
            guard offset <= UInt64(raw.count), size <= UInt64(raw.count) - offset, offset >= UInt64(tableEnd),
                  offset % 16 == 0 else {
                throw Self.fail("section \(kind) at offset \(offset) size \(size) lies outside the file (\(raw.count) bytes)")
            }
            let o = Int(offset), s = Int(size)
            for (a, b) in spans where o < b && a < o + s { throw Self.fail("section \(kind) overlaps another section") }
            spans.append((o, o + s))
            sections[kind] = UnsafeRawBufferPointer(rebasing: raw[o..<(o + s)])
        }
    }

    // MARK: graph

    func parseGraph(_ g: UnsafeRawBufferPointer) throws(BitNetError) -> (TensorShape, [Node]) {
        var r = ByteReader(g, what: "graph section")
        let input = TensorShape(Int(try r.u32()), Int(try r.u32()), Int(try r.u32()))
        try checkShape(input, "input")
        guard input.channels <= 4 else { throw Self.fail("input has \(input.channels) channels (at most 4)") }
        let count = Int(try r.u32())
        guard (1...ModelFile.Limits.nodes).contains(count) else { throw Self.fail("bad node count \(count)") }
        // Every node needs at least its header: refuse counts the section cannot hold before allocating.
        guard count <= (g.count - 16) / ModelFile.nodeHeaderSize else {
            throw Self.fail("truncated graph: \(count) nodes cannot fit in \(g.count) bytes")
        }
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        for index in 1...count {
            do {
                nodes.append(try parseNode(&r, index: index, input: input, nodes: nodes))
            } catch {
                throw Self.fail("node \(index): \(error.message)")
            }
        }
        guard r.position == g.count else { throw Self.fail("graph section has \(g.count - r.position) trailing bytes") }
        return (input, nodes)
    }

    func checkShape(_ s: TensorShape, _ what: String) throws(BitNetError) {
        guard (1...ModelFile.Limits.dimension).contains(s.height), (1...ModelFile.Limits.dimension).contains(s.width),
              (1...ModelFile.Limits.channels).contains(s.channels), s.count <= ModelFile.Limits.tensorElements else {
            throw Self.fail("\(what) shape \(s) out of range")
        }
    }

    struct ParamRef {
        var role: UInt32
        var dtype: UInt32
        var section: ModelFile.Section
        var count: Int
        var offset: Int
    }

    func parseNode(_ r: inout ByteReader, index: Int, input: TensorShape, nodes: [Node]) throws(BitNetError) -> Node {
        let opRaw = try r.u16(), flags = try r.u16()
        let in0 = try r.u32(), in1 = try r.u32()
        let shape = TensorShape(Int(try r.u32()), Int(try r.u32()), Int(try r.u32()))
        let original = Int(try r.u32())
        var attrs: [Int32] = []
        for _ in 0..<6 { attrs.append(try r.i32()) }
        let paramCount = Int(try r.u32())
        guard let op = OpKind(rawValue: opRaw) else { throw Self.fail("unknown op \(opRaw)") }
        guard paramCount <= ModelFile.Limits.paramsPerNode else { throw Self.fail("\(paramCount) parameters (at most 8)") }
        var refs: [UInt32: ParamRef] = [:]
        for _ in 0..<paramCount {
            let role = try r.u32(), dtype = try r.u32(), sectionRaw = try r.u32(), count = try r.u32()
            let offset = try r.u64()
            guard let section = ModelFile.Section(rawValue: sectionRaw), section == .weights || section == .thresholds else {
                throw Self.fail("parameter in section \(sectionRaw)")
            }
            guard refs[role] == nil else { throw Self.fail("parameter role \(role) given twice") }
            guard offset <= UInt64(Int.max / 2) else { throw Self.fail("parameter offset \(offset) out of range") }
            refs[role] = ParamRef(role: role, dtype: dtype, section: section, count: Int(count), offset: Int(offset))
        }
        try checkShape(shape, "output")
        guard original >= shape.channels, original <= ModelFile.Limits.channels else {
            throw Self.fail("original channel count \(original) below kept \(shape.channels)")
        }
        func producer(_ raw: UInt32, _ what: String) throws(BitNetError) -> (Int, TensorShape, ValueKind) {
            guard raw < UInt32(index) else { throw Self.fail("\(what) refers to node \(raw), not an earlier node") }
            let i = Int(raw)
            return i == 0 ? (0, input, .image) : (i, nodes[i - 1].shape, nodes[i - 1].kind)
        }
        let none = UInt32.max
        var node = Node(op: op, inputs: [], shape: shape, originalChannels: original, kind: .real)
        var params = ParamTaker(refs: refs, reader: self)
        func attrsZero(from: Int) throws(BitNetError) {
            for i in from..<6 where attrs[i] != 0 { throw Self.fail("unused attribute \(i) is \(attrs[i]), not 0") }
        }
        let (a, aShape, aKind) = try producer(in0, "input")
        node.inputs = [a]
        if op != .binaryConv && op != .add && in1 != none { throw Self.fail("\(op.name) takes one input") }
        guard flags & ~1 == 0, flags == 0 || op == .binaryConv else { throw Self.fail("unknown flags \(flags)") }
        func expect(_ kind: ValueKind) throws(BitNetError) {
            guard aKind == kind else { throw Self.fail("\(op.name) needs a \(kind) input, node \(a) gives \(aKind)") }
        }
        func expectShape(_ s: TensorShape) throws(BitNetError) {
            guard s == shape else { throw Self.fail("declared output \(shape), computed \(s)") }
        }
        switch op {
        case .firstConv:
            try expect(.image)
            let stride = Int(attrs[0]), zeroPoint = attrs[1], outKind = attrs[2]
            guard stride == 1 || stride == 2 else { throw Self.fail("stride \(stride)") }
            guard (0...255).contains(zeroPoint), outKind == 0 || outKind == 1 else { throw Self.fail("bad zero point or output kind") }
            try attrsZero(from: 3)
            try expectShape(TensorShape(convOutputSize(aShape.height, kernel: 3, stride: stride, padding: 1),
                                        convOutputSize(aShape.width, kernel: 3, stride: stride, padding: 1), shape.channels))
            node.stride = stride
            node.kernel = 3
            node.zeroPoint = zeroPoint
            node.int8Weights = try params.int8(.weights, count: shape.channels * 9 * aShape.channels)
            if outKind == 0 {
                node.kind = .bits
                node.thresholds = try params.int32(.thresholds, count: shape.channels)
            } else {
                node.scale = try params.float(.scale, count: shape.channels)
                node.bias = try params.float(.bias, count: shape.channels)
            }
        case .binaryConv:
            try expect(.bits)
            let k = Int(attrs[0]), stride = Int(attrs[1]), outKind = attrs[2]
            guard k == 1 || k == 3, stride == 1 || stride == 2, outKind == 0 || outKind == 1 else {
                throw Self.fail("kernel \(k), stride \(stride) or output kind \(outKind) not supported")
            }
            try attrsZero(from: 3)
            try expectShape(TensorShape(convOutputSize(aShape.height, kernel: k, stride: stride, padding: k / 2),
                                        convOutputSize(aShape.width, kernel: k, stride: stride, padding: k / 2), shape.channels))
            node.kernel = k
            node.stride = stride
            let wpc = k * k * bitWords(aShape.channels)
            node.binaryWeights = try params.uint64(.weights, count: shape.channels * wpc)
            let words = bitWords(aShape.channels)
            if aShape.channels % 64 != 0 {
                let mask = ~((UInt64(1) << UInt64(aShape.channels % 64)) - 1)
                for i in Swift.stride(from: words - 1, to: node.binaryWeights.count, by: words) where node.binaryWeights[i] & mask != 0 {
                    throw Self.fail("weights set bits beyond channel \(aShape.channels)")
                }
            }
            if outKind == 0 {
                node.kind = .bits
                guard in1 == none, flags == 0 else { throw Self.fail("bits output takes no shortcut or PReLU") }
                node.thresholds = try params.int32(.thresholds, count: shape.channels)
            } else {
                node.scale = try params.float(.scale, count: shape.channels)
                node.bias = try params.float(.bias, count: shape.channels)
                if in1 != none {
                    let (b, bShape, bKind) = try producer(in1, "shortcut")
                    guard bKind == .real, bShape.height == shape.height, bShape.width == shape.width else {
                        throw Self.fail("shortcut node \(b) must be real with the output's height and width")
                    }
                    node.inputs.append(b)
                    node.shortcutMap = try params.optionalMap(channels: shape.channels, source: bShape.channels)
                } else if params.has(.shortcutMap) {
                    throw Self.fail("channel map without a shortcut")
                }
                if flags & 1 != 0 { node.prelu = try params.prelu(shape.channels) }
            }
        case .bitMaxPool, .avgPool:
            try expect(op == .bitMaxPool ? .bits : .real)
            let ph = Int(attrs[0]), pw = Int(attrs[1])
            guard (1...16).contains(ph), (1...16).contains(pw) else { throw Self.fail("pool window \(ph)x\(pw)") }
            try attrsZero(from: 2)
            try expectShape(TensorShape(poolOutputSize(aShape.height, size: ph), poolOutputSize(aShape.width, size: pw), aShape.channels))
            node.poolHeight = ph
            node.poolWidth = pw
            node.kind = op == .bitMaxPool ? .bits : .real
        case .realConv1x1:
            try expect(.real)
            let stride = Int(attrs[0])
            guard stride == 1 || stride == 2 else { throw Self.fail("stride \(stride)") }
            try attrsZero(from: 1)
            try expectShape(TensorShape(convOutputSize(aShape.height, kernel: 1, stride: stride, padding: 0),
                                        convOutputSize(aShape.width, kernel: 1, stride: stride, padding: 0), shape.channels))
            node.kernel = 1
            node.stride = stride
            node.realWeights = try params.float(.weights, count: shape.channels * aShape.channels)
            node.bias = try params.float(.bias, count: shape.channels)
        case .add:
            try expect(.real)
            try attrsZero(from: 0)
            let (b, bShape, bKind) = try producer(in1, "second input")
            guard bKind == .real, bShape.height == aShape.height, bShape.width == aShape.width else {
                throw Self.fail("add needs two real inputs of the same height and width")
            }
            try expectShape(aShape)
            node.inputs.append(b)
            node.shortcutMap = try params.optionalMap(channels: shape.channels, source: bShape.channels)
        case .prelu:
            try expect(.real)
            try attrsZero(from: 0)
            try expectShape(aShape)
            node.prelu = try params.prelu(shape.channels)
        case .signPack:
            try expect(.real)
            try attrsZero(from: 0)
            try expectShape(aShape)
            node.kind = .bits
            node.signThresholds = try params.float(.thresholds, count: shape.channels)
        case .globalAvgPool:
            try expect(.real)
            try attrsZero(from: 0)
            try expectShape(TensorShape(1, 1, aShape.channels))
        case .unpack:
            try expect(.bits)
            try attrsZero(from: 0)
            try expectShape(aShape)
        }
        try params.checkAllUsed()
        return node
    }

    // MARK: heads

    func parseHeads(_ h: UnsafeRawBufferPointer, nodes: [Node]) throws(BitNetError) -> [Head] {
        var r = ByteReader(h, what: "heads section")
        let count = Int(try r.u32())
        guard (1...ModelFile.Limits.heads).contains(count) else { throw Self.fail("bad head count \(count)") }
        guard h.count == 4 + count * ModelFile.headRecordSize else { throw Self.fail("heads section size does not match \(count) heads") }
        var heads: [Head] = []
        for i in 0..<count {
            let node = Int(try r.u32()), flags = try r.u32()
            let nameBytes = Array(try r.bytes(32)).prefix { $0 != 0 }
            guard (1...nodes.count).contains(node), nodes[node - 1].kind == .real else {
                throw Self.fail("head \(i) refers to node \(node), not a real-valued node")
            }
            guard flags & ~1 == 0 else { throw Self.fail("head \(i) has unknown flags \(flags)") }
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw Self.fail("head \(i) name is not UTF-8") }
            if let last = heads.last, last.node >= node { throw Self.fail("heads must be in increasing node order") }
            heads.append(Head(node: node, name: name, isExit: flags & 1 != 0))
        }
        return heads
    }

    func checkArena(input: TensorShape, nodes: inout [Node]) throws(BitNetError) {
        var total = 0
        for n in nodes {
            let bytes = n.kind == .bits
                ? PackedLayout(height: n.shape.height, width: n.shape.width, channels: n.shape.channels).count * 8
                : n.shape.count * 4
            total += bytes
            guard total <= ModelFile.Limits.arenaBytes else { throw Self.fail("activations need more than 1 GiB") }
        }
    }

    // MARK: parameters

    enum Role: UInt32 {
        case weights = 1, thresholds, scale, bias, shortcutMap, preluShiftIn, preluSlope, preluShiftOut
    }

    struct ParamTaker {
        var refs: [UInt32: ParamRef]
        let reader: Parser

        func has(_ role: Role) -> Bool { refs[role.rawValue] != nil }

        mutating func take(_ role: Role, dtype: UInt32, elementSize: Int, count: Int) throws(BitNetError) -> UnsafeRawBufferPointer {
            guard let ref = refs.removeValue(forKey: role.rawValue) else { throw Parser.fail("missing parameter \(role)") }
            guard ref.dtype == dtype else { throw Parser.fail("parameter \(role) has type \(ref.dtype), expected \(dtype)") }
            guard ref.count == count else { throw Parser.fail("parameter \(role) has \(ref.count) values, expected \(count)") }
            let expectedSection: ModelFile.Section = role == .thresholds ? .thresholds : .weights
            guard ref.section == expectedSection, let section = reader.sections[expectedSection] else {
                throw Parser.fail("parameter \(role) is not in the \(expectedSection) section")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, ref.offset % elementSize == 0, ref.offset <= section.count, bytes <= section.count - ref.offset else {
                throw Parser.fail("parameter \(role) (\(count) x \(elementSize) bytes at \(ref.offset)) lies outside its section (\(section.count) bytes)")
            }
            return UnsafeRawBufferPointer(rebasing: section[ref.offset..<(ref.offset + bytes)])
        }

        mutating func uint64(_ role: Role, count: Int) throws(BitNetError) -> [UInt64] {
            let b = try take(role, dtype: 1, elementSize: 8, count: count)
            return (0..<count).map { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }

        mutating func int8(_ role: Role, count: Int) throws(BitNetError) -> [Int8] {
            let b = try take(role, dtype: 2, elementSize: 1, count: count)
            return b.map { Int8(bitPattern: $0) }
        }

        mutating func int32(_ role: Role, count: Int) throws(BitNetError) -> [Int32] {
            let b = try take(role, dtype: 3, elementSize: 4, count: count)
            return (0..<count).map { Int32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }

        mutating func float(_ role: Role, count: Int) throws(BitNetError) -> [Float] {
            let b = try take(role, dtype: 4, elementSize: 4, count: count)
            let values = (0..<count).map {
                Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
            guard values.allSatisfy({ $0.isFinite }) else { throw Parser.fail("parameter \(role) holds a NaN or infinity") }
            return values
        }

        mutating func optionalMap(channels: Int, source: Int) throws(BitNetError) -> [Int32]? {
            guard has(.shortcutMap) else {
                guard source == channels else {
                    throw Parser.fail("shortcut has \(source) channels, output \(channels), and no channel map")
                }
                return nil
            }
            let map = try int32(.shortcutMap, count: channels)
            guard map.allSatisfy({ $0 >= 0 && Int($0) < source }) else {
                throw Parser.fail("channel map refers beyond the shortcut's \(source) channels")
            }
            return map
        }

        mutating func prelu(_ channels: Int) throws(BitNetError) -> PReLUValues {
            PReLUValues(shiftIn: try float(.preluShiftIn, count: channels), slope: try float(.preluSlope, count: channels),
                        shiftOut: try float(.preluShiftOut, count: channels))
        }

        func checkAllUsed() throws(BitNetError) {
            if let extra = refs.keys.min() { throw Parser.fail("unexpected parameter role \(extra)") }
        }
    }
}
