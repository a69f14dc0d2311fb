/// A machine a bundle is built for.
public enum BundleTarget: String, Sendable, CaseIterable, Codable {
    /// The machine doing the build (for tests and x86-64 deployments).
    case host
    /// 64-bit Raspberry Pi OS (Debian trixie, aarch64).
    case linuxArm64 = "linux-arm64"

    /// The target triple written in the manifest.
    public var triple: String {
        switch self {
        case .host: return ELFMachine.current.triple
        case .linuxArm64: return "aarch64-unknown-linux-gnu"
        }
    }

    /// The ELF machine every binary in the bundle must be built for.
    public var machine: ELFMachine {
        switch self {
        case .host: return .current
        case .linuxArm64: return .aarch64
        }
    }

    public init(parsing text: String) throws {
        guard let t = BundleTarget(rawValue: text) else {
            throw DeployError(.badRequest, "--target", "unknown target '\(text)'; choose \(BundleTarget.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        self = t
    }
}

/// The ELF `e_machine` values BitSpot builds for.
public enum ELFMachine: UInt16, Sendable, Codable {
    case x86_64 = 62
    case aarch64 = 183

    public static var current: ELFMachine {
        #if arch(arm64)
        return .aarch64
        #else
        return .x86_64
        #endif
    }

    public var triple: String {
        switch self {
        case .x86_64: return "x86_64-unknown-linux-gnu"
        case .aarch64: return "aarch64-unknown-linux-gnu"
        }
    }

    public var name: String { self == .x86_64 ? "x86-64" : "aarch64" }
}
