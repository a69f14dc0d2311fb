import Foundation
import VideoIO

/// A bounded queue of frames between the decoding thread and the inference thread.
///
/// For a live input it keeps only the newest frames (`dropOldest`): when inference falls behind, the
/// oldest waiting frame is dropped, so latency never builds up. For a file it makes the decoder wait.
public final class FrameQueue: @unchecked Sendable {
    public let capacity: Int
    public let dropOldest: Bool
    private let condition = NSCondition()
    private var frames: [LumaFrame] = []
    private var ended = false
    private var failure: (any Error)?
    private var closed = false
    private var droppedCount = 0

    public init(capacity: Int, dropOldest: Bool) {
        precondition(capacity >= 1)
        self.capacity = capacity
        self.dropOldest = dropOldest
    }

    /// Frames dropped because the consumer fell behind (live mode only).
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// Adds a frame; waits for room unless dropping. Returns false once the consumer has closed the queue.
    @discardableResult
    public func put(_ frame: LumaFrame) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && !dropOldest && frames.count >= capacity { condition.wait() }
        if closed { return false }
        if frames.count >= capacity {
            frames.removeFirst()
            droppedCount += 1
        }
        frames.append(frame)
        condition.broadcast()
        return true
    }

    /// The producer is done (with the error that stopped it, if any).
    public func finish(_ error: (any Error)? = nil) {
        condition.lock()
        ended = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next frame, waiting for one; nil at the end. Rethrows the producer's error after the frames before it.
    public func take() throws -> LumaFrame? {
        condition.lock()
        defer { condition.unlock() }
        while frames.isEmpty && !ended && !closed { condition.wait() }
        if !frames.isEmpty {
            let f = frames.removeFirst()
            condition.broadcast()
            return f
        }
        if let failure { throw failure }
        return nil
    }

    /// The consumer stops: the producer's next `put` returns false.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// What to do when a live input is lost (a read error, a stall, or the stream ending): open it again
/// up to `attempts` times, waiting `initialDelay` seconds and doubling the wait after each failed try
/// (at most `maxDelay`). The count starts again after every frame that arrives.
public struct ReconnectPolicy: Sendable, Equatable {
    public var attempts: Int
    public var initialDelay: Double
    public var maxDelay: Double

    public init(attempts: Int, initialDelay: Double = 1, maxDelay: Double = 30) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// No reconnection: a lost input ends the run.
    public static let never = ReconnectPolicy(attempts: 0)

    /// The wait before try `n` (1-based).
    public func delay(beforeAttempt n: Int) -> Double {
        min(maxDelay, initialDelay * pow(2, Double(max(0, n - 1))))
    }
}

/// Decodes on a thread of its own and hands frames over through a ``FrameQueue``.
///
/// With a ``ReconnectPolicy`` and a way to open the input again, a lost live input is reopened with
/// back-off; frames after a reconnection carry times and indices that continue the earlier ones (the
/// outage's wall time included), so tracks and subtitles stay in order.
public final class FramePump: @unchecked Sendable {
    public let queue: FrameQueue
    private let reopen: (() throws -> VideoSource)?
    private let policy: ReconnectPolicy
    private let onEvent: @Sendable (String) -> Void
    private let done = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var source: VideoSource
    private var earlierCounters = SamplingCounters()
    private var cancelled = false
    private var started = false
    private var reconnectCount = 0

    /// `source` must not be used by anyone else once the pump has started. `reopen` opens the input
    /// again after a loss (used only when `policy.attempts > 0`); `onEvent` hears about losses and
    /// reconnections (one line each, from the decoding thread).
    public init(source: VideoSource, capacity: Int, dropOldest: Bool, reconnect policy: ReconnectPolicy = .never,
                reopen: (() throws -> VideoSource)? = nil, onEvent: @escaping @Sendable (String) -> Void = { _ in }) {
        self.source = source
        queue = FrameQueue(capacity: capacity, dropOldest: dropOldest)
        self.policy = policy
        self.reopen = reopen
        self.onEvent = onEvent
    }

    public func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "bitspot-decode"
        thread.start()
    }

    private func run() {
        var timeBase = 0.0, indexBase = 0
        var lastTime: Double?, lastIndex = -1
        var current = lock.withLock { source }
        while true {
            var loss: (any Error)?
            do {
                while let f = try current.next() {
                    let frame = timeBase == 0 && indexBase == 0 ? f
                        : LumaFrame(width: f.width, height: f.height, pixels: f.pixels, time: f.time + timeBase,
                                    index: f.index + indexBase, isKeyFrame: f.isKeyFrame)
                    lastTime = frame.time
                    lastIndex = frame.index
                    if !queue.put(frame) { queue.finish(); return }
                }
            } catch {
                loss = error
            }
            if isCancelled || policy.attempts == 0 || reopen == nil { queue.finish(loss); return }
            // The input was lost (an error, a stall, or a live stream that ended): open it again.
            let lostAt = Date()
            onEvent("input lost after frame \(max(0, lastIndex)) (\(loss.map { "\($0)" } ?? "the stream ended"))")
            var reopened: VideoSource?
            var lastError = loss
            for attempt in 1...policy.attempts {
                let wait = policy.delay(beforeAttempt: attempt)
                onEvent(String(format: "reconnecting in %.1f s (try %d of %d)", wait, attempt, policy.attempts))
                _ = wake.wait(timeout: .now() + wait)
                if isCancelled { break }
                do {
                    reopened = try reopen!()
                    break
                } catch {
                    lastError = error
                    onEvent("try \(attempt) failed: \(error)")
                }
            }
            guard let next = reopened, !isCancelled else { queue.finish(isCancelled ? nil : lastError); return }
            lock.withLock {
                earlierCounters = earlierCounters.adding(current.counters)
                source = next
                reconnectCount += 1
            }
            current = next
            // Continue the clock across the outage; indices go on from the last frame.
            timeBase = (lastTime ?? 0) + Date().timeIntervalSince(lostAt)
            indexBase = lastIndex + 1
            onEvent(String(format: "reconnected after %.1f s", Date().timeIntervalSince(lostAt)))
        }
    }

    private var isCancelled: Bool { lock.withLock { cancelled } }

    public func next() throws -> LumaFrame? { try queue.take() }

    /// Ends the run from any thread (a signal handler's queue): a blocked read returns, a back-off wait
    /// ends, and ``next()`` gives the frames already waiting, then nil.
    public func cancel() {
        let current = lock.withLock { () -> VideoSource in
            cancelled = true
            return source
        }
        current.cancel()
        wake.signal()
        queue.finish()
    }

    /// Stops decoding and waits for the decoding thread to end; the source's counters are final after this.
    public func stop() {
        queue.close()
        lock.withLock { source }.cancel()
        wake.signal()
        if started { done.wait(); started = false }
    }

    /// How many times the input was opened again after a loss.
    public var reconnections: Int { lock.withLock { reconnectCount } }

    /// The sources' counters, summed over reconnections (read them after ``stop()``).
    public var counters: SamplingCounters { lock.withLock { earlierCounters.adding(source.counters) } }
}

extension SamplingCounters {
    func adding(_ o: SamplingCounters) -> SamplingCounters {
        var c = self
        c.packetsRead += o.packetsRead
        c.skippedUndecoded += o.skippedUndecoded
        c.skippedBeforeKeyFrame += o.skippedBeforeKeyFrame
        c.packetsDecoded += o.packetsDecoded
        c.decoded += o.decoded
        c.skippedNonReference += o.skippedNonReference
        c.droppedBySampling += o.droppedBySampling
        c.droppedByGate += o.droppedByGate
        c.delivered += o.delivered
        c.decodeErrors += o.decodeErrors
        c.timestampJumps += o.timestampJumps
        c.bidirectionalChecks += o.bidirectionalChecks
        c.bidirectionalPassed += o.bidirectionalPassed
        if o.bidirectionalFrom > 0 && c.bidirectionalFrom == 0 { c.bidirectionalFrom = o.bidirectionalFrom }
        c.bidirectionalFailure = o.bidirectionalFailure ?? c.bidirectionalFailure
        return c
    }
}
