#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How meters read sysfs and procfs: a root folder (so tests use fake trees) and a reader that can be
/// replaced (so tests can simulate a permission error even when they run as root).
public struct FileAccess: Sendable {
    /// Prefix of every absolute path (`/` on a real system).
    public var root: String
    /// Reads a whole small file; throws ``EnergyError``.
    public var readFile: @Sendable (String) throws -> String
    /// Whether counters are kept open and re-read with `pread` (true unless a reader was injected).
    public var keepsFilesOpen: Bool

    public init(root: String = "/", readFile: (@Sendable (String) throws -> String)? = nil) {
        self.root = root
        self.readFile = readFile ?? FileAccess.posixRead
        self.keepsFilesOpen = readFile == nil
    }

    /// The real system.
    public static let system = FileAccess()

    /// `root` + an absolute path.
    public func path(_ absolute: String) -> String {
        if root == "/" || root.isEmpty { return absolute }
        return root.hasSuffix("/") ? root + absolute.dropFirst() : root + absolute
    }

    /// Reads the file at an absolute path under the root.
    public func read(_ absolute: String) throws -> String { try readFile(path(absolute)) }

    /// Entries of a folder under the root (sorted), or [] when it is absent.
    public func list(_ absolute: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(absolute))) ?? []).sorted()
    }

    public func exists(_ absolute: String) -> Bool { FileManager.default.fileExists(atPath: path(absolute)) }

    /// Reads a number from a file (surrounding blanks allowed); a garbage value is an error.
    public func readInteger(_ absolute: String) throws -> Int64 {
        let text = try read(absolute).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Int64(text) else {
            throw EnergyError(.invalidReading, path(absolute), "not an integer: '\(text.prefix(40))'")
        }
        return value
    }

    /// A counter file to read again and again.
    public func counter(_ absolute: String) -> CounterFile { CounterFile(self, absolute) }

    /// open/read/close: cheap enough to call at every stage boundary (sysfs files are a few bytes).
    @Sendable
    public static func posixRead(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw error(errno, path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var text: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw error(errno, path)
            }
            if n == 0 { break }
            text += buffer[0..<n]
            if text.count > 1 << 20 { break }
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func error(_ code: Int32, _ path: String) -> EnergyError {
        switch code {
        case ENOENT, ENOTDIR: return EnergyError(.missing, path, "no such file")
        case EACCES, EPERM: return EnergyError(.notPermitted, path, "permission denied")
        case EISDIR: return EnergyError(.invalidReading, path, "is a folder, not a file")
        default: return EnergyError(.invalidReading, path, "cannot read (\(String(cString: strerror(code))))")
        }
    }
}

@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}

/// A small numeric file read at every stage boundary (a sysfs counter or sensor): opened once and
/// re-read with `pread` at offset 0 (sysfs regenerates the value on each read from offset 0), parsed
/// without allocating. With an injected reader (tests), every read goes through that reader instead.
public final class CounterFile {
    public let path: String
    let access: FileAccess
    private var fd: Int32 = -1
    private var buffer = [UInt8](repeating: 0, count: 64)

    init(_ access: FileAccess, _ path: String) {
        self.access = access
        self.path = path
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The integer in the file now; garbage, a folder, a missing or unreadable file are ``EnergyError``s.
    public func read() throws -> Int64 {
        guard access.keepsFilesOpen else { return try access.readInteger(path) }
        if fd < 0 {
            fd = open(access.path(path), O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw FileAccess.error(errno, access.path(path)) }
        }
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            let code = errno
            close(fd)
            fd = -1
            throw FileAccess.error(code, access.path(path))
        }
        if let v = Self.parse(buffer, count: n) { return v }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        throw EnergyError(.invalidReading, access.path(path), "not an integer: '\(text.prefix(40))'")
    }

    /// Blanks, an optional minus, digits, blanks; nil for anything else (or a number too long).
    static func parse(_ b: [UInt8], count n: Int) -> Int64? {
        guard n < b.count else { return nil }
        var i = 0
        func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        while i < n, isBlank(b[i]) { i += 1 }
        var negative = false
        if i < n, b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var value: Int64 = 0, digits = 0
        while i < n, b[i] >= 48, b[i] <= 57 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 48))
            if o1 || o2 { return nil }
            value = a
            digits += 1
            i += 1
        }
        while i < n, isBlank(b[i]) { i += 1 }
        guard digits > 0, i == n else { return nil }
        return negative ? -value : value
    }
}
