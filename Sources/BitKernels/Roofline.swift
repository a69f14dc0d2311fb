/// The popcount roofline: a register-resident xor + popcount loop with no memory traffic, the most
/// binary MACs per second this CPU can do with this instruction mix. Kernels report their speed as a
/// fraction of it, measured in the same run.
///
/// Eight independent 64-bit accumulators; each step is one xor, one popcount and one add per word,
/// the same three operations per word as the convolution's inner loop (without its loads).
@inlinable @inline(__always)
public func _xorPopcountLoop(iterations: Int, seed: UInt64) -> Int {
    let a0 = seed, a1 = seed &* 3, a2 = seed &* 5, a3 = seed &* 7
    let a4 = seed &* 11, a5 = seed &* 13, a6 = seed &* 17, a7 = seed &* 19
    var s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    var t = seed
    for _ in 0..<iterations {
        t &+= 0x9E37_79B9_7F4A_7C15
        s0 &+= (a0 ^ t).nonzeroBitCount
        s1 &+= (a1 ^ t).nonzeroBitCount
        s2 &+= (a2 ^ t).nonzeroBitCount
        s3 &+= (a3 ^ t).nonzeroBitCount
        s4 &+= (a4 ^ t).nonzeroBitCount
        s5 &+= (a5 ^ t).nonzeroBitCount
        s6 &+= (a6 ^ t).nonzeroBitCount
        s7 &+= (a7 ^ t).nonzeroBitCount
    }
    return s0 &+ s1 &+ s2 &+ s3 &+ s4 &+ s5 &+ s6 &+ s7
}

/// Words popcounted per iteration of `_xorPopcountLoop`.
public let xorPopcountLoopWords = 8

extension GenericKernels {
    /// The roofline loop compiled for the baseline CPU.
    public static func xorPopcountLoop(iterations: Int, seed: UInt64) -> Int {
        _xorPopcountLoop(iterations: iterations, seed: seed)
    }
}
