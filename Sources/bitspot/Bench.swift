import ArgumentParser
import BitKernels
import BitNet
import Foundation

/// `bitspot bench`: benchmarks. `kernels` times the binary convolution kernels.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (kernels: binary convolutions against the popcount roofline and onnxruntime).",
        subcommands: [BenchKernels.self, BenchPipeline.self],
        defaultSubcommand: BenchPipeline.self
    )
}

/// `bitspot bench kernels`: every layer shape of the models in Models/ plus the standard set.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time whole binary conv layers; print % of the popcount roofline and the speed-up over onnxruntime float32.",
        discussion: """
            A layer is timed from packed input to packed output (popcounts, thresholds and output packing \
            included). The roofline is a register-resident xor+popcount loop compiled like the kernel tier, \
            measured in the same run. Every figure is the median of --repetitions runs. With --onnx, the same \
            convolution in float32 runs in onnxruntime (one thread) through Scripts/bench/onnx_conv.py.
            """
    )

    @Option(help: "Worker threads for the kernels (1 is always measured too).")
    var threads: Int = 1

    @Option(help: "Force a kernel tier (reference, generic, x86-avx2, arm64-neon); default: the best available.")
    var tier: String?

    @Option(help: "Repetitions per figure (the median is reported).")
    var repetitions: Int = 7

    @Option(help: "Folder whose *.bitnet model files contribute their layer shapes.")
    var models: String = "Models"

    @Flag(help: "Also time the same convolutions in onnxruntime float32 (one thread) and print the speed-up.")
    var onnx = false

    @Option(help: "Python with onnxruntime for --onnx.")
    var python: String = ".venv-bench/bin/python"

    @Option(help: "The onnxruntime script for --onnx.")
    var onnxScript: String = "Scripts/bench/onnx_conv.py"

    @Flag(help: "Only the standard shapes, not those of Models/.")
    var standardOnly = false

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @Flag(help: "Also time the first layer (3x3 conv of 8-bit luma to packed bits), scalar and vectorised.")
    var firstLayer = false

    @Flag(help: "Also time the real 1x1 convolutions (shortcut projections and heads) at the detector's and recognizer's shapes: scalar reference and eight-lane kernel.")
    var oneByOne = false

    @Flag(help: "Also time the real-valued path (conv with scale/bias, shortcut add, shifted PReLU, float output, fused sign-pack for the next conv).")
    var realPath = false

    @Flag(help: "Also time whole runs of the --models files that have two-base blocks (one thread): each block's two convolutions as separate layers against the fused kernel (one pass over the weights for both bases), alternately in this run.")
    var twoBase = false

    /// One timing row: a JSON line (with the clock it was measured on) under --json, else the text.
    private func printRow(_ fields: [String: Any], _ text: String) {
        guard json else { print(text); return }
        var obj = fields
        obj["clock_1t"] = "thread-cpu"
        if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    func run() throws {
        try reportingFailures {
            let forced: KernelTier? = try tier.map { name in
                guard let t = KernelTier(rawValue: name) else { throw ValidationError("unknown tier \(name)") }
                return t
            }
            let kernels = try KernelSelector.kernels(forced: forced)
            var shapes = KernelBenchmark.standardShapes
            if !standardOnly { shapes += BenchModels.layerShapes(in: models) }
            let one = WorkerPool(threads: 1)
            let many = threads > 1 ? WorkerPool(threads: threads) : nil
            let loops = KernelBenchmark.rooflines(kernels, repetitions: repetitions)
            if !json {
                let each = loops.map { "\($0.name) " + String(format: "%.1f", $0.macsPerSecond / 1e9) }.joined(separator: ", ")
                print("tier \(kernels.tier.rawValue); popcount roofline loops (register-resident, 1 thread, G binary MAC/s): "
                      + each + "; %roof uses the first, re-measured beside every layer; medians of \(repetitions) repetitions; "
                      + "1-thread times are thread CPU time (onnxruntime: process CPU time), scaling is wall-clock")
            }
            if firstLayer {
                // Standard shapes, then the shipped detector's (800 x 450 -> 16) and recognizer's (128 x 32 -> 32).
                for (h, w, c, st) in [(180, 320, 32, 2), (45, 80, 64, 1), (32, 160, 16, 1), (450, 800, 16, 2), (32, 128, 32, 2)] {
                    let (scalar, vector) = KernelBenchmark.timeFirstConv(height: h, width: w, outChannels: c, stride: st,
                                                                        kernels: kernels, repetitions: repetitions)
                    let oh = (h - 1) / st + 1, ow = (w - 1) / st + 1
                    let gmacs = Double(oh * ow * c * 9) / vector / 1e9
                    printRow(["layer": "first 3x3 s\(st) 1->\(c) @\(w)x\(h)", "scalar_seconds": scalar, "vector_seconds": vector],
                             String(format: "first layer 3x3 s%d 1->%d @%dx%d: scalar %.3f ms, vector %.3f ms (%.1f G int8 MAC/s, %.1fx)",
                                    st, c, w, h, scalar * 1e3, vector * 1e3, gmacs, scalar / vector))
                }
            }
            if oneByOne {
                // The shipped detector's projections (16->32, 32->48 at 200x113) and maps head (48->2), the
                // recognizer's projections (32->64 at 32x8, 64->128 at 32x4) and CTC head (128->37 at 32x1).
                for (h, w, ci, co) in [(113, 200, 16, 32), (113, 200, 32, 48), (113, 200, 48, 2), (8, 32, 32, 64), (4, 32, 64, 128), (1, 32, 128, 37)] {
                    let (scalar, lanes) = KernelBenchmark.timeConv1x1(height: h, width: w, inChannels: ci, outChannels: co,
                                                                      kernels: kernels, repetitions: repetitions)
                    let gmacs = Double(h * w * ci * co) / lanes / 1e9
                    printRow(["layer": "real 1x1 \(ci)->\(co) @\(w)x\(h)", "scalar_seconds": scalar, "lanes_seconds": lanes],
                             String(format: "real 1x1 %d->%d @%dx%d: scalar %.3f ms, eight lanes %.3f ms (%.2f G float MAC/s, %.1fx)",
                                    ci, co, w, h, scalar * 1e3, lanes * 1e3, gmacs, scalar / lanes))
                }
            }
            if twoBase {
                for (file, model) in BenchModels.models(in: models) {
                    guard let t = try KernelBenchmark.timeTwoBaseFusion(model, tier: kernels.tier, repetitions: repetitions) else {
                        if !json { print("two bases, \(file): no two-base block") }
                        continue
                    }
                    let s = model.input
                    printRow(["model": file, "input": "\(s.width)x\(s.height)", "two_base_blocks": t.pairs,
                              "unfused_seconds": t.unfused, "fused_seconds": t.fused, "speedup": t.speedup,
                              "unfused_arena_bytes": t.unfusedArenaBytes, "fused_arena_bytes": t.fusedArenaBytes],
                             String(format: "two bases, %@ (%dx%d, %d blocks): unfused %.3f ms, fused %.3f ms per run (%.2fx); executor memory %.2f -> %.2f MB",
                                    file, s.width, s.height, t.pairs, t.unfused * 1e3, t.fused * 1e3, t.speedup,
                                    Double(t.unfusedArenaBytes) / 1e6, Double(t.fusedArenaBytes) / 1e6))
                }
            }
            if !json {
                var header = "layer                              ms(1t)   GMAC/s  %roof"
                if many != nil { header += "   ms(\(threads)t)  \(threads)t/1t  cpu(\(threads)t)/cpu(1t)" }
                if onnx { header += "  onnx GMAC/s  speed-up" }
                print(header)
            }
            for shape in shapes {
                // onnxruntime first, in its own process, right before the same shape here.
                let onnxSeconds = onnx
                    ? try OnnxBaseline.run([shape], python: python, script: onnxScript, repetitions: repetitions)[OnnxBaseline.key(shape)]
                    : nil
                let layer = KernelBenchmark.Layer(shape, kernels: kernels)
                let m = KernelBenchmark.measure(layer, one: one, many: many, repetitions: repetitions)
                defer {
                    // Narrow layers: the same convolution on packed patches (what the executor runs), packing included.
                    if PatchPacking.applies(kernel: shape.kernel, channels: shape.inChannels) {
                        let packed = KernelBenchmark.Layer(shape, kernels: kernels, packedPatches: true)
                        let r = KernelBenchmark.measure(packed, one: one, many: nil, repetitions: repetitions)
                        let rate = Double(shape.macs) / r.seconds1
                        printRow(["layer": shape.description, "source": shape.label, "mode": "packed-patches", "seconds_1t": r.seconds1,
                                  "gmacs_1t": rate / 1e9, "roofline_fraction": r.rooflineFraction, "speedup_vs_plain": m.seconds1 / r.seconds1],
                                 ("  packed patches " + shape.description).padding(toLength: 33, withPad: " ", startingAt: 0)
                                 + String(format: "%8.3f %8.1f %5.0f%%  (%.2fx the plain layer, packing included)",
                                          r.seconds1 * 1e3, rate / 1e9, 100 * r.rooflineFraction, m.seconds1 / r.seconds1))
                    }
                    if realPath {
                        let real = KernelBenchmark.Layer(shape, kernels: kernels, mode: .realPath)
                        let r = KernelBenchmark.measure(real, one: one, many: nil, repetitions: repetitions)
                        let packSeconds = KernelBenchmark.median((0..<repetitions).map { _ in real.timePack(iterations: 20) })
                        let rate = Double(shape.macs) / r.seconds1
                        if json {
                            let obj: [String: Any] = ["layer": shape.description, "mode": "real-path", "seconds_1t": r.seconds1,
                                                      "unfused_pack_seconds": packSeconds, "gmacs_1t": rate / 1e9,
                                                      "roofline_fraction": r.rooflineFraction, "clock_1t": "thread-cpu"]
                            if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
                                print(String(decoding: data, as: UTF8.self))
                            }
                        } else {
                            print(("  real path " + shape.description).padding(toLength: 33, withPad: " ", startingAt: 0)
                                  + String(format: "%8.3f %8.1f %5.0f%%  (fused sign-pack included; an unfused one of the input: %.3f ms)",
                                           r.seconds1 * 1e3, rate / 1e9, 100 * r.rooflineFraction, packSeconds * 1e3))
                        }
                    }
                }
                let rate = Double(shape.macs) / m.seconds1
                if json {
                    var obj: [String: Any] = [
                        "layer": shape.description, "source": shape.label, "tier": kernels.tier.rawValue,
                        "macs": shape.macs, "seconds_1t": m.seconds1, "gmacs_1t": rate / 1e9,
                        "binary_gops_1t": 2 * rate / 1e9, "roofline_gmacs": m.roofline / 1e9,
                        "roofline_fraction": m.rooflineFraction, "repetitions": repetitions,
                    ]
                    if let sN = m.secondsN, let sc = m.scaling {
                        obj["threads"] = threads; obj["seconds_nt"] = sN; obj["scaling"] = sc
                        obj["cpu_overhead_nt"] = m.cpuOverhead
                    }
                    obj["clock_1t"] = "thread-cpu"
                    if let onnxSeconds { obj["onnx_seconds"] = onnxSeconds; obj["speedup_vs_onnx"] = onnxSeconds / m.seconds1 }
                    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    var line = (shape.label + " " + shape.description).padding(toLength: 33, withPad: " ", startingAt: 0)
                    line += String(format: "%8.3f %8.1f %5.0f%%", m.seconds1 * 1e3, rate / 1e9, 100 * m.rooflineFraction)
                    if let sN = m.secondsN, let sc = m.scaling {
                        line += String(format: "  %8.3f  %6.2fx  %16.2f", sN * 1e3, sc, m.cpuOverhead ?? .nan)
                    }
                    if let onnxSeconds {
                        line += String(format: "  %11.1f  %7.2fx", Double(shape.macs) / onnxSeconds / 1e9, onnxSeconds / m.seconds1)
                    }
                    print(line)
                }
            }
        }
    }
}

