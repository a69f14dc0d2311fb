#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clocks the accountant reads around every stage: monotonic wall time, the calling thread's CPU
/// time and the whole process's CPU time, all in seconds.
public enum Clocks {
    /// Seconds on the monotonic clock (not affected by wall-clock changes).
    @inline(__always)
    public static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    /// CPU seconds used by the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
    @inline(__always)
    public static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU seconds used by all threads of this process (`CLOCK_PROCESS_CPUTIME_ID`).
    @inline(__always)
    public static func processCPU() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }

    /// Seconds since the Unix epoch (`CLOCK_REALTIME`), to line up with a power meter's log.
    public static func realtime() -> Double { read(CLOCK_REALTIME) }

    @inline(__always)
    static func read(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// One reading of all clocks at a stage boundary.
public struct ClockMark: Sendable, Equatable {
    public var wall: Double
    public var threadCPU: Double

    @inline(__always)
    public static func now() -> ClockMark { ClockMark(wall: Clocks.monotonic(), threadCPU: Clocks.threadCPU()) }

    public init(wall: Double, threadCPU: Double) {
        self.wall = wall
        self.threadCPU = threadCPU
    }
}
