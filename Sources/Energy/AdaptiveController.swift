/// The knobs the controller moves.
public struct Knobs: Sendable, Codable, Equatable {
    /// Process one frame in `stride` of those decoding hands on (1: all).
    public var stride: Int
    /// Change-gate threshold, grey levels (0: off).
    public var gateThreshold: Double
    /// Early-exit thresholds, one per exit head: a frame leaves at a head whose "nothing here"
    /// confidence reaches its threshold, so lower means more exits and less work. Empty when the
    /// pipeline has no early-exit stage.
    public var exitThresholds: [Double]

    public init(stride: Int = 1, gateThreshold: Double = 0, exitThresholds: [Double] = []) {
        self.stride = stride
        self.gateThreshold = gateThreshold
        self.exitThresholds = exitThresholds
    }
}

/// How far each knob may move, and its step.
public struct KnobBounds: Sendable, Codable, Equatable {
    public var maxStride = 8
    public var gateRange: ClosedRange<Double> = 0...24
    public var gateStep = 2.0
    public var exitRange: ClosedRange<Double> = 0.5...0.99
    public var exitStep = 0.05

    public init() {}
}

/// One observed frame.
public struct FrameObservation: Sendable {
    public var index: Int
    public var time: Double
    public var processed: Bool
    /// Wall seconds of the frame's stages.
    public var latency: Double
    /// Joules of the frame (the column the controller steers by).
    public var joules: Double
    /// The part of ``joules`` that dropping the frame at the gate saves (the stages after the gate).
    /// Decoding is spent whatever the gate decides.
    public var droppableJoules: Double

    public init(index: Int, time: Double, processed: Bool, latency: Double, joules: Double, droppableJoules: Double? = nil) {
        self.index = index
        self.time = time
        self.processed = processed
        self.latency = latency
        self.joules = joules
        self.droppableJoules = droppableJoules ?? joules
    }
}

/// One change of the knobs.
public struct ControllerDecision: Sendable, Codable, Equatable {
    public var frame: Int
    public var time: Double
    /// `tighten`, `relax`, or `stuck` (over budget and no knob can help; said once per item).
    public var action: String
    /// The knob moved: `stride`, `gate`, `exit`.
    public var knob: String
    /// The budget item that drove it, with its pressure (observed / limit) over the window.
    public var item: String
    public var pressure: Double
    public var knobs: Knobs
}

public struct ControllerReport: Codable, Sendable {
    public var window: Int
    public var tightenAbove: Double
    public var relaxBelow: Double
    public var initial: Knobs
    public var final: Knobs
    public var decisions: [ControllerDecision]
}

/// A feedback controller that keeps a run within its budget while processing as many frames as it can.
///
/// Every `window` frames it computes, over the last window, each budget item's pressure
/// (observed / limit: p95 latency of processed frames, energy per frame, energy per processed frame,
/// and for `total` the projected run energy when the number of frames is known).
/// - Pressure above `tightenAbove` (1.0): tighten one step of the cheapest knob that can help that
///   item: first the early-exit thresholds (they cut work inside frames that hold nothing), then the
///   gate threshold (drops frames that did not change), then the stride (drops frames blindly).
///   Latency and energy per processed frame only respond to early exits.
/// - Every pressure below `relaxBelow` (0.8) for `relaxAfter` (2) windows in a row: relax one step, in
///   the opposite order (stride first). Relaxing is slower than tightening, so a quiet stretch of
///   video does not undo what a busy one needed.
/// - Between the two: hold (the hysteresis band). After any change the window restarts, so each
///   decision sees only frames processed under the current knobs.
/// A relax that is followed by a tighten of the same knob doubles the wait before that knob is
/// relaxed again (up to 8 windows), so the controller settles instead of oscillating at a boundary.
/// Gate and stride only save the work after the gate (decoding is spent anyway): they are moved only
/// when dropping all of that work would bring the item within budget (pressure x (1 - droppable share)
/// <= `tightenAbove`, and the share is at least ``minDroppableShare``). Otherwise the item is reported
/// once as `stuck`, rather than dropping useful frames without meeting the budget.
public final class AdaptiveController {
    public let budget: Budget
    public let bounds: KnobBounds
    public let window: Int
    public let tightenAbove: Double
    public let relaxBelow: Double
    /// Frames the run is expected to have (for the `total` item), if known.
    public var expectedFrames: Int?
    public private(set) var knobs: Knobs
    public let initial: Knobs
    public private(set) var decisions: [ControllerDecision] = []
    private var recent: [FrameObservation] = []
    private var totalJoules = 0.0
    private var seen = 0
    private var relaxHold: [String: Int] = [:]
    private var holdUntil: [String: Int] = [:]
    private var lastRelaxed: String?
    private var stuckItems: Set<String> = []
    private var calmWindows = 0
    /// Consecutive windows under `relaxBelow` before a relax (relaxing is slower than tightening).
    public var relaxAfter = 2
    /// Below this share of a window's energy spent after the gate, gate and stride are not moved.
    public var minDroppableShare = 0.02

    public init(budget: Budget, initial: Knobs, bounds: KnobBounds = KnobBounds(), window: Int = 30,
                tightenAbove: Double = 1.0, relaxBelow: Double = 0.8, expectedFrames: Int? = nil) {
        self.budget = budget
        self.bounds = bounds
        self.window = max(4, window)
        self.tightenAbove = tightenAbove
        self.relaxBelow = relaxBelow
        self.initial = initial
        self.knobs = initial
        self.expectedFrames = expectedFrames
    }

