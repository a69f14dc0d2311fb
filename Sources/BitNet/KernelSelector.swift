import BitKernels
import BitKernelsX86
import _BitKernelsShims

/// Picks the kernel tier once, at model load.
public enum KernelSelector {
    /// The tiers this CPU can run, best first (the reference last).
    public static var available: [KernelTier] {
        var tiers: [KernelTier] = []
        if X86Tier.kernels != nil && bitkernels_cpu_has_x86_avx2_popcnt() != 0 { tiers.append(.x86AVX2) }
        #if arch(arm64)
        tiers.append(.arm64NEON)
        #endif
        tiers += [.generic, .reference]
        return tiers
    }

    /// The kernels of `forced`, or of the best tier when nil. Throws when a forced tier cannot run here.
    public static func kernels(forced: KernelTier? = nil) throws(BitNetError) -> KernelSet {
        let tier = forced ?? available[0]
        guard available.contains(tier) else {
            throw BitNetError(.unsupported, "kernel tier \(tier.rawValue) cannot run on this CPU (available: "
                              + available.map(\.rawValue).joined(separator: ", ") + ")")
        }
        switch tier {
        case .reference: return .reference
        case .generic: return .generic
        case .x86AVX2:
            return X86Tier.kernels ?? .generic
        case .arm64NEON:
            #if arch(arm64)
            return .arm64NEON
            #else
            return .generic
            #endif
        }
    }
}
