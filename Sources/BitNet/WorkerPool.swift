import BitKernels
import _BitKernelsShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed pool of worker threads created once (at model load). `run` hands the same work to every
/// worker and to the calling thread and returns when all are done; it allocates nothing.
///
/// Hand-off: the caller publishes the work and bumps an atomic generation counter; workers spin on it for
/// a short while (`spinLimit` pauses, about 0.1 ms) before sleeping on a condition variable, so that the
/// layers of one frame follow each other without wake-up latency and the workers stay on their cores.
public final class WorkerPool: @unchecked Sendable {
    /// Threads taking part in `run`, the caller included.
    public let count: Int
    /// Pause instructions a worker (or the caller, waiting for the others) spins before sleeping.
    public static let spinLimit = 4096
    private var threads: [pthread_t] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let start = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// [0]: generation (bumped per run), [1]: workers still busy. Atomic through the C shim.
    private let counters = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
    private var stopping = false
    /// The current body, as a pointer to a closure value on the caller's stack (no retain, no copy).
    private var job: UnsafeRawPointer?
    /// The current task when `run(task:)` is used instead of a closure (allocates nothing, even in debug builds).
    private var task: ParallelTask?

    /// A pool of `threads` participants (`threads - 1` workers plus the caller).
    public init(threads: Int) {
        count = max(1, threads)
        counters.initialize(repeating: 0, count: 2)
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
        _ = bitkernels_atomic_add(counters, 1)
        pthread_cond_broadcast(start)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(start)
        pthread_cond_destroy(done)
        mutex.deallocate()
        start.deallocate()
        done.deallocate()
        counters.deallocate()
    }

    /// Publishes the work (`job` or `task` already set by the caller under the mutex) and wakes the workers.
    private func publishLocked() {
        bitkernels_atomic_store(counters + 1, UInt64(count - 1))
        _ = bitkernels_atomic_add(counters, 1)
        pthread_cond_broadcast(start)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until every worker has finished the current run, then clears it.
    private func waitForWorkers() {
        var spins = 0
        while bitkernels_atomic_load(counters + 1) != 0 && spins < Self.spinLimit {
            bitkernels_spin_pause()
            spins += 1
        }
        pthread_mutex_lock(mutex)
        while bitkernels_atomic_load(counters + 1) != 0 { pthread_cond_wait(done, mutex) }
        job = nil
        task = nil
        pthread_mutex_unlock(mutex)
    }

    /// Calls `body(i)` for every `i` in `0..<count`, in parallel; `body(0)` runs on the caller.
    public func run(_ body: (Int) -> Void) {
        if count == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            withUnsafePointer(to: escaping) { pointer in
                pthread_mutex_lock(mutex)
                job = UnsafeRawPointer(pointer)
                task = nil
                publishLocked()
                pointer.pointee(0)
                waitForWorkers()
            }
        }
    }

    /// Runs `task` split by output rows over all threads; returns when all parts are done.
    public func run(task: ParallelTask) {
        let parts = min(count, max(task.rows, 1))
        if parts == 1 { task.run(part: 0, of: 1); return }
        pthread_mutex_lock(mutex)
        self.task = task
        job = nil
        publishLocked()
        task.run(part: 0, of: parts)
        waitForWorkers()
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
        while true {
            var generation = bitkernels_atomic_load(counters)
            var spins = 0
            while generation == seen && spins < Self.spinLimit {
                bitkernels_spin_pause()
                spins += 1
                generation = bitkernels_atomic_load(counters)
            }
            pthread_mutex_lock(mutex)
            while bitkernels_atomic_load(counters) == seen && !stopping { pthread_cond_wait(start, mutex) }
            if stopping {
                pthread_mutex_unlock(mutex)
                return
            }
            seen = bitkernels_atomic_load(counters)
            let currentTask = task, currentJob = job
            pthread_mutex_unlock(mutex)
            if let t = currentTask {
                let parts = min(count, max(t.rows, 1))
                if index < parts { t.run(part: index, of: parts) }
            } else if let j = currentJob {
                j.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
            }
            if bitkernels_atomic_add(counters + 1, UInt64.max) == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
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
    case firstConv(FirstConvParams, KernelSet)
    /// A binary convolution on the runs of set cells of `mask` (output height x width, one byte per cell).
    case binaryConvRegion(BinaryConvParams, KernelSet, mask: UnsafePointer<UInt8>)
    /// A narrow 3x3 binary convolution on packed patches: `params` is the 1x1 convolution over the patches
    /// (`params.input`, `params.inLayout`), which each part packs from `source` for its rows first.
    case patchConv(BinaryConvParams, KernelSet, source: PatchSource)
    /// `patchConv` on the runs of set cells of `mask`, packing only those cells' patches.
    case patchConvRegion(BinaryConvParams, KernelSet, source: PatchSource, mask: UnsafePointer<UInt8>)

    /// Output rows to split.
    public var rows: Int {
        switch self {
        case .binaryConv(let p, _), .binaryConvRegion(let p, _, _), .patchConv(let p, _, _), .patchConvRegion(let p, _, _, _):
            return p.outHeight
        case .firstConv(let p, _): return p.outHeight
        }
    }

    /// Runs part `part` of `parts` (nearly equal row ranges).
    public func run(part: Int, of parts: Int) {
        let n = rows
        let range = (n * part / parts)..<(n * (part + 1) / parts)
        switch self {
        case .binaryConv(let p, let k): k.binaryConv(p, range)
        case .binaryConvRegion(let p, let k, let mask):
            let w = p.outWidth
            for y in range {
                forEachSetRun(mask + y * w, width: w) { columns in
                    var q = p
                    q.columns = columns
                    k.binaryConv(q, y..<(y + 1))
                }
            }
        case .firstConv(let p, let k): k.real.firstConv(p, range)
        case .patchConv(let p, let k, let s):
            s.pack(into: p, rows: range)
            k.binaryConv(p, range)
        case .patchConvRegion(let p, let k, let s, let mask):
            let w = p.outWidth
            for y in range {
                forEachSetRun(mask + y * w, width: w) { columns in
                    var q = p
                    q.columns = columns
                    s.pack(into: q, rows: y..<(y + 1))
                    k.binaryConv(q, y..<(y + 1))
                }
            }
        }
    }
}

/// The narrow input a convolution on packed patches packs them from (`PatchPacking`).
public struct PatchSource: @unchecked Sendable {
    public var input: UnsafePointer<UInt64>
    public var layout: PackedLayout
    public var stride: Int
    /// A two-base convolution's second input (same layout), packed into `p.second.input`.
    public var second: UnsafePointer<UInt64>?

    public init(input: UnsafePointer<UInt64>, layout: PackedLayout, stride: Int, second: UnsafePointer<UInt64>? = nil) {
        self.input = input
        self.layout = layout
        self.stride = stride
        self.second = second
    }

    /// Packs the patches of `rows` (and of `p.columns`) into the input of `p`, the 1x1 convolution over them.
    func pack(into p: BinaryConvParams, rows: Range<Int>) {
        PatchPacking.pack(input, layout, stride: stride, into: UnsafeMutablePointer(mutating: p.input), p.inLayout, rows: rows,
                          columns: p.columns)
        if let s2 = second, let sb = p.second {
            PatchPacking.pack(s2, layout, stride: stride, into: UnsafeMutablePointer(mutating: sb.input), p.inLayout, rows: rows,
                              columns: p.columns)
        }
    }
}