    /// Sets the knobs directly (e.g. to resume from a previous run's final knobs); bounds are not checked.
    public func setKnobs(_ k: Knobs) { knobs = k }

    /// Takes one frame; returns the new knobs when they change.
    public func observe(_ f: FrameObservation) -> Knobs? {
        recent.append(f)
        totalJoules += f.joules
        seen += 1
        guard recent.count >= window else { return nil }
        defer { recent.removeAll(keepingCapacity: true) }
        let pressures = pressures()
        guard let worst = pressures.max(by: { $0.pressure < $1.pressure }) else { return nil }
        if worst.pressure >= relaxBelow { calmWindows = 0 }
        if worst.pressure > tightenAbove {
            // Dropping frames only saves the work after the gate: no use when that work is negligible.
            let windowJoules = recent.reduce(0) { $0 + $1.joules }
            let droppable = windowJoules > 0 ? recent.reduce(0) { $0 + $1.droppableJoules } / windowJoules : 0
            if let knob = tighten(for: worst.kind, droppableShare: droppable, pressure: worst.pressure) {
                if knob == lastRelaxed { relaxHold[knob] = min(8, (relaxHold[knob] ?? 1) * 2) }
                lastRelaxed = nil
                decisions.append(ControllerDecision(frame: f.index, time: f.time, action: "tighten", knob: knob,
                                                    item: worst.item, pressure: worst.pressure, knobs: knobs))
                return knobs
            }
            if !stuckItems.contains(worst.item) {
                stuckItems.insert(worst.item)
                decisions.append(ControllerDecision(frame: f.index, time: f.time, action: "stuck", knob: "none",
                                                    item: worst.item, pressure: worst.pressure, knobs: knobs))
            }
        } else if worst.pressure < relaxBelow {
            calmWindows += 1
            if calmWindows >= relaxAfter, let knob = relax(frame: seen) {
                calmWindows = 0
                lastRelaxed = knob
                decisions.append(ControllerDecision(frame: f.index, time: f.time, action: "relax", knob: knob,
                                                    item: worst.item, pressure: worst.pressure, knobs: knobs))
                return knobs
            }
        }
        return nil
    }

    public var report: ControllerReport {
        ControllerReport(window: window, tightenAbove: tightenAbove, relaxBelow: relaxBelow, initial: initial, final: knobs, decisions: decisions)
    }

    struct Pressure { var item: String; var kind: Budget.Kind; var pressure: Double }

    func pressures() -> [Pressure] {
        var out: [Pressure] = []
        let processed = recent.filter(\.processed)
        let windowJoules = recent.reduce(0) { $0 + $1.joules }
        for item in budget.items {
            var observed: Double?
            switch item.kind {
            case .latency:
                if !processed.isEmpty { observed = Percentiles(processed.map(\.latency)).value(item.key) }
            case .energyPerFrame:
                observed = windowJoules / Double(recent.count)
            case .energyPerProcessedFrame:
                if !processed.isEmpty { observed = processed.reduce(0) { $0 + $1.joules } / Double(processed.count) }
            case .total:
                if let expected = expectedFrames, expected > seen {
                    observed = totalJoules + windowJoules / Double(recent.count) * Double(expected - seen)
                }
            }
            if let observed { out.append(Pressure(item: item.description, kind: item.kind, pressure: observed / item.limit)) }
        }
        return out
    }

    /// Moves the first knob that can still tighten and helps this kind of item; returns its name.
    func tighten(for kind: Budget.Kind, droppableShare: Double = 1, pressure: Double = 0) -> String? {
        if !knobs.exitThresholds.isEmpty, knobs.exitThresholds.contains(where: { $0 > bounds.exitRange.lowerBound }) {
            knobs.exitThresholds = knobs.exitThresholds.map { max(bounds.exitRange.lowerBound, $0 - bounds.exitStep) }
            return "exit"
        }
        // Gate and stride can at best remove the droppable share; if even that leaves the item over budget,
        // dropping frames would cost useful frames without meeting it.
        guard kind == .energyPerFrame || kind == .total, droppableShare >= minDroppableShare,
              pressure * (1 - droppableShare) <= tightenAbove else { return nil }
        if knobs.gateThreshold < bounds.gateRange.upperBound {
            knobs.gateThreshold = min(bounds.gateRange.upperBound, knobs.gateThreshold + bounds.gateStep)
            return "gate"
        }
        if knobs.stride < bounds.maxStride {
            knobs.stride += 1
            return "stride"
        }
        return nil
    }

    /// Relaxes the first knob (stride, gate, exits) that is tighter than where it started and not on hold.
    func relax(frame: Int) -> String? {
        func allowed(_ knob: String) -> Bool { frame >= (holdUntil[knob] ?? 0) }
        func hold(_ knob: String) { holdUntil[knob] = frame + window * (relaxHold[knob] ?? 1) }
        if knobs.stride > initial.stride, allowed("stride") {
            knobs.stride -= 1; hold("stride"); return "stride"
        }
        if knobs.gateThreshold > initial.gateThreshold, allowed("gate") {
            knobs.gateThreshold = max(initial.gateThreshold, knobs.gateThreshold - bounds.gateStep); hold("gate"); return "gate"
        }
        if zip(knobs.exitThresholds, initial.exitThresholds).contains(where: { $0 < $1 }), allowed("exit") {
            knobs.exitThresholds = zip(knobs.exitThresholds, initial.exitThresholds).map { min($1, $0 + bounds.exitStep) }
            hold("exit"); return "exit"
        }
        return nil
    }
}
