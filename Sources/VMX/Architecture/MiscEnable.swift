// IA32_MISC_ENABLE (MSR 1A0H; SDM Vol. 4 Table 2-2 "IA-32 Architectural MSRs"): the bits the
// pass-through guest is shown.

/// IA32_MISC_ENABLE.
public struct MiscEnable: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Bit 0: Fast-Strings Enable.
    public static let fastStrings = Self(rawValue: 1 << 0)
    /// Bit 11: Branch Trace Storage Unavailable (read-only).
    public static let branchTraceStorageUnavailable = Self(rawValue: 1 << 11)
    /// Bit 12: Processor Event Based Sampling (PEBS) Unavailable (read-only).
    public static let pebsUnavailable = Self(rawValue: 1 << 12)
}
