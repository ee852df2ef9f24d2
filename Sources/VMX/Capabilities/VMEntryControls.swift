// VM-entry controls (SDM 25.8.1): what a VM entry loads and in which mode the
// guest runs. Allowed settings: IA32_VMX_ENTRY_CTLS / IA32_VMX_TRUE_ENTRY_CTLS (SDM A.5).

public struct VMEntryControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Load debug controls
    public static let loadDebugControls = Self(rawValue: 1 << 2)
    /// IA-32e mode guest
    public static let ia32eModeGuest = Self(rawValue: 1 << 9)
    /// Entry to SMM
    public static let entryToSMM = Self(rawValue: 1 << 10)
    /// Deactivate dual-monitor treatment
    public static let deactivateDualMonitorTreatment = Self(rawValue: 1 << 11)
    /// Load IA32_PERF_GLOBAL_CTRL
    public static let loadIA32PerfGlobalCtrl = Self(rawValue: 1 << 13)
    /// Load IA32_PAT
    public static let loadIA32PAT = Self(rawValue: 1 << 14)
    /// Load IA32_EFER
    public static let loadIA32EFER = Self(rawValue: 1 << 15)
    /// Load IA32_BNDCFGS
    public static let loadIA32BNDCFGS = Self(rawValue: 1 << 16)
    /// Conceal VMX from PT
    public static let concealVMXFromPT = Self(rawValue: 1 << 17)
    /// Load IA32_RTIT_CTL
    public static let loadIA32RTITCtl = Self(rawValue: 1 << 18)
    /// Load UINV
    public static let loadUINV = Self(rawValue: 1 << 19)
    /// Load CET state
    public static let loadCETState = Self(rawValue: 1 << 20)
    /// Load guest IA32_LBR_CTL
    public static let loadGuestIA32LBRCtl = Self(rawValue: 1 << 21)
    /// Load PKRS
    public static let loadPKRS = Self(rawValue: 1 << 22)
    /// Load FRED
    /// From the Intel FRED specification; not yet in SDM edition 080.
    public static let loadFRED = Self(rawValue: 1 << 23)

    /// Bits 0-8 and 12 (SDM A.2). Bit 2 is "load debug controls": only
    /// IA32_VMX_TRUE_ENTRY_CTLS can allow its 0-setting.
    public static let defaultOneBits = Self(rawValue: 0x0000_11FF)
    public static let fieldName = "VM-entry controls"
}
