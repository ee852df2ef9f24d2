// VM-entry controls (SDM 25.8.1): what a VM entry loads and in which mode the
// guest runs. Allowed settings: IA32_VMX_ENTRY_CTLS / IA32_VMX_TRUE_ENTRY_CTLS (SDM A.5).

public struct VMEntryControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let loadDebugControls = Self(rawValue: 1 << 2)
    public static let ia32eModeGuest = Self(rawValue: 1 << 9)
    public static let entryToSMM = Self(rawValue: 1 << 10)
    public static let deactivateDualMonitorTreatment = Self(rawValue: 1 << 11)
    public static let loadIA32PerfGlobalCtrl = Self(rawValue: 1 << 13)
    public static let loadIA32PAT = Self(rawValue: 1 << 14)
    public static let loadIA32EFER = Self(rawValue: 1 << 15)
    public static let loadIA32BNDCFGS = Self(rawValue: 1 << 16)
    public static let concealVMXFromPT = Self(rawValue: 1 << 17)
    public static let loadIA32RTITCtl = Self(rawValue: 1 << 18)
    public static let loadUINV = Self(rawValue: 1 << 19)
    public static let loadCETState = Self(rawValue: 1 << 20)
    public static let loadGuestIA32LBRCtl = Self(rawValue: 1 << 21)
    public static let loadPKRS = Self(rawValue: 1 << 22)
    /// From the Intel FRED specification; not yet in SDM edition 080.
    public static let loadFRED = Self(rawValue: 1 << 23)

    public static let namedBits: [NamedBit] = [
        NamedBit(2, "Load debug controls"),
        NamedBit(9, "IA-32e mode guest"),
        NamedBit(10, "Entry to SMM"),
        NamedBit(11, "Deactivate dual-monitor treatment"),
        NamedBit(13, "Load IA32_PERF_GLOBAL_CTRL"),
        NamedBit(14, "Load IA32_PAT"),
        NamedBit(15, "Load IA32_EFER"),
        NamedBit(16, "Load IA32_BNDCFGS"),
        NamedBit(17, "Conceal VMX from PT"),
        NamedBit(18, "Load IA32_RTIT_CTL"),
        NamedBit(19, "Load UINV"),
        NamedBit(20, "Load CET state"),
        NamedBit(21, "Load guest IA32_LBR_CTL"),
        NamedBit(22, "Load PKRS"),
        NamedBit(23, "Load FRED"),
    ]

    /// Bits 0-8 and 12 (SDM A.2). Bit 2 is "load debug controls": only
    /// IA32_VMX_TRUE_ENTRY_CTLS can allow its 0-setting.
    public static let defaultOneBits = Self(rawValue: 0x0000_11FF)
    public static let fieldName = "VM-entry controls"
}
