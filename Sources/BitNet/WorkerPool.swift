import BitKernels
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
    /// The current body, as a pointer to a closure value on the caller's stack (no retain, no copy).
    private var job: UnsafeRawPointer?
    /// The current task when `run(task:)` is used instead of a closure (allocates nothing, even in debug builds).
    private var task: ParallelTask?

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
            withUnsafePointer(to: escaping) { pointer in
                pthread_mutex_lock(mutex)
                job = UnsafeRawPointer(pointer)
                pending = count - 1
                generation &+= 1
                pthread_cond_broadcast(start)
                pthread_mutex_unlock(mutex)
                pointer.pointee(0)
                pthread_mutex_lock(mutex)
                while pending > 0 { pthread_cond_wait(done, mutex) }
                job = nil
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Runs `task` split by output rows over all threads; returns when all parts are done.
    public func run(task: ParallelTask) {
        let parts = min(count, max(task.rows, 1))
        if parts == 1 { task.run(part: 0, of: 1); return }
        pthread_mutex_lock(mutex)
        self.task = task
        pending = count - 1
        generation &+= 1
        pthread_cond_broadcast(start)
        pthread_mutex_unlock(mutex)
        task.run(part: 0, of: parts)
        pthread_mutex_lock(mutex)
        while pending > 0 { pthread_cond_wait(done, mutex) }
        self.task = nil
        pthread_mutex_unlock(mutex)
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
            if let t = task {
                pthread_mutex_unlock(mutex)
                let parts = min(count, max(t.rows, 1))
                if index < parts { t.run(part: index, of: parts) }
            } else {
                let body = job!.assumingMemoryBound(to: ((Int) -> Void).self)
                pthread_mutex_unlock(mutex)
                body.pointee(index)
            }
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

/// Work the executor splits over the pool by output rows, described by value so that handing it to the
/// workers allocates nothing.
public enum ParallelTask: @unchecked Sendable {
    case binaryConv(BinaryConvParams, KernelSet)
    case firstConv(FirstConvTask)

    /// Output rows to split.
    public var rows: Int {
        switch self {
        case .binaryConv(let p, _): return p.outHeight
        case .firstConv(let t): return t.outHeight
        }
    }

    /// Runs part `part` of `parts` (nearly equal row ranges).
    public func run(part: Int, of parts: Int) {
        let n = rows
        let range = (n * part / parts)..<(n * (part + 1) / parts)
        switch self {
        case .binaryConv(let p, let k): k.binaryConv(p, range)
        case .firstConv(let t):
            RealOps.firstConv(t.image, t.layout, zeroPoint: t.zeroPoint, weights: t.weights, outChannels: t.outChannels,
                              stride: t.stride, output: t.output, rows: range)
        }
    }
}

/// The arguments of `RealOps.firstConv`.
public struct FirstConvTask: @unchecked Sendable {
    public var image: UnsafePointer<UInt8>
    public var layout: RealLayout
    public var zeroPoint: Int32
    public var weights: UnsafePointer<Int8>
    public var outChannels: Int
    public var stride: Int
    public var output: FirstConvOutput
    public var outHeight: Int

    public init(image: UnsafePointer<UInt8>, layout: RealLayout, zeroPoint: Int32, weights: UnsafePointer<Int8>,
                outChannels: Int, stride: Int, output: FirstConvOutput, outHeight: Int) {
        self.image = image
        self.layout = layout
        self.zeroPoint = zeroPoint
        self.weights = weights
        self.outChannels = outChannels
        self.stride = stride
        self.output = output
        self.outHeight = outHeight
    }
}
