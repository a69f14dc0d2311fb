#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Helpers shared by the fuzz targets.
public enum Fuzz {
    /// Fails the run (libFuzzer keeps the input as a crash) when an invariant does not hold.
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) {
        if !condition { fatalError("fuzz invariant: \(message())", file: file, line: line) }
    }

    /// A per-process scratch file in /dev/shm (memory, no disk wear), or in $TMPDIR or /tmp without it.
    public static func scratchPath(_ name: String, suffix: String = "") -> String {
        var info = stat()
        let folder: String
        if stat("/dev/shm", &info) == 0, access("/dev/shm", W_OK) == 0 {
            folder = "/dev/shm"
        } else if let tmp = getenv("TMPDIR") {
            folder = String(cString: tmp)
        } else {
            folder = "/tmp"
        }
        return "\(folder)/bitspot-fuzz-\(name)-\(getpid())\(suffix)"
    }

    /// Writes `bytes` to `path` (replacing it); false when the file cannot be written.
    @discardableResult
    public static func write(_ bytes: UnsafeBufferPointer<UInt8>, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }

    /// Removes the scratch file at exit (libFuzzer ends with exit(), which runs atexit handlers).
    public static func removeAtExit(_ path: String) {
        pathsToRemove.append(path)
        if !registered {
            registered = true
            atexit { for p in Fuzz.pathsToRemove { unlink(p) } }
        }
    }

    nonisolated(unsafe) private static var pathsToRemove: [String] = []
    nonisolated(unsafe) private static var registered = false
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
