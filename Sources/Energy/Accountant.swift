/// Measures every stage of every frame: wall time, the calling thread's CPU time, and the meter's
/// energy around it; the model's energy follows from the board profile.
///
/// A stage is a name and a closure measured around:
/// ```swift
/// let acct = Accountant(stages: ["decode", "gate", "detect"], meter: nil, profile: .pi4b)
/// try acct.start()
/// let decode = acct.stage("decode")
/// while let frame = acct.measure(decode, { try? video.next() }) ?? nil {
///     ...
///     acct.endFrame(index: frame.index, time: frame.time, processed: true)
/// }
/// let account = try acct.finish()
/// ```
/// Stages that run on worker threads should add those threads' CPU time with ``addCPU(_:seconds:)``,
/// since the per-thread clock only sees the calling thread.
public final class Accountant {
    /// A stage's position, looked up once by name.
    public struct StageID: Sendable, Hashable { public let index: Int }

    /// One stage in one frame.
    public struct StageSample: Sendable {
        public var ran = false
        public var wall = 0.0
        public var cpu = 0.0
        /// Joules read live from the meter (NaN when the meter only knows afterwards, or there is none).
        public var measured = Double.nan
        public var start = 0.0
        public var end = 0.0
    }

    /// One frame: a pass through the stages (decode produced it; later stages may have been skipped).
    public struct FrameRecord: Sendable {
        public var index: Int
        /// Presentation time in the video (seconds).
        public var time: Double
        /// Whether the frame went past the gate into the later stages.
        public var processed: Bool
        public var stages: [StageSample]
        /// Start of the first stage (monotonic seconds).
        public var start: Double
        public var end: Double

        /// Wall seconds of the stages that ran.
        public var latency: Double { stages.reduce(0) { $0 + ($1.ran ? $1.wall : 0) } }
        public var cpu: Double { stages.reduce(0) { $0 + $1.cpu } }
    }

    public let stageNames: [String]
    public let meter: EnergyMeter?
    public let profile: BoardProfile
    public private(set) var frames: [FrameRecord] = []
    /// Per-stage counters (early exits and the like), by stage then name.
    public private(set) var counters: [[String: Int]]
    /// Op counts of network stages, for the op-count energy column.
    public private(set) var ops: [OpCounts?]
    private var current: [StageSample]
    private var meterFailure: EnergyError?
    private var runStart = 0.0
    private var runStartCPU = 0.0
    /// The live meter's reading when the run started (NaN for meters known afterwards).
    private var runStartReading = Double.nan
    private var started = false
    /// The meter's last reading and when it was taken: the start of a stage that follows another within
    /// ``reuseWindow`` seconds reuses it instead of reading again (the short gap goes to the new stage).
    private var lastRead = (time: -Double.infinity, value: Double.nan)
    public var reuseWindow = 0.001

    public init(stages: [String], meter: EnergyMeter?, profile: BoardProfile) {
        stageNames = stages
        self.meter = meter
        self.profile = profile
        current = Array(repeating: StageSample(), count: stages.count)
        counters = Array(repeating: [:], count: stages.count)
        ops = Array(repeating: nil, count: stages.count)
        frames.reserveCapacity(4096)
    }

    public func stage(_ name: String) -> StageID {
        guard let i = stageNames.firstIndex(of: name) else { preconditionFailure("no stage named \(name)") }
        return StageID(index: i)
    }

    public var provenance: Provenance { meter == nil ? .modelled : .measured }

    public func start() throws {
        try meter?.start()
        runStart = Clocks.monotonic()
        runStartCPU = Clocks.processCPU()
        if let meter { runStartReading = try meter.read(at: runStart) ?? .nan }
        started = true
    }

    @inline(__always)
    private func readMeter(_ t: Double) -> Double {
        guard let meter, meterFailure == nil else { return .nan }
        do { return try meter.read(at: t) ?? .nan } catch {
            meterFailure = (error as? EnergyError) ?? EnergyError(.invalidReading, meter.name, "\(error)")
            return .nan
        }
    }

