import Foundation

/// Everything a run measured, as written to JSON (schema: docs/energy-report.schema.json).
/// Times are seconds or milliseconds as the key says; energies are joules or millijoules as the key says.
public struct EnergyReport: Codable, Sendable {
    public static let schemaID = "bitspot-energy-report/1"

    public struct Meter: Codable, Sendable {
        public var name: String
        /// `measured` when a sensor was read, `modelled` otherwise.
        public var provenance: Provenance
        public var detail: String
        public var caveats: [String]
        /// How `auto` chose (meters tried and why they failed).
        public var notes: [String]
    }

    /// An energy figure in each column that exists.
    public struct Energy: Codable, Sendable, Equatable {
        public var modelled: Double
        public var measured: Double?

        /// The figure a budget is checked against: measured when there is one.
        public var primary: Double { measured ?? modelled }
    }

    public struct Run: Codable, Sendable {
        public var wallSeconds: Double
        public var processCPUSeconds: Double
        /// Frames handed on by decoding (after sampling).
        public var frames: Int
        /// Frames that went past the gate (and the controller's stride) into the later stages.
        public var processedFrames: Int
        public var joules: Energy
        public var wattHours: Energy
        public var millijoulesPerFrame: Energy
        public var millijoulesPerProcessedFrame: Energy?
        /// Frame latency (all stages of a frame) over all frames, milliseconds.
        public var frameLatencyMs: Percentiles
        /// The same over processed frames only: what budgets check.
        public var processedLatencyMs: Percentiles
        /// Run energy not inside any stage (loop overhead, the final end-of-stream read, other threads).
        public var unattributedJoules: Energy
    }

    public struct Stage: Codable, Sendable {
        public var name: String
        public var calls: Int
        public var latencyMs: Percentiles
        public var cpuSeconds: Double
        public var joules: Energy
        public var millijoulesPerFrame: Energy
        public var millijoulesPerProcessedFrame: Energy?
        /// Events the stage counted (e.g. `exit:1` early exits), empty when it counts none.
        public var counters: [String: Int]
        /// Op-count energy of a network stage (Horowitz 45 nm), joules; nil for stages that are not networks.
        public var opCountJoules: Double?
    }

    /// One frame, for the charts.
    public struct Frame: Codable, Sendable {
        public var index: Int
        public var time: Double
        public var processed: Bool
        public var latencyMs: Double
        /// Millijoules per stage (in ``stages`` order), primary column.
        public var stageMillijoules: [Double]
    }

    public var schema = EnergyReport.schemaID
    public var tool: String
    public var input: String
    public var createdAt: String
    public var board: BoardProfile
    public var meter: Meter
    public var run: Run
    public var stages: [Stage]
    public var frames: [Frame]
    /// Extra counts from the pipeline (e.g. the video's sampling counters).
    public var pipelineCounters: [String: Int]
    public var opEnergyTable: OpEnergyTable
    public var budget: BudgetReport?
    public var controller: ControllerReport?
    public var notes: [String]

    /// JSON with sorted keys.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try e.encode(self)
    }
}

/// Sums of an accountant's run.
public struct Account {
    public let accountant: Accountant
    public let wall: Double
    public let processCPU: Double
    public let measuredRunJoules: Double?

    /// Builds the report (without budget and controller sections).
    public func report(tool: String, input: String, meterNotes: [String] = [], pipelineCounters: [String: Int] = [:]) -> EnergyReport {
        let a = accountant
        let frames = a.frames
        let n = frames.count
        let processed = frames.filter(\.processed).count
        let measured = a.meter != nil
        func energy(_ modelled: Double, _ measuredValue: Double?) -> EnergyReport.Energy {
            EnergyReport.Energy(modelled: modelled, measured: measured ? measuredValue : nil)
        }
        func per(_ e: EnergyReport.Energy, _ count: Int) -> EnergyReport.Energy {
            let k = count > 0 ? 1000 / Double(count) : 0
            return EnergyReport.Energy(modelled: e.modelled * k, measured: e.measured.map { $0 * k })
        }
        var stages: [EnergyReport.Stage] = []
        var stageModelSum = 0.0, stageMeasuredSum = 0.0
        for (i, name) in a.stageNames.enumerated() {
            let samples = frames.map { $0.stages[i] }.filter(\.ran)
            let model = samples.reduce(0) { $0 + a.modelled($1) }
            let meas = samples.reduce(0) { $0 + ($1.measured.isNaN ? 0 : $1.measured) }
            stageModelSum += model
            stageMeasuredSum += meas
            let e = energy(model, meas)
            stages.append(EnergyReport.Stage(
                name: name, calls: samples.count, latencyMs: Percentiles(samples.map(\.wall)).scaled(1000),
                cpuSeconds: samples.reduce(0) { $0 + $1.cpu }, joules: e, millijoulesPerFrame: per(e, n),
                millijoulesPerProcessedFrame: processed > 0 ? per(e, processed) : nil,
                counters: a.counters[i], opCountJoules: a.ops[i].map { $0.joules() }))
        }
        let runModel = a.profile.joules(wall: wall, cpu: processCPU)
        let runEnergy = energy(runModel, measuredRunJoules)
        let frameRows = frames.map { f in
            EnergyReport.Frame(index: f.index, time: f.time, processed: f.processed, latencyMs: f.latency * 1000,
                               stageMillijoules: f.stages.map { s in
                                   guard s.ran else { return 0 }
                                   return 1000 * (measured && !s.measured.isNaN ? s.measured : a.modelled(s))
                               })
        }
        let run = EnergyReport.Run(
            wallSeconds: wall, processCPUSeconds: processCPU, frames: n, processedFrames: processed,
            joules: runEnergy, wattHours: EnergyReport.Energy(modelled: runModel / 3600, measured: measuredRunJoules.map { $0 / 3600 }),
            millijoulesPerFrame: per(runEnergy, n), millijoulesPerProcessedFrame: processed > 0 ? per(runEnergy, processed) : nil,
            frameLatencyMs: Percentiles(frames.map(\.latency)).scaled(1000),
            processedLatencyMs: Percentiles(frames.filter(\.processed).map(\.latency)).scaled(1000),
            unattributedJoules: energy(runModel - stageModelSum, measuredRunJoules.map { $0 - stageMeasuredSum }))
        var notes = [
            "modelled = \(a.profile.name) idle \(a.profile.idleWatts) W x wall time + (\(a.profile.fullLoadWatts) - \(a.profile.idleWatts)) W / \(a.profile.cores) cores x CPU time (per-thread clock per stage; process CPU clock for the run)",
        ]
        if !a.profile.figuresMeasured { notes.append("the \(a.profile.name) profile holds assumed figures: \(a.profile.source)") }
        let meter = EnergyReport.Meter(
            name: a.meter?.name ?? "model:\(a.profile.name)", provenance: a.provenance,
            detail: a.meter?.detail ?? "no sensor read; every energy figure is modelled",
            caveats: a.meter?.caveats ?? [], notes: meterNotes)
        let stamp = ISO8601DateFormatter().string(from: Date())
        if measured { notes.append("measured figures come from \(meter.name); the modelled column is kept beside them for comparison") }
        return EnergyReport(tool: tool, input: input, createdAt: stamp, board: a.profile, meter: meter, run: run, stages: stages,
                            frames: frameRows, pipelineCounters: pipelineCounters, opEnergyTable: .horowitz45nm,
                            budget: nil, controller: nil, notes: notes)
    }
}

/// Writes files whole or not at all (temporary file + rename).
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw EnergyError(.outputFailed, path, "cannot write (\(error.localizedDescription))")
        }
    }
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}
