import Foundation

/// Outputs that appear whole or not at all: written under a temporary name beside the
/// destination, then renamed into place.
public enum AtomicOutput {
    /// Writes `data` to `path` through a temporary file and a rename.
    public static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw VideoIOError(.outputFailed, path, "cannot write (\(Self.reason(error)))")
        }
    }

    /// A temporary path beside `path`, in the same folder (so a rename is atomic), keeping the extension.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let base = url.deletingPathExtension().lastPathComponent
        let name = ".\(base).partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))" + (ext.isEmpty ? "" : ".\(ext)")
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Moves a finished temporary file or folder into place, replacing an existing file or empty folder.
    public static func commit(_ temporary: String, to path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue {
                let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                guard contents.isEmpty else {
                    try? fm.removeItem(atPath: temporary)
                    throw VideoIOError(.outputFailed, path, "folder exists and is not empty; choose another or empty it")
                }
            }
            try? fm.removeItem(atPath: path)
        }
        if rename(temporary, path) != 0 {
            let message = String(cString: strerror(errno))
            try? fm.removeItem(atPath: temporary)
            throw VideoIOError(.outputFailed, path, "cannot move the finished output into place (\(message))")
        }
    }

    /// Checks that an output folder can be made: it does not exist, or exists and is empty, and its parent is writable.
    public static func checkFolderDestination(_ path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw VideoIOError(.outputFailed, path, "exists and is not a folder") }
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            guard contents.isEmpty else {
                throw VideoIOError(.outputFailed, path, "folder exists and is not empty; choose another or empty it")
            }
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard fm.isWritableFile(atPath: parent.isEmpty ? "." : parent) else {
            throw VideoIOError(.outputFailed, path, "parent folder is missing or not writable")
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
