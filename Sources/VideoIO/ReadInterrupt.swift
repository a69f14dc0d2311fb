import CFFmpeg
import Foundation

/// What FFmpeg's blocking reads ask between attempts (`AVFormatContext.interrupt_callback`): stop now,
/// because the run was cancelled (``cancel()``, from any thread), or because a live input has sent
/// nothing for longer than its stall timeout.
///
/// A read blocked on a stalled network stream or camera otherwise never returns, and a SIGTERM could not
/// end the run cleanly.
final class ReadInterrupt: @unchecked Sendable {
    enum Reason { case cancelled, stalled }

    private let lock = NSLock()
    private var cancelled = false
    private var deadline: UInt64?
    private var fired: Reason?
    /// Stall timeout in nanoseconds; nil: wait as long as the input takes.
    let timeout: UInt64?

    init(timeout: Double?) {
        self.timeout = timeout.map { UInt64(max(0, $0) * 1e9) }
    }

    /// Called before each blocking operation: the stall clock starts again.
    func arm() {
        lock.lock()
        defer { lock.unlock() }
        deadline = timeout.map { Self.now() + $0 }
    }

    /// Makes the current and every later read return at once.
    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Why the last read was interrupted, if it was.
    var reason: Reason? {
        lock.lock()
        defer { lock.unlock() }
        return fired
    }

    fileprivate func shouldStop() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if cancelled { fired = .cancelled; return true }
        if let deadline, Self.now() > deadline { fired = .stalled; return true }
        return false
    }

    /// The callback for `interrupt_callback`; `opaque` must point to this object while the context lives.
    var callback: AVIOInterruptCB {
        AVIOInterruptCB(callback: { opaque in
            guard let opaque else { return 0 }
            return Unmanaged<ReadInterrupt>.fromOpaque(opaque).takeUnretainedValue().shouldStop() ? 1 : 0
        }, opaque: Unmanaged.passUnretained(self).toOpaque())
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
