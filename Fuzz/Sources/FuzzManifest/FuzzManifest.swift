import Deploy
import Foundation
import FuzzSupport

/// Bundle manifests (`manifest.json`) and ELF headers, as `bitspot verify-bundle` reads them from a
/// board. An accepted manifest lists only safe, distinct paths with hex digests and reads back the same
/// after encoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    do {
        let m = try Manifest.decode(bytes, source: "fuzz")
        Fuzz.check(m.manifestVersion == 1, "manifest version \(m.manifestVersion) accepted")
        Fuzz.check(Set(m.files.map(\.path)).count == m.files.count, "duplicate paths accepted")
        for e in m.files {
            Fuzz.check(BundlePath.isSafe(e.path), "unsafe path '\(e.path)' accepted")
            Fuzz.check(!e.path.split(separator: "/").contains(".."), "'..' accepted in '\(e.path)'")
            Fuzz.check(e.sha256.utf8.count == 64 && e.sha256.utf8.allSatisfy { isHex($0) }, "bad digest '\(e.sha256)' accepted")
        }
        do {
            let again = try Manifest.decode(try m.encoded(), source: "fuzz (encoded)")
            Fuzz.check(again == m, "manifest does not read back the same after encoding")
        } catch {
            Fuzz.check(false, "an accepted manifest does not read back: \(error)")
        }
    } catch {
        Fuzz.check(error is DeployError, "Manifest.decode threw \(type(of: error))")
    }

    let raw = Array(UnsafeBufferPointer(start: data, count: size))
    if let elf = ELFHeader.parse(raw) {
        Fuzz.check(raw.count >= 20 && raw.starts(with: [0x7F, 0x45, 0x4C, 0x46]), "ELF header accepted without the magic")
        _ = elf.machine
    }
    _ = BundlePath.isSafe(String(decoding: raw, as: UTF8.self))
    return 0
}

private func isHex(_ c: UInt8) -> Bool {
    (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
}
