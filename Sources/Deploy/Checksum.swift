import CFFmpeg
import Foundation

/// SHA-256 through libavutil.
public enum Checksum {
    public static func sha256(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { raw in
            _ = bitspot_sha256(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &digest)
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func sha256(file path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeployError(.missing, path, "cannot read")
        }
        return sha256(data)
    }
}
