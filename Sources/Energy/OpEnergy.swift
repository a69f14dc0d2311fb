/// Energy per operation from Horowitz, "Computing's energy problem (and what we can do about it)",
/// ISSCC 2014 (45 nm, 0.9 V). A third, separate column for the network alone: it counts arithmetic
/// and memory traffic, not the board, so it is neither measured nor comparable with board energy.
public struct OpEnergyTable: Sendable, Codable, Equatable {
    public var floatAdd32 = 0.9e-12
    public var floatMult32 = 3.7e-12
    public var intAdd32 = 0.1e-12
    public var intAdd8 = 0.03e-12
    public var intMult8 = 0.2e-12
    public var dramWord32 = 640e-12
    public var source = "Horowitz, ISSCC 2014, 45 nm: fp32 add 0.9 pJ, fp32 mult 3.7 pJ, int32 add 0.1 pJ, int8 add 0.03 pJ, int8 mult 0.2 pJ, DRAM 640 pJ per 32-bit word"

    public init() {}
    public static let horowitz45nm = OpEnergyTable()
}

/// Operation counts of one network run (from BitNet's op counter; plain numbers here).
public struct OpCounts: Sendable, Codable, Equatable {
    public var floatAdds: Double = 0
    public var floatMults: Double = 0
    /// 32-bit integer adds; a 32-bit XNOR-popcount-accumulate word is counted as one (an approximation).
    public var intAdds: Double = 0
    public var int8Adds: Double = 0
    public var int8Mults: Double = 0
    /// 32-bit words moved to or from DRAM.
    public var dramWords: Double = 0

    public init(floatAdds: Double = 0, floatMults: Double = 0, intAdds: Double = 0, int8Adds: Double = 0,
                int8Mults: Double = 0, dramWords: Double = 0) {
        self.floatAdds = floatAdds
        self.floatMults = floatMults
        self.intAdds = intAdds
        self.int8Adds = int8Adds
        self.int8Mults = int8Mults
        self.dramWords = dramWords
    }

    public static func + (a: OpCounts, b: OpCounts) -> OpCounts {
        OpCounts(floatAdds: a.floatAdds + b.floatAdds, floatMults: a.floatMults + b.floatMults, intAdds: a.intAdds + b.intAdds,
                 int8Adds: a.int8Adds + b.int8Adds, int8Mults: a.int8Mults + b.int8Mults, dramWords: a.dramWords + b.dramWords)
    }

    /// Joules by the table.
    public func joules(_ t: OpEnergyTable = .horowitz45nm) -> Double {
        floatAdds * t.floatAdd32 + floatMults * t.floatMult32 + intAdds * t.intAdd32
            + int8Adds * t.intAdd8 + int8Mults * t.intMult8 + dramWords * t.dramWord32
    }
}
