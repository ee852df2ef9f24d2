// IA32_EFER, the extended feature enable register (SDM Vol. 3A 2.2.1, Figure 2-4; Vol. 4
// Table 2-2, MSR C0000080H).

public struct ExtendedFeatureEnable: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// IA32_EFER.SCE (bit 0): SYSCALL enable.
    public static let sce = Self(rawValue: 1 << 0)
    /// IA32_EFER.LME (bit 8): IA-32e mode enable.
    public static let lme = Self(rawValue: 1 << 8)
    /// IA32_EFER.LMA (bit 10): IA-32e mode active.
    public static let lma = Self(rawValue: 1 << 10)
    /// IA32_EFER.NXE (bit 11): execute-disable bit enable.
    public static let nxe = Self(rawValue: 1 << 11)

    /// The bits the SDM defines: SCE, LME, LMA, NXE.
    public static let defined: Self = Self(rawValue: 1 << 0 | 1 << 8 | 1 << 10 | 1 << 11)
    /// LME and LMA: the value of a processor in IA-32e mode.
    public static let ia32eMode: Self = Self(rawValue: 1 << 8 | 1 << 10)
}
