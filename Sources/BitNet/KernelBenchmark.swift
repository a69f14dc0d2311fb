import BitKernels
import BitKernelsX86
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timing of whole binary convolution layers against the popcount roofline measured in the same run.
public enum KernelBenchmark {
    /// One convolution layer shape.
    public struct ConvShape: Sendable, Equatable {
        public var label: String
        public var height: Int
        public var width: Int
        public var inChannels: Int
        public var outChannels: Int
        public var kernel: Int
        public var stride: Int

        public init(label: String, height: Int, width: Int, inChannels: Int, outChannels: Int, kernel: Int, stride: Int) {
            self.label = label
            self.height = height
            self.width = width
            self.inChannels = inChannels
            self.outChannels = outChannels
            self.kernel = kernel
            self.stride = stride
        }

        public var outHeight: Int { convOutputSize(height, kernel: kernel, stride: stride, padding: kernel / 2) }
        public var outWidth: Int { convOutputSize(width, kernel: kernel, stride: stride, padding: kernel / 2) }
        /// Binary multiply-accumulates of one run.
        public var macs: Int { outHeight * outWidth * outChannels * kernel * kernel * inChannels }
        public var description: String {
            "\(kernel)x\(kernel) s\(stride) \(inChannels)->\(outChannels) @\(width)x\(height)"
        }
    }

    /// The standard set of the issue: 3x3 convolutions 64->64 at 80x45, 128->128 at 40x23, 256->256 at 32x8.
    public static let standardShapes: [ConvShape] = [
        ConvShape(label: "std", height: 45, width: 80, inChannels: 64, outChannels: 64, kernel: 3, stride: 1),
        ConvShape(label: "std", height: 23, width: 40, inChannels: 128, outChannels: 128, kernel: 3, stride: 1),
        ConvShape(label: "std", height: 8, width: 32, inChannels: 256, outChannels: 256, kernel: 3, stride: 1),
    ]

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU seconds of the calling thread (time while descheduled excluded: the machines are shared).
    public static func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU seconds of the whole process (all threads).
    public static func processCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The median of `values`.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    nonisolated(unsafe) private static var sink = 0

    /// The popcount roofline of this CPU for a tier: every register-resident xor + popcount loop compiled
    /// like the tier, each the median of `repetitions`; the best is the roofline.
    public static func rooflines(_ kernels: KernelSet, repetitions: Int) -> [(name: String, macsPerSecond: Double)] {
        var loops: [(String, Double)] = [(kernels.tier == .x86AVX2 ? "avx2-vpshufb" : "scalar", roofline(kernels, repetitions: repetitions))]
        if kernels.tier == .x86AVX2, let loop = X86Tier.autoVectorisedLoop {
            let auto = KernelSet(tier: .x86AVX2, binaryConv: kernels.binaryConv, xorPopcountLoop: loop)
            loops.append(("llvm-vectorised", roofline(auto, repetitions: repetitions)))
        }
        return loops
    }

    /// Binary MACs per second of the tier's roofline loop on one thread (median of `repetitions` runs of
    /// about `seconds` each): 64 MACs per popcounted word.
    public static func roofline(_ kernels: KernelSet, repetitions: Int, seconds: Double = 0.05) -> Double {
        let iterations = rooflineIterations(kernels, seconds: seconds)
        return median((0..<repetitions).map { rooflineRate(kernels, iterations: iterations, seed: UInt64($0 + 1)) })
    }

    /// One layer ready to time: random packed input, weights in the tier's layout, thresholds, output.
    public final class Layer {
        /// What one run of the layer does.
        public enum Mode: Sendable {
            /// Packed input -> binary conv -> thresholds -> packed output.
            case bits
            /// The real-valued path between binary blocks (Bi-Real / ReActNet / QuickNet): binary conv with
            /// real output (scale, bias), a real shortcut add, a shifted PReLU, float output, and the fused
            /// sign-pack (with per-channel shifts) of that output for the next binary conv.
            case realPath
        }

        public let shape: ConvShape
        public let kernels: KernelSet
        public let mode: Mode
        private var params: BinaryConvParams
        private var buffers: [UnsafeMutableRawPointer]
        private var realInput: UnsafeMutablePointer<Float>?
        private var packThresholds: UnsafeMutablePointer<Float>?

        /// Packed patches (`PatchPacking`) when `packedPatches` and the shape is narrow: each run packs the
        /// patches, then runs the 1x1 convolution over them.
        private var patchSource: PatchSource?

