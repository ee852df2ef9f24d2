// Primary VM-exit controls (SDM 25.7.1): what a VM exit saves and loads.
// Allowed settings: IA32_VMX_EXIT_CTLS / IA32_VMX_TRUE_EXIT_CTLS (SDM A.4.1).

public struct VMExitControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Save debug controls
    public static let saveDebugControls = Self(rawValue: 1 << 2)
    /// Host address-space size
    public static let hostAddressSpaceSize = Self(rawValue: 1 << 9)
    /// Load IA32_PERF_GLOBAL_CTRL
    public static let loadIA32PerfGlobalCtrl = Self(rawValue: 1 << 12)
    /// Acknowledge interrupt on exit
    public static let acknowledgeInterruptOnExit = Self(rawValue: 1 << 15)
    /// Save IA32_PAT
    public static let saveIA32PAT = Self(rawValue: 1 << 18)
    /// Load IA32_PAT
    public static let loadIA32PAT = Self(rawValue: 1 << 19)
    /// Save IA32_EFER
    public static let saveIA32EFER = Self(rawValue: 1 << 20)
    /// Load IA32_EFER
    public static let loadIA32EFER = Self(rawValue: 1 << 21)
    /// Save VMX-preemption timer value
    public static let saveVMXPreemptionTimerValue = Self(rawValue: 1 << 22)
    /// Clear IA32_BNDCFGS
    public static let clearIA32BNDCFGS = Self(rawValue: 1 << 23)
    /// Conceal VMX from PT
    public static let concealVMXFromPT = Self(rawValue: 1 << 24)
    /// Clear IA32_RTIT_CTL
    public static let clearIA32RTITCtl = Self(rawValue: 1 << 25)
    /// Clear IA32_LBR_CTL
    public static let clearIA32LBRCtl = Self(rawValue: 1 << 26)
    /// Clear UINV
    public static let clearUINV = Self(rawValue: 1 << 27)
    /// Load CET state
    public static let loadCETState = Self(rawValue: 1 << 28)
    /// Load PKRS
    public static let loadPKRS = Self(rawValue: 1 << 29)
    /// Save IA32_PERF_GLOBAL_CTRL
    public static let saveIA32PerfGlobalCtrl = Self(rawValue: 1 << 30)
    /// Activate secondary controls
    public static let activateSecondaryControls = Self(rawValue: 1 << 31)

    /// Bits 0-8, 10, 11, 13, 14, 16 and 17 (SDM A.2). Bit 2 is "save debug controls": only
    /// IA32_VMX_TRUE_EXIT_CTLS can allow its 0-setting.
    public static let defaultOneBits = Self(rawValue: 0x0003_6DFF)
    public static let fieldName = "VM-exit controls"
}
