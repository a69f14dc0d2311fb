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

    public init(root: String = "/", readFile: (@Sendable (String) throws -> String)? = nil) {
        self.root = root
        self.readFile = readFile ?? FileAccess.posixRead
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