        public init(_ shape: ConvShape, kernels: KernelSet, mode: Mode = .bits, packedPatches: Bool = false) {
            self.shape = shape
            self.kernels = kernels
            self.mode = mode
            let inLayout = PackedLayout(height: shape.height, width: shape.width, channels: shape.inChannels)
            let outLayout = PackedLayout(height: shape.outHeight, width: shape.outWidth, channels: shape.outChannels)
            var state: UInt64 = 0x1234_5678
            func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            let input = UnsafeMutablePointer<UInt64>.allocate(capacity: inLayout.count)
            input.initialize(repeating: 0, count: inLayout.count)
            let lastMask: UInt64 = shape.inChannels % 64 == 0 ? .max : (UInt64(1) << UInt64(shape.inChannels % 64)) - 1
            for y in 0..<shape.height {
                for x in 0..<shape.width {
                    for w in 0..<inLayout.words {
                        input[inLayout.offset(y, x) + w] = next() & (w == inLayout.words - 1 ? lastMask : .max)
                    }
                }
            }
            let wpc = shape.kernel * shape.kernel * inLayout.words
            let wCount = shape.outChannels * wpc
            let fileWeights = UnsafeMutablePointer<UInt64>.allocate(capacity: wCount)
            defer { fileWeights.deallocate() }
            for i in 0..<wCount { fileWeights[i] = next() & (i % inLayout.words == inLayout.words - 1 ? lastMask : .max) }
            let weights = UnsafeMutablePointer<UInt64>.allocate(
                capacity: kernels.weightLayout.count(outChannels: shape.outChannels, wordsPerChannel: wpc))
            kernels.weightLayout.prepare(fileWeights, outChannels: shape.outChannels, wordsPerChannel: wpc, into: weights)
            let thresholds = UnsafeMutablePointer<Int32>.allocate(capacity: shape.outChannels)
            let depth = shape.kernel * shape.kernel * shape.inChannels
            for c in 0..<shape.outChannels { thresholds[c] = Int32(depth / 2) }
            let output = UnsafeMutablePointer<UInt64>.allocate(capacity: outLayout.count)
            output.initialize(repeating: 0, count: outLayout.count)
            buffers = [UnsafeMutableRawPointer(input), UnsafeMutableRawPointer(weights),
                       UnsafeMutableRawPointer(thresholds), UnsafeMutableRawPointer(output)]
            params = BinaryConvParams(input: input, inLayout: inLayout, weights: weights, outChannels: shape.outChannels,
                                      kernel: shape.kernel, stride: shape.stride,
                                      output: .bits(output, outLayout, thresholds: thresholds))
            precondition(params.isValid)
            if packedPatches && PatchPacking.applies(kernel: shape.kernel, channels: shape.inChannels) {
                let pl = PatchPacking.layout(outHeight: shape.outHeight, outWidth: shape.outWidth, channels: shape.inChannels)
                let patches = UnsafeMutablePointer<UInt64>.allocate(capacity: pl.count)
                patches.initialize(repeating: 0, count: pl.count)
                let packedWeights = UnsafeMutablePointer<UInt64>.allocate(capacity: shape.outChannels * pl.words)
                PatchPacking.packWeights(fileWeights, outChannels: shape.outChannels, channels: shape.inChannels, into: packedWeights)
                let prepared = UnsafeMutablePointer<UInt64>.allocate(
                    capacity: kernels.weightLayout.count(outChannels: shape.outChannels, wordsPerChannel: pl.words))
                kernels.weightLayout.prepare(packedWeights, outChannels: shape.outChannels, wordsPerChannel: pl.words, into: prepared)
                packedWeights.deallocate()
                buffers += [UnsafeMutableRawPointer(patches), UnsafeMutableRawPointer(prepared)]
                patchSource = PatchSource(input: input, layout: inLayout, stride: shape.stride)
                params.input = UnsafePointer(patches)
                params.inLayout = pl
                params.weights = UnsafePointer(prepared)
                params.kernel = 1
                params.stride = 1
                precondition(params.isValid)
            }
            if mode == .realPath {
                let inCount = shape.height * shape.width * shape.inChannels
                let outCount = shape.outHeight * shape.outWidth * shape.outChannels
                let x = UnsafeMutablePointer<Float>.allocate(capacity: inCount)
                for i in 0..<inCount { x[i] = Float(Int(next() % 2001) - 1000) / 500 }
                let t = UnsafeMutablePointer<Float>.allocate(capacity: shape.inChannels)
                for c in 0..<shape.inChannels { t[c] = Float(Int(next() % 21) - 10) / 50 }
                let c = shape.outChannels
                let perChannel = UnsafeMutablePointer<Float>.allocate(capacity: 5 * c)
                for i in 0..<(5 * c) { perChannel[i] = Float(Int(next() % 200) + 1) / 1000 }
                let shortcut = UnsafeMutablePointer<Float>.allocate(capacity: outCount)
                for i in 0..<outCount { shortcut[i] = Float(Int(next() % 2001) - 1000) / 500 }
                let out = UnsafeMutablePointer<Float>.allocate(capacity: outCount)
                let nextLayout = PackedLayout(height: shape.outHeight, width: shape.outWidth, channels: c)
                let nextBits = UnsafeMutablePointer<UInt64>.allocate(capacity: nextLayout.count)
                nextBits.initialize(repeating: 0, count: nextLayout.count)
                let nextThresholds = UnsafeMutablePointer<Float>.allocate(capacity: c)
                for i in 0..<c { nextThresholds[i] = Float(Int(next() % 21) - 10) / 50 }
                buffers += [UnsafeMutableRawPointer(x), UnsafeMutableRawPointer(t), UnsafeMutableRawPointer(perChannel),
                            UnsafeMutableRawPointer(shortcut), UnsafeMutableRawPointer(out), UnsafeMutableRawPointer(nextBits),
                            UnsafeMutableRawPointer(nextThresholds)]
                params.signPack = SignPack(bits: nextBits, layout: nextLayout, thresholds: nextThresholds)
                realInput = x
                packThresholds = t
                params.output = .real(out, scale: perChannel, bias: perChannel + c,
                                      shortcut: Shortcut(values: shortcut, channels: c),
                                      prelu: ShiftedPReLU(shiftIn: perChannel + 2 * c, slope: perChannel + 3 * c,
                                                          shiftOut: perChannel + 4 * c))
            }
        }

