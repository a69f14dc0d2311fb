import Foundation
import XCTest
@testable import Deploy

final class ELFAndPackageTests: XCTestCase {
    func header(machine: UInt16) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 20)
        b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = 2; b[5] = 1
        b[18] = UInt8(machine & 0xFF); b[19] = UInt8(machine >> 8)
        return b
    }

    func testELFMachine() throws {
        XCTAssertEqual(ELFHeader.parse(header(machine: 62))?.machine, .x86_64)
        XCTAssertEqual(ELFHeader.parse(header(machine: 183))?.machine, .aarch64)
        XCTAssertNil(ELFHeader.parse(header(machine: 40))?.machine, "32-bit ARM is not a BitSpot target")
        XCTAssertNil(ELFHeader.parse(Array("#!/bin/sh\necho hello\n".utf8)))
        XCTAssertEqual(try ELFHeader.read("/bin/ls")?.machine, ELFMachine.current)
    }

    func testDebianPackageNames() {
        XCTAssertEqual(RuntimePackages.package(for: "libavformat.so.61"), "libavformat61")
        XCTAssertEqual(RuntimePackages.package(for: "libswscale.so.8"), "libswscale8")
        XCTAssertEqual(RuntimePackages.package(for: "libavfilter.so.10"), "libavfilter10")
        XCTAssertEqual(RuntimePackages.package(for: "libc.so.6"), "libc6")
        XCTAssertEqual(RuntimePackages.package(for: "libm.so.6"), "libc6")
        XCTAssertEqual(RuntimePackages.package(for: "libgcc_s.so.1"), "libgcc-s1")
        XCTAssertEqual(RuntimePackages.package(for: "libstdc++.so.6"), "libstdc++6")
        XCTAssertEqual(RuntimePackages.package(for: "libx264.so.164"), "libx264-164")
        // Opened with dlopen by VideoIO, so not among the binary's NEEDED entries: listed from libavformat's version.
        XCTAssertEqual(RuntimePackages.openedAtRunTime(besides: ["libavformat.so.61", "libc.so.6"]), ["libavdevice.so.61", "libavfilter.so.10"])
        XCTAssertEqual(RuntimePackages.openedAtRunTime(besides: ["libavformat.so.59"]), ["libavdevice.so.59", "libavfilter.so.8"])
        XCTAssertEqual(RuntimePackages.openedAtRunTime(besides: ["libc.so.6"]), [])
        XCTAssertTrue(RuntimePackages.isSwiftRuntime("libswiftCore.so"))
        XCTAssertTrue(RuntimePackages.isSwiftRuntime("lib_FoundationICU.so"))
        XCTAssertFalse(RuntimePackages.isSwiftRuntime("libavutil.so.59"))
    }

    func testNeededLibrariesOfARealBinary() throws {
        XCTAssertTrue(try RuntimePackages.neededLibraries(of: "/bin/ls").contains("libc.so.6"))
    }

    /// FFmpeg's libraries are recognised by soname, and what a bundle holds is not asked of the board
    /// (this test binary links FFmpeg through VideoIO, as bitspot does).
    func testBundledLibrariesAreNotBoardPackages() throws {
        XCTAssertTrue(RuntimePackages.isFFmpeg("libavcodec.so.61"))
        XCTAssertTrue(RuntimePackages.isFFmpeg("libswscale.so.6"))
        XCTAssertFalse(RuntimePackages.isFFmpeg("libavahi-client.so.3"))
        XCTAssertFalse(RuntimePackages.isFFmpeg("libswiftCore.so"))
        let binary = CommandLine.arguments[0]
        let needed = try RuntimePackages.neededLibraries(of: binary).filter(RuntimePackages.isFFmpeg)
        try XCTSkipIf(needed.isEmpty, "\(binary) links no FFmpeg library")
        let all = try RuntimePackages.packages(for: [binary])
        XCTAssertTrue(all.contains { $0.hasPrefix("libavcodec") }, "\(all)")
        let opened = RuntimePackages.openedAtRunTime(besides: Set(needed))
        let rest = try RuntimePackages.packages(for: [binary], bundled: Set(needed + opened))
        XCTAssertFalse(rest.contains { $0.hasPrefix("libav") || $0.hasPrefix("libsw") }, "\(rest)")
        XCTAssertTrue(rest.contains("libc6"), "\(rest)")
    }

    func testSafePaths() {
        for ok in ["bin/bitspot", "Models/recognizer.bitnet", "a.b/c..d"] { XCTAssertTrue(BundlePath.isSafe(ok), ok) }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b"] { XCTAssertFalse(BundlePath.isSafe(bad), bad) }
    }

    func testManifestIsParsedStrictly() throws {
        let entry = Manifest.Entry(path: "bin/bitspot", bytes: 1, sha256: String(repeating: "a", count: 64), executable: true)
        let good = Manifest(bitspotVersion: "1", gitCommit: "x", target: .host, buildFlags: [], debianPackages: [], files: [entry])
        XCTAssertEqual(try Manifest.decode(try good.encoded(), source: "t"), good)
        var bad = good
        bad.files = [Manifest.Entry(path: "../evil", bytes: 1, sha256: entry.sha256, executable: false)]
        XCTAssertThrowsError(try Manifest.decode(try bad.encoded(), source: "t"))
        bad.files = [entry, entry]
        XCTAssertThrowsError(try Manifest.decode(try bad.encoded(), source: "t"))
        bad.files = [Manifest.Entry(path: "a", bytes: 1, sha256: "zz", executable: false)]
        XCTAssertThrowsError(try Manifest.decode(try bad.encoded(), source: "t"))
        XCTAssertThrowsError(try Manifest.decode(Data("{\"manifestVersion\": 1}".utf8), source: "t"))
        XCTAssertThrowsError(try Manifest.decode(Data([0xFF, 0x00]), source: "t"))
    }

    /// Caught by the fuzz-manifest invariant (Fuzz/) on a hand-made input: Character.isHexDigit also takes
    /// fullwidth digits, so a digest such as "０000…" passed as well-formed.
    func testManifestDigestIsASCIIHex() throws {
        let fullwidthZero = "\u{FF10}"
        let entry = Manifest.Entry(path: "a", bytes: 1, sha256: fullwidthZero + String(repeating: "0", count: 63), executable: false)
        let m = Manifest(bitspotVersion: "1", gitCommit: "x", target: .host, buildFlags: [], debianPackages: [], files: [entry])
        XCTAssertThrowsError(try Manifest.decode(try m.encoded(), source: "t")) { error in
            XCTAssertTrue("\(error)".contains("malformed SHA-256"), "\(error)")
        }
    }

    func testSHA256FromLibavutil() {
        XCTAssertEqual(Checksum.sha256(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Checksum.sha256(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

/// Bundles built from a real ELF binary and checked, tampered with, and refused.
final class BundleRoundTripTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-deploy-\(UUID().uuidString)")
        let src = work.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: src.appendingPathComponent("Models"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: src.appendingPathComponent("Samples"), withIntermediateDirectories: true)
        try Data("model bytes".utf8).write(to: src.appendingPathComponent("Models/tiny.bitnet"))
        try Data("{}".utf8).write(to: src.appendingPathComponent("Samples/sample.json"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func makeBundle(target: BundleTarget = .host) throws -> (String, Manifest) {
        let out = work.appendingPathComponent("b.tar.gz").path
        let a = BundleAssembler(binary: "/bin/ls", target: target, sourceRoot: work.appendingPathComponent("src").path,
                                version: "9.9", gitCommit: "abc", buildFlags: ["-c", "release"])
        return (out, try a.write(to: out))
    }

    func tar(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tar"] + args
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "tar \(args)")
    }

    func testBuildAndVerify() throws {
        let (out, manifest) = try makeBundle()
        XCTAssertEqual(manifest.triple, ELFMachine.current.triple)
        XCTAssertTrue(manifest.debianPackages.contains("libc6"))
        let paths = manifest.files.map(\.path)
        for p in ["bin/bitspot", "run.sh", "config/bitspot.env", "config/budget.txt", "systemd/bitspot-camera.service",
                  "README.md", "Models/tiny.bitnet", "Samples/sample.json"] {
            XCTAssertTrue(paths.contains(p), p)
        }
        XCTAssertTrue(manifest.files.first { $0.path == "run.sh" }!.executable)
        let report = try BundleVerifier.verify(out)
        XCTAssertEqual(report.filesChecked, manifest.files.count)
        XCTAssertTrue(report.matchesThisMachine)
        // No temporary files are left beside the archive.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted(), ["b.tar.gz", "src"])
    }

    func testWrongMachineIsRefused() throws {
        XCTAssertThrowsError(try makeBundle(target: ELFMachine.current == .x86_64 ? .linuxArm64 : .host)) { error in
            XCTAssertTrue("\(error)".contains("needs aarch64"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("b.tar.gz").path))
    }

    func unpacked() throws -> URL {
        let (out, _) = try makeBundle()
        let dir = work.appendingPathComponent("x")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try tar(["-xzf", out, "-C", dir.path])
        return dir.appendingPathComponent("bitspot-9.9-host")
    }

    func expectRefusal(_ path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try BundleVerifier.verify(path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testTamperedFile() throws {
        let dir = try unpacked()
        try Data("other model".utf8).write(to: dir.appendingPathComponent("Models/tiny.bitnet"))
        expectRefusal(dir.path, "Models/tiny.bitnet does not match its SHA-256")
    }

    func testUnlistedFile() throws {
        let dir = try unpacked()
        try Data("x".utf8).write(to: dir.appendingPathComponent("Models/extra.bin"))
        expectRefusal(dir.path, "not listed")
    }

    func testMissingFile() throws {
        let dir = try unpacked()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config/budget.txt"))
        expectRefusal(dir.path, "config/budget.txt is missing")
    }

    func testSymlinkInFolder() throws {
        let dir = try unpacked()
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("Models/link").path, withDestinationPath: "/etc/passwd")
        expectRefusal(dir.path, "symbolic link")
    }

    func testArchiveWithDotDotEntryIsRefusedBeforeExtraction() throws {
        let inner = work.appendingPathComponent("inner")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try Data("evil".utf8).write(to: work.appendingPathComponent("evil.txt"))
        let evil = work.appendingPathComponent("evil.tar.gz").path
        try tar(["-czPf", evil, "-C", inner.path, "../evil.txt"])
        expectRefusal(evil, "unsafe entry '../evil.txt'")
    }

    func testArchiveWithSymlinkIsRefused() throws {
        let inner = work.appendingPathComponent("linky/bitspot")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: inner.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")
        let archive = work.appendingPathComponent("link.tar.gz").path
        try tar(["-czf", archive, "-C", work.appendingPathComponent("linky").path, "bitspot"])
        expectRefusal(archive, "symbolic link")
    }

    func testNotAnArchive() throws {
        let junk = work.appendingPathComponent("junk.tar.gz").path
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: junk))
        expectRefusal(junk, "not a readable")
        expectRefusal(work.appendingPathComponent("none.tar.gz").path, "no such bundle")
    }
}
