import Foundation

/// Makes a deployment archive: binary, models, sample, config, service unit, README and a manifest
/// with the SHA-256 of every file, packed as `.tar.gz` and renamed into place only when complete.
public struct BundleAssembler {
    public var binary: String
    public var target: BundleTarget
    /// The BitSpot checkout: `Models/` and `Samples/` are taken from here.
    public var sourceRoot: String
    public var version: String
    public var gitCommit: String
    public var buildFlags: [String]
    /// Where the README and the service unit expect the bundle on the board.
    public var installDir = "/opt/bitspot"
    /// Folders holding the target's Swift runtime libraries, for a binary that links them dynamically
    /// (a `-static-stdlib` build needs none).
    public var runtimeLibraryPaths: [String] = []
    /// A folder of FFmpeg shared libraries to ship in `lib/` (a lean build from Scripts/ffmpeg/build-lean.sh,
    /// its install folder or that folder's `lib/`); nil: the board's own FFmpeg packages.
    public var ffmpegFolder: String?

    public init(binary: String, target: BundleTarget, sourceRoot: String, version: String, gitCommit: String, buildFlags: [String]) {
        self.binary = binary
        self.target = target
        self.sourceRoot = sourceRoot
        self.version = version
        self.gitCommit = gitCommit
        self.buildFlags = buildFlags
    }

    /// The name of the archive's top folder.
    public var folderName: String { "bitspot-\(version)-\(target.rawValue)" }

    /// Checks that `binary` is an ELF executable for the target's machine.
    public static func checkMachine(_ binary: String, target: BundleTarget) throws {
        guard FileManager.default.fileExists(atPath: binary) else { throw DeployError(.missing, binary, "no such binary") }
        guard let header = try ELFHeader.read(binary) else { throw DeployError(.invalid, binary, "not an ELF binary") }
        guard header.machineCode == target.machine.rawValue else {
            let found = header.machine?.name ?? "machine \(header.machineCode)"
            throw DeployError(.invalid, binary, "built for \(found), but the target \(target.rawValue) needs \(target.machine.name)")
        }
    }

    /// The folder holding the FFmpeg libraries of `folder`: its `lib/` when it has one (an install folder),
    /// else itself. Fails when `folder` is not a folder.
    public static func ffmpegLibraryFolder(_ folder: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw DeployError(.missing, folder, "no such folder (the FFmpeg libraries to bundle)")
        }
        let lib = folder + "/lib"
        return FileManager.default.fileExists(atPath: lib, isDirectory: &isDir) && isDir.boolValue ? lib : folder
    }

    /// Writes the archive to `output` (a `.tar.gz` path) and returns its manifest.
    @discardableResult
    public func write(to output: String) throws -> Manifest {
        try Self.checkMachine(binary, target: target)
        let runtime = try RuntimePackages.swiftRuntime(for: binary, searchPaths: runtimeLibraryPaths)
        for library in runtime { try Self.checkMachine(library, target: target) }
        var ffmpeg: [String: String] = [:]
        if let folder = ffmpegFolder {
            ffmpeg = try RuntimePackages.ffmpegLibraries(for: binary, in: try Self.ffmpegLibraryFolder(folder))
            for library in ffmpeg.values { try Self.checkMachine(library, target: target) }
        }
        let packages = try RuntimePackages.packages(for: [binary] + runtime + ffmpeg.values.sorted(), bundled: Set(ffmpeg.keys))
        let fm = FileManager.default
        let outURL = URL(fileURLWithPath: output)
        let work = outURL.deletingLastPathComponent().appendingPathComponent(".\(outURL.lastPathComponent).partial-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: work) }
        let top = work.appendingPathComponent(folderName)
        do {
            try fm.createDirectory(at: top, withIntermediateDirectories: true)
        } catch {
            throw DeployError(.outputFailed, output, "cannot create a folder beside it (\(error.localizedDescription))")
        }

        func put(_ data: Data, _ path: String, executable: Bool = false) throws {
            let url = top.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard fm.createFile(atPath: url.path, contents: data, attributes: [.posixPermissions: executable ? 0o755 : 0o644]) else {
                throw DeployError(.outputFailed, output, "cannot write \(path) into the bundle")
            }
        }
        func copy(_ source: String, _ path: String, executable: Bool = false) throws {
            guard let data = fm.contents(atPath: source) else { throw DeployError(.missing, source, "cannot read") }
            try put(data, path, executable: executable)
        }

        try copy(binary, "bin/bitspot", executable: true)
        for library in runtime { try copy(library, "lib/" + URL(fileURLWithPath: library).lastPathComponent) }
        // Copied under their sonames, as regular files (the build folder's are symbolic links to the full version).
        for (soname, library) in ffmpeg.sorted(by: { $0.key < $1.key }) { try copy(library, "lib/" + soname) }
        try put(Data(BundleTemplates.runScript.utf8), "run.sh", executable: true)
        try put(Data(BundleTemplates.environment.utf8), "config/bitspot.env")
        try put(Data(BundleTemplates.budget.utf8), "config/budget.txt")
        try put(Data(BundleTemplates.serviceUnit(installDir: installDir).utf8), "systemd/bitspot-camera.service")
        try put(Data(BundleTemplates.readme(target: target, packages: packages, bundlesFFmpeg: !ffmpeg.isEmpty).utf8), "README.md")
        for folder in ["Models", "Samples"] {
            let root = URL(fileURLWithPath: sourceRoot).appendingPathComponent(folder)
            guard let walker = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else { continue }
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                let relative = String(url.path.dropFirst(root.path.count + 1))
                try copy(url.path, "\(folder)/\(relative)")
            }
        }

        var entries: [Manifest.Entry] = []
        let walker = fm.enumerator(at: top, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let relative = String(url.path.dropFirst(top.path.count + 1))
            let data = try Data(contentsOf: url)
            entries.append(.init(path: relative, bytes: data.count, sha256: Checksum.sha256(data), executable: fm.isExecutableFile(atPath: url.path)))
        }
        entries.sort { $0.path < $1.path }
        let manifest = Manifest(bitspotVersion: version, gitCommit: gitCommit, target: target, buildFlags: buildFlags,
                                debianPackages: packages, files: entries, ffmpeg: ffmpeg.isEmpty ? "system" : "bundled")
        try put(try manifest.encoded(), "manifest.json")

        let archive = work.appendingPathComponent("bundle.tar.gz").path
        try ExternalTool.run("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
                                     "-czf", archive, "-C", work.path, folderName])
        if rename(archive, output) != 0 {
            throw DeployError(.outputFailed, output, "cannot move the finished archive into place (\(String(cString: strerror(errno))))")
        }
        return manifest
    }
}