        deinit { for b in buffers { b.deallocate() } }

        /// Runs the whole layer once, rows split over `pool`.
        public func runOnce(_ pool: WorkerPool) {
            if let patchSource {
                pool.run(task: .patchConv(params, kernels, source: patchSource))
            } else {
                pool.run(task: .binaryConv(params, kernels))
            }
        }

        /// A separate (unfused) sign-pack of a float tensor of the input's shape, for comparison.
        public func pack() {
            let l = RealLayout(height: shape.height, width: shape.width, channels: shape.inChannels)
            Packing.pack(realInput!, l, thresholds: packThresholds!, into: UnsafeMutablePointer(mutating: params.input),
                         params.inLayout, rows: 0..<shape.height)
        }

        /// Seconds per sign-pack (thread CPU time), averaged over `iterations`.
        public func timePack(iterations: Int) -> Double {
            let t0 = threadCPUTime()
            for _ in 0..<iterations { pack() }
            return (threadCPUTime() - t0) / Double(iterations)
        }

        /// Seconds per run, averaged over `iterations` runs, by `clock` (`now` or `threadCPUTime`).
        public func time(_ pool: WorkerPool, iterations: Int, clock: () -> Double = KernelBenchmark.now) -> Double {
            let t0 = clock()
            for _ in 0..<iterations { runOnce(pool) }
            return (clock() - t0) / Double(iterations)
        }

        /// Runs per repetition so that one repetition lasts about `seconds`.
        public func calibrate(_ pool: WorkerPool, seconds: Double) -> Int {
            runOnce(pool)
            var iterations = 1
            while true {
                let t0 = now()
                for _ in 0..<iterations { runOnce(pool) }
                let dt = now() - t0
                if dt > seconds / 4 { return max(1, Int(Double(iterations) * seconds / dt)) }
                iterations *= 2
            }
        }
    }

    /// Iterations of the tier's roofline loop lasting about `seconds`.
    public static func rooflineIterations(_ kernels: KernelSet, seconds: Double) -> Int {
        var iterations = 1 << 12
        while true {
            let t0 = now()
            sink &+= kernels.xorPopcountLoop(iterations, UInt64(iterations))
            let dt = now() - t0
            if dt > seconds / 4 { return max(1, Int(Double(iterations) * seconds / dt)) }
            iterations *= 2
        }
    }

    /// One repetition of the roofline loop: binary MACs per second (per-thread CPU time).
    public static func rooflineRate(_ kernels: KernelSet, iterations: Int, seed: UInt64) -> Double {
        let t0 = threadCPUTime()
        sink &+= kernels.xorPopcountLoop(iterations, seed)
        return Double(iterations * kernels.xorPopcountLoopWords * 64) / (threadCPUTime() - t0)
    }

