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

/// Decodes on a thread of its own and hands frames over through a ``FrameQueue``.
public final class FramePump: @unchecked Sendable {
    public let queue: FrameQueue
    private let source: VideoSource
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    /// `source` must not be used by anyone else once the pump has started.
    public init(source: VideoSource, capacity: Int, dropOldest: Bool) {
        self.source = source
        queue = FrameQueue(capacity: capacity, dropOldest: dropOldest)
    }

    public func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            do {
                while let frame = try source.next() {
                    if !queue.put(frame) { break }
                }
                queue.finish()
            } catch {
                queue.finish(error)
            }
            done.signal()
        }
        thread.name = "bitspot-decode"
        thread.start()
    }

    public func next() throws -> LumaFrame? { try queue.take() }

    /// Stops decoding and waits for the decoding thread to end; the source's counters are final after this.
    public func stop() {
        queue.close()
        if started { done.wait(); started = false }
    }

    /// The source's counters (read them after ``stop()``).
    public var counters: SamplingCounters { source.counters }
}