    /// Runs `body` as one stage of the current frame, measured around.
    @inline(__always)
    public func measure<T>(_ stage: StageID, _ body: () throws -> T) rethrows -> T {
        let a = ClockMark.now()
        let ea = a.wall - lastRead.time < reuseWindow ? lastRead.value : readMeter(a.wall)
        defer {
            let b = ClockMark.now()
            let eb = readMeter(b.wall)
            lastRead = (b.wall, eb)
            var s = current[stage.index]
            if !s.ran { s.start = a.wall }
            s.ran = true
            s.wall += b.wall - a.wall
            s.cpu += b.threadCPU - a.threadCPU
            s.measured = s.measured.isNaN ? eb - ea : s.measured + (eb - ea)
            s.end = b.wall
            current[stage.index] = s
        }
        return try body()
    }

    /// Adds CPU time a stage's worker threads used in the current frame.
    public func addCPU(_ stage: StageID, seconds: Double) { current[stage.index].cpu += seconds }

    /// Counts an event of a stage (e.g. `exit:1` for an early exit at the first head).
    public func count(_ stage: StageID, _ name: String, by n: Int = 1) { counters[stage.index][name, default: 0] += n }

    /// Adds a network stage's op counts.
    public func addOps(_ stage: StageID, _ counts: OpCounts) { ops[stage.index] = (ops[stage.index] ?? OpCounts()) + counts }

    /// Closes the current frame.
    @discardableResult
    public func endFrame(index: Int, time: Double, processed: Bool) -> FrameRecord {
        let ran = current.filter(\.ran)
        let record = FrameRecord(index: index, time: time, processed: processed, stages: current,
                                 start: ran.map(\.start).min() ?? 0, end: ran.map(\.end).max() ?? 0)
        frames.append(record)
        for i in current.indices { current[i] = StageSample() }
        return record
    }

    /// Drops what was measured since the last frame (e.g. the decode call that found the end of the stream);
    /// its time still counts in the run's totals.
    public func discardFrame() {
        for i in current.indices { current[i] = StageSample() }
    }

    /// Modelled joules of one stage sample.
    @inline(__always)
    public func modelled(_ s: StageSample) -> Double { s.ran ? profile.joules(wall: s.wall, cpu: s.cpu) : 0 }

    /// Modelled joules of a frame.
    public func modelled(_ f: FrameRecord) -> Double { f.stages.reduce(0) { $0 + modelled($1) } }

    /// Live-measured joules of a frame, when the meter is read live.
    public func measuredLive(_ f: FrameRecord) -> Double? {
        guard meter != nil else { return nil }
        let e = f.stages.reduce(0) { $0 + ($1.ran ? $1.measured : 0) }
        return e.isNaN ? nil : e
    }

    /// Stops the meter and sums everything up.
    public func finish() throws -> Account {
        precondition(started, "Accountant.finish() before start()")
        let end = Clocks.monotonic()
        let endCPU = Clocks.processCPU()
        let liveTotal = readMeter(end)
        try meter?.stop()
        if let meterFailure { throw meterFailure }
        // Meters known only afterwards: fill in each stage's energy from the integrated series.
        if let meter, liveTotal.isNaN {
            for f in frames.indices {
                for s in frames[f].stages.indices where frames[f].stages[s].ran {
                    let st = frames[f].stages[s]
                    // A stage sample may span several calls; attribute the integrated power over its wall share.
                    if let a = meter.cumulative(at: st.start), let b = meter.cumulative(at: st.end) {
                        let span = st.end - st.start
                        frames[f].stages[s].measured = span > 0 ? (b - a) * min(1, st.wall / span) : 0
                    }
                }
            }
        }
        // From the run's start, not the meter's (starting a meter may take a while: the PMIC's first sample).
        var measuredRun: Double? = nil
        if let meter {
            if !liveTotal.isNaN {
                measuredRun = liveTotal - runStartReading
            } else if let a = meter.cumulative(at: runStart), let b = meter.cumulative(at: end) {
                measuredRun = b - a
            }
        }
        return Account(accountant: self, wall: end - runStart, processCPU: endCPU - runStartCPU, measuredRunJoules: measuredRun)
    }
}
