import ArgumentParser
import Deploy
import Foundation

/// `bitspot bundle`: a deployment archive for a board, built on this workstation.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Build a deployment archive (.tar.gz) for a board: binary, models, config, service unit, manifest.",
        discussion: """
            --target linux-arm64 cross-builds for 64-bit Raspberry Pi OS (Debian trixie) with \
            Scripts/cross/build-arm64.sh (which prepares, once, a trixie root with Swift 6.0.3 and an arm64 \
            sysroot with FFmpeg 7.1; needs root and network the first time). --target host builds for this \
            machine. Every binary's ELF machine is checked against the target. Run from a BitSpot checkout \
            (or give --source).
            """
    )

    @Option(help: ArgumentHelp("host or linux-arm64.", valueName: "target"))
    var target: String = "linux-arm64"

    @Option(help: ArgumentHelp("Archive to write (default: bitspot-VERSION-TARGET.tar.gz here).", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Use this already-built bitspot binary instead of building one.", valueName: "path"))
    var binary: String?

    @Option(help: ArgumentHelp("The BitSpot checkout to build from (default: found from here).", valueName: "dir"))
    var source: String?

    @Option(help: ArgumentHelp("Ship FFmpeg's libraries from this folder in lib/ (a lean build: Scripts/ffmpeg/build-lean.sh host|aarch64 prints it); the board then needs no FFmpeg packages. Default: the board's own FFmpeg.", valueName: "dir"))
    var ffmpeg: String?

    func run() throws {
        try reportingFailures {
            let target = try BundleTarget(parsing: self.target)
            let root = try sourceRoot()
            // A wrong --ffmpeg folder is refused before a build that can take minutes.
            if let ffmpeg { _ = try BundleAssembler.ffmpegLibraryFolder(ffmpeg) }
            let started = Date()
            let (binaryPath, flags) = try binary.map { ($0, ["prebuilt"]) } ?? build(target, root: root)
            let output = out ?? "bitspot-\(BitSpotVersion.string)-\(target.rawValue).tar.gz"
            var assembler = BundleAssembler(binary: binaryPath, target: target, sourceRoot: root, version: BitSpotVersion.string,
                                            gitCommit: gitCommit(root), buildFlags: flags)
            assembler.runtimeLibraryPaths = runtimeLibraryPaths(target, root: root)
            assembler.ffmpegFolder = ffmpeg
            let manifest = try assembler.write(to: output)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print(String(format: "%@: %d files and manifest.json, %.1f MB, target %@ (%@), %.0f s", output, manifest.files.count,
                         Double(size) / 1e6, target.rawValue, target.triple, Date().timeIntervalSince(started)))
            print("board packages: \(manifest.debianPackages.joined(separator: " "))\(ffmpeg == nil ? "" : " (FFmpeg bundled in lib/)")")
        }
    }

    private func sourceRoot() throws -> String {
        if let source { return source }
        guard let package = ResourceLocator.find("Package.swift") else {
            throw DeployError(.missing, "Package.swift", "not found; run from a BitSpot checkout or give --source")
        }
        return URL(fileURLWithPath: package).deletingLastPathComponent().path
    }

    private func build(_ target: BundleTarget, root: String) throws -> (String, [String]) {
        switch target {
        case .host:
            let flags = ["-c", "release", "--product", "bitspot", "--scratch-path", ".build-bundle-host"]
            printError("bundle: swift build \(flags.joined(separator: " ")) ...")
            try ExternalTool.run("swift", ["build"] + flags, cwd: root, passStderr: true)
            let bin = try ExternalTool.run("swift", ["build"] + flags + ["--show-bin-path"], cwd: root)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return (bin + "/bitspot", flags)
        case .linuxArm64:
            printError("bundle: cross-building with Scripts/cross/build-arm64.sh ...")
            let out = try ExternalTool.run(root + "/Scripts/cross/build-arm64.sh", [], cwd: root, passStderr: true)
            guard let last = out.split(separator: "\n").last.map(String.init), last.hasPrefix("/") || last.hasPrefix(".") else {
                throw DeployError(.buildFailed, "Scripts/cross/build-arm64.sh", "did not print the binary's path")
            }
            let path = last.hasPrefix("/") ? last : root + "/" + last
            return (path, ["-c", "release", "--triple", "aarch64-unknown-linux-gnu", "(Scripts/cross/build-arm64.sh)"])
        }
    }

    /// Where the target's Swift runtime libraries are, for a dynamically linked binary.
    private func runtimeLibraryPaths(_ target: BundleTarget, root: String) -> [String] {
        switch target {
        case .host:
            // The toolchain that runs now: `swift -print-target-info` names its runtime folders.
            guard let json = try? ExternalTool.run("swift", ["-print-target-info"]),
                  let info = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  let paths = (info["paths"] as? [String: Any])?["runtimeLibraryPaths"] as? [String] else { return [] }
            return paths
        case .linuxArm64:
            let base = ProcessInfo.processInfo.environment["BITSPOT_CROSS_DIR"] ?? root + "/.cross"
            return [base + "/trixie/sysroot-arm64/usr/libexec/swift/lib/swift/linux"]
        }
    }

    private func gitCommit(_ root: String) -> String {
        guard let head = try? ExternalTool.run("git", ["-C", root, "rev-parse", "HEAD"])
            .trimmingCharacters(in: .whitespacesAndNewlines), !head.isEmpty else { return "unknown" }
        let dirty = ((try? ExternalTool.run("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"])) ?? "").isEmpty ? "" : "-dirty"
        return head + dirty
    }
}

/// `bitspot verify-bundle`: checks a bundle against its manifest, on the board.
struct VerifyBundle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Check a bundle (folder or .tar.gz) against its manifest.json: every file's SHA-256, no extra files, no links, the binary's machine."
    )

    @Argument(help: ArgumentHelp("Bundle folder or archive.", valueName: "bundle"))
    var bundle: String

    func run() throws {
        try reportingFailures {
            let report = try BundleVerifier.verify(bundle)
            let m = report.manifest
            print("\(bundle): ok, \(report.filesChecked) files match manifest.json (bitspot \(m.bitspotVersion), \(m.target), commit \(m.gitCommit))")
            if !report.matchesThisMachine { print("note: built for \(m.triple), not for this machine") }
        }
    }
}

