import BitKernels

/// What this target offers on this build: the AVX2 + POPCNT kernels when it was compiled for x86-64 with
/// the tier's flags (`BITSPOT_X86_TIER`, set in Package.swift next to `-mavx2`), nothing otherwise
/// (another architecture, or `BITSPOT_TARGET_ARCH` naming one). Check the CPU before using them.
public enum X86Tier {
    /// The tier's kernels, or nil when this build has no x86-64 tier.
    public static var kernels: KernelSet? {
        #if arch(x86_64) && BITSPOT_X86_TIER
        return .x86AVX2
        #else
        return nil
        #endif
    }

    /// The portable roofline loop compiled with the tier's flags (for the benchmark), or nil.
    public static var autoVectorisedLoop: (@Sendable (Int, UInt64) -> Int)? {
        #if arch(x86_64) && BITSPOT_X86_TIER
        return X86Kernels.autoVectorisedLoop
        #else
        return nil
        #endif
    }
}
