import Dispatch
import Foundation

/// SIGINT and SIGTERM as a flag that long loops check, so a run can stop cleanly and still write
/// what it has (then exit with ``ExitCodes/interrupted``).
final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []
    private var handlers: [@Sendable () -> Void] = []

    /// Starts catching SIGINT and SIGTERM (until this object is released).
    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.record(sig) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private func record(_ sig: Int32) {
        lock.lock()
        let first = received == nil
        if first { received = sig }
        let run = first ? handlers : []
        lock.unlock()
        for h in run { h() }
    }

    /// Runs `handler` (on a signal-handling queue) when the first signal arrives, for waking a loop
    /// that is blocked (on a camera that sends nothing, say) rather than polling ``isSet``.
    func onSignal(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        let already = received != nil
        if !already { handlers.append(handler) }
        lock.unlock()
        if already { handler() }
    }

    /// The first signal received, if any.
    var receivedSignal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    var isSet: Bool { receivedSignal != nil }
}
