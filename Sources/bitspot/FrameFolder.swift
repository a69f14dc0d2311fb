import Foundation
import VideoIO

/// A folder of frame PNGs (and side files) that appears whole or not at all: written under a
/// temporary name beside the destination and renamed by ``finish()``; dropped unfinished, it is deleted.
final class FrameFolder {
    let path: String
    private let temporary: String
    private let png = PNGEncoder()
    private var finished = false

    /// Checks the destination (missing or empty) and creates the temporary folder.
    init(_ path: String) throws {
        try AtomicOutput.checkFolderDestination(path)
        self.path = path
        temporary = AtomicOutput.temporaryPath(for: path)
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw VideoIOError(.outputFailed, path, "cannot create the output folder (\(error.localizedDescription))")
        }
    }

    /// Saves a frame as `frame-NNNNNN.png` (NNNNNN: its index in the stream); returns the file name.
    @discardableResult
    func save(_ frame: LumaFrame) throws -> String {
        let name = String(format: "frame-%06d.png", frame.index)
        try png.write(Raster(frame), to: temporary + "/" + name)
        return name
    }

    func write(_ data: Data, name: String) throws {
        try AtomicOutput.write(data, to: temporary + "/" + name)
    }

    func finish() throws {
        try AtomicOutput.commit(temporary, to: path)
        finished = true
    }

    deinit {
        if !finished { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
