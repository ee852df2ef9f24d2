// IA32_FEATURE_CONTROL, MSR 3AH (SDM Vol. 3C 24.7 "Enabling and Entering VMX Operation";
// Vol. 4 Table 2-2).

public struct FeatureControl: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Lock bit (bit 0): once set, WRMSR to the MSR faults until reset.
    public static let lock = Self(rawValue: 1 << 0)
    /// Enable VMX inside SMX operation (bit 1).
    public static let enableVMXInsideSMX = Self(rawValue: 1 << 1)
    /// Enable VMX outside SMX operation (bit 2).
    public static let enableVMXOutsideSMX = Self(rawValue: 1 << 2)
    /// SENTER local function enables (bits 14:8).
    public static let senterLocalFunctionEnables = Self(rawValue: 0x7F << 8)
    /// SENTER global enable (bit 15).
    public static let senterGlobalEnable = Self(rawValue: 1 << 15)
    /// SGX launch control enable (bit 17).
    public static let sgxLaunchControlEnable = Self(rawValue: 1 << 17)
    /// SGX global enable (bit 18).
    public static let sgxGlobalEnable = Self(rawValue: 1 << 18)
    /// LMCE on (bit 20): local machine check exceptions.
    public static let lmceOn = Self(rawValue: 1 << 20)

    /// Every bit the SDM defines: what WRMSR may set while the MSR is unlocked.
    public static let defined = Self(rawValue: 0x7 | 0x7F << 8 | 1 << 15 | 1 << 17 | 1 << 18 | 1 << 20)
}