    /// Interleaved measurement of one layer: each repetition times the roofline loop, the layer on one
    /// thread and (when `many` is given) on several, back to back, so that the ratios compare runs made
    /// under the same load. Ratios are medians of the per-repetition ratios. One-thread figures use the
    /// thread's CPU time (on a shared machine, wall time counts other users' time slices); the scaling
    /// from one thread to several compares wall-clock times of both.
    public struct Measurement: Sendable {
        public var seconds1: Double
        public var secondsN: Double?
        public var roofline: Double
        public var rooflineFraction: Double
        public var scaling: Double?
        /// CPU seconds (all threads) per run on several threads over CPU seconds per run on one:
        /// the cost of splitting the work, independent of how busy the machine is (1 = no overhead).
        public var cpuOverhead: Double?
    }

    public static func measure(_ layer: Layer, one: WorkerPool, many: WorkerPool?, repetitions: Int,
                               seconds: Double = 0.03) -> Measurement {
        let roofIterations = rooflineIterations(layer.kernels, seconds: seconds)
        let it1 = layer.calibrate(one, seconds: seconds)
        let itN = many.map { layer.calibrate($0, seconds: seconds) }
        var t1: [Double] = [], tN: [Double] = [], roofs: [Double] = [], fractions: [Double] = [], scalings: [Double] = []
        var overheads: [Double] = []
        for r in 0..<repetitions {
            let roof = rooflineRate(layer.kernels, iterations: roofIterations, seed: UInt64(r + 1))
            let a = layer.time(one, iterations: it1, clock: threadCPUTime)
            roofs.append(roof)
            t1.append(a)
            fractions.append(Double(layer.shape.macs) / a / roof)
            if let many, let itN {
                let wall1 = layer.time(one, iterations: it1)
                let c0 = processCPUTime()
                let b = layer.time(many, iterations: itN)
                let cpuN = (processCPUTime() - c0) / Double(itN)
                tN.append(b)
                scalings.append(wall1 / b)
                overheads.append(cpuN / a)
            }
        }
        return Measurement(seconds1: median(t1), secondsN: many == nil ? nil : median(tN), roofline: median(roofs),
                           rooflineFraction: median(fractions), scaling: many == nil ? nil : median(scalings),
                           cpuOverhead: many == nil ? nil : median(overheads))
    }
}

extension KernelBenchmark {
    /// Median thread CPU seconds of `repetitions` runs of `body`.
    static func medianThreadCPU(_ repetitions: Int, _ body: () -> Void) -> Double {
        median((0..<repetitions).map { _ in
            let t0 = threadCPUTime()
            body()
            return threadCPUTime() - t0
        })
    }

    /// Seconds (thread CPU time, median of `repetitions`) of the first layer, 8-bit luma `height x width`
    /// to `outChannels` packed bits with stride `stride`: the scalar version and the vectorised one of
    /// `kernels` (what the executor runs).
    public static func timeFirstConv(height: Int, width: Int, outChannels: Int, stride: Int, kernels: KernelSet,
                                     repetitions: Int) -> (scalar: Double, vector: Double) {
        let layout = RealLayout(height: height, width: width, channels: 1)
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let image = (0..<layout.count).map { _ in UInt8(truncatingIfNeeded: next()) }
        let weights = (0..<(outChannels * 9)).map { _ in Int8(truncatingIfNeeded: Int(next() % 17) - 8) }
        let thresholds = [Int32](repeating: 0, count: outChannels)
        var prepared = [Float](repeating: 0, count: RealOps.firstConvPreparedCount(outChannels: outChannels, inChannels: 1))
        RealOps.prepareFirstConvWeights(weights, outChannels: outChannels, inChannels: 1, into: &prepared)
        let oh = convOutputSize(height, kernel: 3, stride: stride, padding: 1)
        let ow = convOutputSize(width, kernel: 3, stride: stride, padding: 1)
        let pl = PackedLayout(height: oh, width: ow, channels: outChannels)
        var out = [UInt64](repeating: 0, count: pl.count)
        return thresholds.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                let output = FirstConvOutput.bits(o.baseAddress!, pl, thresholds: t.baseAddress!)
                let scalar = medianThreadCPU(repetitions) {
                    RealOps.firstConv(image, layout, zeroPoint: 128, weights: weights, outChannels: outChannels,
                                      stride: stride, output: output, rows: 0..<oh)
                }
                let vector = prepared.withUnsafeBufferPointer { w in
                    let params = FirstConvParams(image: image, layout: layout, zeroPoint: 128, weights: w.baseAddress!,
                                                 outChannels: outChannels, stride: stride, output: output)
                    return medianThreadCPU(repetitions) { kernels.real.firstConv(params, 0..<oh) }
                }
                return (scalar, vector)
            }
        }
    }
}

