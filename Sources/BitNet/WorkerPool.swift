#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed pool of worker threads created once (at model load). `run` hands the same body to every
/// worker and to the calling thread and returns when all are done; it allocates nothing.
public final class WorkerPool: @unchecked Sendable {
    /// Threads taking part in `run`, the caller included.
    public let count: Int
    private var threads: [pthread_t] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let start = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var generation: UInt64 = 0
    private var pending = 0
    private var stopping = false
    private var job: ((Int) -> Void)?

    /// A pool of `threads` participants (`threads - 1` workers plus the caller).
    public init(threads: Int) {
        count = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(start, nil)
        pthread_cond_init(done, nil)
        for index in 1..<max(count, 1) {
            let box = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(context.index)
                return nil
            }, box)
            precondition(rc == 0, "pthread_create failed")
            self.threads.append(thread)
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(start)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(start)
        pthread_cond_destroy(done)
        mutex.deallocate()
        start.deallocate()
        done.deallocate()
    }

    /// Calls `body(i)` for every `i` in `0..<count`, in parallel; `body(0)` runs on the caller.
    public func run(_ body: (Int) -> Void) {
        if count == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            pthread_mutex_lock(mutex)
            job = escaping
            pending = count - 1
            generation &+= 1
            pthread_cond_broadcast(start)
            pthread_mutex_unlock(mutex)
            escaping(0)
            pthread_mutex_lock(mutex)
            while pending > 0 { pthread_cond_wait(done, mutex) }
            job = nil
            pthread_mutex_unlock(mutex)
        }
    }

    /// Splits `0..<n` into `count` nearly equal parts and runs `body(part)` for each in parallel.
    public func parallelFor(_ n: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(count, max(n, 1))
        if parts == 1 { body(0..<n); return }
        run { i in
            guard i < parts else { return }
            body((n * i / parts)..<(n * (i + 1) / parts))
        }
    }

    private func workerLoop(_ index: Int) {
        var seen: UInt64 = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(start, mutex) }
            if stopping { break }
            seen = generation
            let body = job!
            pthread_mutex_unlock(mutex)
            body(index)
            pthread_mutex_lock(mutex)
            pending -= 1
            if pending == 0 { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }
}

private final class WorkerContext {
    unowned(unsafe) let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
