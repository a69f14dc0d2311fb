import Foundation

/// Checks a bundle (a folder, or a `.tar.gz` archive) against its manifest.
public enum BundleVerifier {
    public struct Report: Sendable {
        public var manifest: Manifest
        public var filesChecked: Int
        /// Whether the bundle's binary runs on this machine's architecture.
        public var matchesThisMachine: Bool
    }

    /// Verifies `path`: every file listed is there with its size and SHA-256, nothing unlisted is there,
    /// no links, and the binary is built for the manifest's target. Archives are listed first and
    /// refused if any entry is absolute, climbs out with `..`, or is a link or a device.
    public static func verify(_ path: String) throws -> Report {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DeployError(.missing, path, "no such bundle")
        }
        if isDir.boolValue { return try verifyFolder(path, name: path) }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try checkArchiveListing(path)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try ExternalTool.run("tar", ["--no-same-owner", "-xzf", path, "-C", scratch.path])
        let tops = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        guard tops.count == 1 else { throw DeployError(.invalid, path, "archive must hold exactly one top folder, found \(tops.count)") }
        return try verifyFolder(scratch.appendingPathComponent(tops[0]).path, name: path)
    }

    /// Refuses archives with unsafe entries before anything is extracted.
    static func checkArchiveListing(_ path: String) throws {
        let names: [String]
        let verbose: [String]
        do {
            names = try ExternalTool.run("tar", ["-tzf", path]).split(separator: "\n").map(String.init)
            verbose = try ExternalTool.run("tar", ["-tvzf", path]).split(separator: "\n").map(String.init)
        } catch {
            throw DeployError(.invalid, path, "not a readable .tar.gz archive")
        }
        guard names.count == verbose.count, !names.isEmpty else { throw DeployError(.invalid, path, "archive listing is inconsistent or empty") }
        for (name, line) in zip(names, verbose) {
            let clean = name.hasSuffix("/") ? String(name.dropLast()) : name
            guard BundlePath.isSafe(clean) else { throw DeployError(.invalid, path, "unsafe entry '\(name)' (absolute or '..')") }
            switch line.first {
            case "-", "d": continue
            case "l": throw DeployError(.invalid, path, "entry '\(name)' is a symbolic link; bundles hold plain files only")
            case "h": throw DeployError(.invalid, path, "entry '\(name)' is a hard link; bundles hold plain files only")
            default: throw DeployError(.invalid, path, "entry '\(name)' is not a plain file or folder")
            }
        }
    }

    static func verifyFolder(_ folder: String, name: String) throws -> Report {
        let fm = FileManager.default
        let manifestPath = folder + "/manifest.json"
        guard let data = fm.contents(atPath: manifestPath) else { throw DeployError(.invalid, name, "no manifest.json") }
        let manifest = try Manifest.decode(data, source: name)
        var listed = Set<String>()
        for entry in manifest.files {
            let file = folder + "/" + entry.path
            let attributes = try? fm.attributesOfItem(atPath: file)
            guard let attributes else { throw DeployError(.invalid, name, "\(entry.path) is missing") }
            guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
                throw DeployError(.invalid, name, "\(entry.path) is not a plain file")
            }
            let contents = fm.contents(atPath: file) ?? Data()
            guard contents.count == entry.bytes, Checksum.sha256(contents) == entry.sha256 else {
                throw DeployError(.invalid, name, "\(entry.path) does not match its SHA-256 in manifest.json (changed or damaged)")
            }
            listed.insert(entry.path)
        }
        let base = URL(fileURLWithPath: folder).standardizedFileURL.path
        let walker = fm.enumerator(atPath: folder)
        while let relative = walker?.nextObject() as? String {
            let attributes = try fm.attributesOfItem(atPath: base + "/" + relative)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink { throw DeployError(.invalid, name, "\(relative) is a symbolic link") }
            if type == .typeRegular, relative != "manifest.json", !listed.contains(relative) {
                throw DeployError(.invalid, name, "\(relative) is not listed in manifest.json")
            }
        }
        guard let target = BundleTarget(rawValue: manifest.target) else {
            throw DeployError(.invalid, name, "manifest names an unknown target '\(manifest.target)'")
        }
        let binary = folder + "/bin/bitspot"
        guard let header = try ELFHeader.read(binary), let machine = header.machine else {
            throw DeployError(.invalid, name, "bin/bitspot is not an ELF binary BitSpot builds")
        }
        if target == .linuxArm64, machine != .aarch64 {
            throw DeployError(.invalid, name, "bin/bitspot is built for \(machine.name), the manifest says \(manifest.target)")
        }
        guard machine.triple == manifest.triple else {
            throw DeployError(.invalid, name, "bin/bitspot is built for \(machine.name), the manifest says \(manifest.triple)")
        }
        return Report(manifest: manifest, filesChecked: manifest.files.count, matchesThisMachine: machine == .current)
    }
}