extension KernelBenchmark {
    /// Seconds (thread CPU time, median of `repetitions`) of a real 1x1 convolution `inChannels ->
    /// outChannels` over `height x width` pixels: the scalar reference and the eight-lane kernel of
    /// `kernels`, the one the executor runs (bit-identical outputs).
    public static func timeConv1x1(height: Int, width: Int, inChannels: Int, outChannels: Int, kernels: KernelSet,
                                   repetitions: Int) -> (scalar: Double, lanes: Double) {
        let layout = RealLayout(height: height, width: width, channels: inChannels)
        var state: UInt64 = 11
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 53) - 1024) / 1024
        }
        let src = (0..<layout.count).map { _ in next() }
        let weights = (0..<(outChannels * inChannels)).map { _ in next() }
        let bias = (0..<outChannels).map { _ in next() }
        var transposed = [Float](repeating: 0, count: inChannels * RealOps.conv1x1PaddedOutChannels(outChannels))
        RealOps.transposeConv1x1Weights(weights, outChannels: outChannels, inChannels: inChannels, into: &transposed)
        var out = [Float](repeating: 0, count: height * width * outChannels)
        let scalar = medianThreadCPU(repetitions) {
            RealOps.conv1x1(src, layout, weights: weights, bias: bias, outChannels: outChannels, stride: 1, into: &out, rows: 0..<height)
        }
        let lanes = transposed.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    let params = Conv1x1Params(input: src, layout: layout, weights: w.baseAddress!, bias: b.baseAddress!,
                                               outChannels: outChannels, stride: 1, output: o.baseAddress!)
                    return medianThreadCPU(repetitions) { kernels.real.conv1x1(params, 0..<height, nil) }
                }
            }
        }
        return (scalar, lanes)
    }
}

extension KernelBenchmark {
    /// Whole runs of a model with two-base blocks, unfused (each block's two convolutions as layers) and
    /// fused (`Executor(fuseBases:)`), on one thread: median thread CPU seconds per run of each, measured
    /// alternately in the same process (`repetitions` rounds of a batch of runs each).
    public struct TwoBaseTiming: Sendable {
        public var pairs: Int
        public var unfused: Double
        public var fused: Double
        /// Executor memory (activations and prepared parameters) of each.
        public var unfusedArenaBytes: Int
        public var fusedArenaBytes: Int
        /// `unfused / fused`.
        public var speedup: Double { unfused / fused }
    }

    /// Times `model` (nil when it has no two-base block) on `tier` with a deterministic textured image.
    public static func timeTwoBaseFusion(_ model: Model, tier: KernelTier, repetitions: Int,
                                         seconds: Double = 0.05) throws(BitNetError) -> TwoBaseTiming? {
        let plain = try Executor(model: model, tier: tier, threads: 1, fuseBases: false)
        let fused = try Executor(model: model, tier: tier, threads: 1)
        guard !fused.elidedNodes.isEmpty else { return nil }
        let w = model.input.width, h = model.input.height, c = model.input.channels
        let image = (0..<(w * h * c)).map { k -> UInt8 in
            let x = (k / c) % w, y = k / c / w
            return (x / 24 + y / 10) % 3 == 0 && (x % 6 < 2 || y % 10 < 2) ? 35 : UInt8(150 + (x * 7 + y * 13) % 31)
        }
        return image.withUnsafeBufferPointer { img -> TwoBaseTiming in
            let p = img.baseAddress!
            plain.run(image: p)
            fused.run(image: p)
            // A batch long enough for the thread clock: `seconds` of unfused runs.
            let t0 = threadCPUTime()
            plain.run(image: p)
            let batch = max(1, Int(seconds / max(threadCPUTime() - t0, 1e-6)))
            func time(_ e: Executor) -> Double {
                let start = threadCPUTime()
                for _ in 0..<batch { e.run(image: p) }
                return (threadCPUTime() - start) / Double(batch)
            }
            var a: [Double] = [], b: [Double] = []
            for r in 0..<max(1, repetitions) {
                // Alternate which goes first, so neither always follows the other.
                if r % 2 == 0 { a.append(time(plain)); b.append(time(fused)) } else { b.append(time(fused)); a.append(time(plain)) }
            }
            return TwoBaseTiming(pairs: fused.elidedNodes.count, unfused: median(a), fused: median(b),
                                 unfusedArenaBytes: plain.arenaBytes, fusedArenaBytes: fused.arenaBytes)
        }
    }
}
