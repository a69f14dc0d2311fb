import Foundation

/// Runs a program (tar, readelf, swift, a build script) and returns its standard output; a failure
/// becomes a DeployError. `passStderr` shows the program's progress on our standard error.
public enum ExternalTool {
    @discardableResult
    public static func run(_ tool: String, _ args: [String], cwd: String? = nil, passStderr: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-tool-\(UUID().uuidString)")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-tool-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = passStderr ? FileHandle.standardError : try FileHandle(forWritingTo: errFile)
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw DeployError(.buildFailed, tool, "cannot run (\(error.localizedDescription)); is it installed?")
        }
        p.waitUntilExit()
        let out = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0 else {
            let err = ((try? String(contentsOf: errFile, encoding: .utf8)) ?? "").split(separator: "\n").last.map(String.init) ?? ""
            if p.terminationStatus == 127 { throw DeployError(.buildFailed, tool, "not found; install it (binutils, tar)") }
            throw DeployError(.buildFailed, tool, "exited with \(p.terminationStatus)" + (err.isEmpty ? "" : ": \(err)"))
        }
        return out
    }
}

/// The Debian packages that provide the shared libraries a binary links (its ELF `NEEDED` entries).
public enum RuntimePackages {
    /// Shared library names (`libavformat.so.61`) the binary needs, from `readelf -d`.
    public static func neededLibraries(of binary: String) throws -> [String] {
        let out = try ExternalTool.run("readelf", ["-d", "-W", binary])
        return out.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    /// Debian's package for a shared library name: glibc's libraries come from libc6, others follow
    /// Debian's naming policy (`libNAME.so.N` is in package `libNAMEN`, `-N` when NAME ends in a digit).
    public static func package(for soname: String) -> String {
        let glibc = ["libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "ld-linux", "libutil.so", "libresolv.so"]
        if glibc.contains(where: { soname.hasPrefix($0) }) { return "libc6" }
        switch soname {
        case "libgcc_s.so.1": return "libgcc-s1"
        case "libz.so.1": return "zlib1g"
        default: break
        }
        guard let range = soname.range(of: ".so.") else { return soname }
        let name = soname[..<range.lowerBound].lowercased().replacingOccurrences(of: "_", with: "-")
        let version = soname[range.upperBound...].split(separator: ".").first.map(String.init) ?? ""
        return name.last?.isNumber == true ? "\(name)-\(version)" : "\(name)\(version)"
    }

    /// Whether a library belongs to the Swift runtime (shipped in the bundle's `lib/`, not from Debian).
    public static func isSwiftRuntime(_ soname: String) -> Bool {
        ["libswift", "libFoundation", "lib_Foundation", "libdispatch", "libBlocksRuntime"].contains { soname.hasPrefix($0) }
    }

    /// The Swift runtime libraries `binary` needs, found in `searchPaths`, with the ones they need in turn.
    public static func swiftRuntime(for binary: String, searchPaths: [String]) throws -> [String] {
        let found = try closure(of: try neededLibraries(of: binary).filter(isSwiftRuntime), keeping: isSwiftRuntime) { name in
            guard let path = searchPaths.map({ $0 + "/" + name }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw DeployError(.missing, name, "Swift runtime library not found in \(searchPaths.joined(separator: ", "))")
            }
            return path
        }
        return found.values.sorted()
    }

    /// The libraries `roots` names, and those they need in turn that `keeping` accepts: soname -> path,
    /// each found by `locate` (which throws when it cannot).
    static func closure(of roots: [String], keeping: (String) -> Bool, locate: (String) throws -> String) throws -> [String: String] {
        var found: [String: String] = [:]
        var queue = roots
        while let name = queue.popLast() {
            guard found[name] == nil else { continue }
            let path = try locate(name)
            found[name] = path
            queue += try neededLibraries(of: path).filter(keeping)
        }
        return found
    }

    /// Debian packages for the libraries the binary and its bundled libraries need from the system, with
    /// those it opens at run time (`openedAtRunTime`), leaving out what the bundle holds (`bundled`, sonames).
    public static func packages(for binaries: [String], bundled: Set<String> = []) throws -> [String] {
        var names = Set<String>()
        for b in binaries { names.formUnion(try neededLibraries(of: b).filter { !isSwiftRuntime($0) }) }
        names.formUnion(openedAtRunTime(besides: names))
        names.subtract(bundled)
        return Array(Set(names.map(package(for:)))).sorted()
    }

    /// Whether a library is one of FFmpeg's (libavcodec, libavformat, libavutil, libavdevice, libavfilter,
    /// libswscale, libswresample, libpostproc).
    public static func isFFmpeg(_ soname: String) -> Bool {
        ["libavcodec.so.", "libavformat.so.", "libavutil.so.", "libavdevice.so.", "libavfilter.so.", "libswscale.so.",
         "libswresample.so.", "libpostproc.so."].contains { soname.hasPrefix($0) }
    }

    /// The FFmpeg libraries `binary` links and opens at run time, with the FFmpeg libraries they need in
    /// turn, found in `folder` (a lean build's `lib/`, from Scripts/ffmpeg/build-lean.sh): soname -> path.
    public static func ffmpegLibraries(for binary: String, in folder: String) throws -> [String: String] {
        let needed = try neededLibraries(of: binary)
        let roots = needed.filter(isFFmpeg) + openedAtRunTime(besides: Set(needed))
        guard !roots.isEmpty else { throw DeployError(.invalid, binary, "links no FFmpeg library, so there is none to bundle") }
        return try closure(of: roots, keeping: isFFmpeg) { name in
            let path = folder + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                throw DeployError(.missing, path, "not there; the binary needs \(name): build the FFmpeg it was built against "
                                  + "with Scripts/ffmpeg/build-lean.sh (host or aarch64)")
            }
            return path
        }
    }

    /// The FFmpeg libraries `bitspot` opens with `dlopen` when first needed (libavdevice for cameras,
    /// libavfilter for `--annotate`; VideoIO's FFmpegLibraries.swift), for the FFmpeg whose libavformat is
    /// among `needed`: libavdevice has libavformat's major version, libavfilter that minus 51 (FFmpeg 5.1:
    /// 59 and 8; 6.0: 60 and 9; 7.1: 61 and 10).
    public static func openedAtRunTime(besides needed: Set<String>) -> [String] {
        guard let avformat = needed.first(where: { $0.hasPrefix("libavformat.so.") }),
              let major = Int(avformat.dropFirst("libavformat.so.".count).split(separator: ".").first ?? ""), major > 51 else { return [] }
        return ["libavdevice.so.\(major)", "libavfilter.so.\(major - 51)"]
    }
}