/// Runs Scripts/bench/onnx_conv.py for the shapes and returns median seconds per shape key.
enum OnnxBaseline {
    static func key(_ s: KernelBenchmark.ConvShape) -> [Int] {
        [s.inChannels, s.outChannels, s.height, s.width, s.kernel, s.stride]
    }

    static func run(_ shapes: [KernelBenchmark.ConvShape], python: String, script: String, repetitions: Int) throws -> [[Int]: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        var args = [script, "--repetitions", String(repetitions), "--threads", "1"]
        for s in shapes { args += ["--shape"] + key(s).map(String.init) }
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw BenchError("cannot run \(python) \(script): \(error.localizedDescription) (see Scripts/bench/requirements.txt)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("\(script) failed with status \(process.terminationStatus)") }
        var out: [[Int]: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let shape = obj["shape"] as? [Int], let seconds = obj["seconds"] as? Double else { continue }
            out[shape] = seconds
        }
        return out
    }
}

struct BenchError: ReportableError {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
    var exitCode: Int32 { 69 }
}

/// Layer shapes of the binary convolutions in Models/*.bitnet.
enum BenchModels {
    /// The valid `*.bitnet` files of `folder` (file name, model), sorted by name; others are skipped with a line.
    static func models(in folder: String) -> [(file: String, model: Model)] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".bitnet") }.sorted()
        return files.compactMap { file in
            let path = folder + "/" + file
            guard let m = try? ModelFile.load(path: path) else {
                printError("bitspot: skipping \(path): not a valid model")
                return nil
            }
            return (file, m)
        }
    }

    static func layerShapes(in folder: String) -> [KernelBenchmark.ConvShape] {
        var shapes: [KernelBenchmark.ConvShape] = []
        for (file, m) in models(in: folder) {
            for (i, n) in m.nodes.enumerated() where n.op == .binaryConv {
                let s = m.shape(n.inputs[0])
                let shape = KernelBenchmark.ConvShape(label: "\(file.dropLast(7))#\(i + 1)", height: s.height, width: s.width,
                                                      inChannels: s.channels, outChannels: n.shape.channels,
                                                      kernel: n.kernel, stride: n.stride)
                if !shapes.contains(where: { $0.description == shape.description }) { shapes.append(shape) }
            }
        }
        return shapes
    }
}
