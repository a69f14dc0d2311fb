import BitNet
import Energy

/// The network's operation counts in the terms of the op-energy table (Horowitz 2014).
enum NetworkOps {
    static func energyCounts(_ c: OpCount) -> OpCounts {
        var e = OpCounts()
        // A float MAC is one multiply and one add; other real ops (PReLU, adds, pooling) count as adds.
        e.floatMults = Double(c.floatMACs)
        e.floatAdds = Double(c.floatMACs + c.realOps)
        e.int8Mults = Double(c.int8MACs)
        e.int8Adds = Double(c.int8MACs)
        // One 32-bit xor + popcount + accumulate per 32 binary MACs (the table's convention).
        e.intAdds = Double(c.binaryMACs) / 32
        // Parameters read from memory once per run.
        e.dramWords = Double(c.bytes) / 4
        return e
    }
}
