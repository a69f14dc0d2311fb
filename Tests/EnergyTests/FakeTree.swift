import Foundation
import XCTest
@testable import Energy

/// A temporary folder standing in for `/`, with helpers to write sysfs-like files.
final class FakeTree {
    let root: URL

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bitspot-energy-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var path: String { root.path }

    /// Writes a file in place (same inode, as sysfs values change), so meters that keep it open see the change.
    func write(_ absolute: String, _ text: String) {
        let url = root.appendingPathComponent(String(absolute.dropFirst()))
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard let f = fopen(url.path, "w") else { return XCTFail("cannot write \(url.path)") }
        fputs(text, f)
        fclose(f)
    }

    func mkdir(_ absolute: String) {
        try! FileManager.default.createDirectory(at: root.appendingPathComponent(String(absolute.dropFirst())), withIntermediateDirectories: true)
    }

    func remove(_ absolute: String) {
        try? FileManager.default.removeItem(at: root.appendingPathComponent(String(absolute.dropFirst())))
    }

    /// An executable script at the given name inside the tree.
    func script(_ name: String, _ body: String) -> String {
        let url = root.appendingPathComponent(name)
        try! Data(("#!/bin/sh\n" + body).utf8).write(to: url)
        try! FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    var files: FileAccess { FileAccess(root: path) }

    /// Files that deny reading paths containing `denied`, as a non-root user would see them.
    func files(denying denied: String) -> FileAccess {
        FileAccess(root: path) { p in
            if p.contains(denied) { throw EnergyError(.notPermitted, p, "permission denied") }
            return try FileAccess.posixRead(p)
        }
    }
}

func XCTAssertEnergyError<T>(_ category: EnergyError.Category, _ body: @autoclosure () throws -> T, contains text: String? = nil,
                          file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an EnergyError (\(category))", file: file, line: line)
    } catch let e as EnergyError {
        XCTAssertEqual(e.category, category, "\(e)", file: file, line: line)
        if let text { XCTAssertTrue(e.description.contains(text), "'\(e)' should contain '\(text)'", file: file, line: line) }
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
