import Foundation

/// `manifest.json`: what a bundle holds and how it was made.
public struct Manifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// Path inside the bundle, `/`-separated, relative.
        public var path: String
        public var bytes: Int
        public var sha256: String
        public var executable: Bool
    }

    /// Format version of this manifest.
    public var manifestVersion = 1
    public var bitspotVersion: String
    public var gitCommit: String
    public var target: String
    public var triple: String
    public var buildFlags: [String]
    /// Debian packages the board must have (runtime libraries the binary links).
    public var debianPackages: [String]
    public var files: [Entry]
    /// Where FFmpeg comes from: `system` (the board's Debian packages, listed in `debianPackages`) or
    /// `bundled` (shared libraries in `lib/`, e.g. a lean build). Absent in bundles made before it existed.
    public var ffmpeg: String?

    public init(bitspotVersion: String, gitCommit: String, target: BundleTarget, buildFlags: [String], debianPackages: [String],
                files: [Entry], ffmpeg: String? = "system") {
        self.bitspotVersion = bitspotVersion
        self.gitCommit = gitCommit
        self.target = target.rawValue
        self.triple = target.triple
        self.buildFlags = buildFlags
        self.debianPackages = debianPackages
        self.files = files
        self.ffmpeg = ffmpeg
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Parses a manifest strictly: every path relative, no `..`, no duplicates, hex digests.
    public static func decode(_ data: Data, source: String) throws -> Manifest {
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw DeployError(.invalid, source, "manifest.json is not a valid manifest (\(error))".replacingOccurrences(of: "\n", with: " "))
        }
        guard m.manifestVersion == 1 else { throw DeployError(.invalid, source, "unsupported manifest version \(m.manifestVersion)") }
        var seen = Set<String>()
        for e in m.files {
            guard BundlePath.isSafe(e.path) else { throw DeployError(.invalid, source, "manifest lists an unsafe path '\(e.path)'") }
            guard seen.insert(e.path).inserted else { throw DeployError(.invalid, source, "manifest lists '\(e.path)' twice") }
            // ASCII only: Character.isHexDigit also takes the fullwidth forms (U+FF10...).
            guard e.sha256.count == 64, e.sha256.allSatisfy({ $0.isASCII && $0.isHexDigit }) else {
                throw DeployError(.invalid, source, "manifest has a malformed SHA-256 for '\(e.path)'")
            }
        }
        return m
    }
}

/// Rules for paths inside a bundle.
public enum BundlePath {
    /// Relative, no empty, `.` or `..` components, no backslashes or NULs.
    public static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0") else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
