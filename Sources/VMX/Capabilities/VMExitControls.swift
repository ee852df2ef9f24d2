// Primary VM-exit controls (SDM 25.7.1): what a VM exit saves and loads.
// Allowed settings: IA32_VMX_EXIT_CTLS / IA32_VMX_TRUE_EXIT_CTLS (SDM A.4.1).

public struct VMExitControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let saveDebugControls = Self(rawValue: 1 << 2)
    public static let hostAddressSpaceSize = Self(rawValue: 1 << 9)
    public static let loadIA32PerfGlobalCtrl = Self(rawValue: 1 << 12)
    public static let acknowledgeInterruptOnExit = Self(rawValue: 1 << 15)
    public static let saveIA32PAT = Self(rawValue: 1 << 18)
    public static let loadIA32PAT = Self(rawValue: 1 << 19)
    public static let saveIA32EFER = Self(rawValue: 1 << 20)
    public static let loadIA32EFER = Self(rawValue: 1 << 21)
    public static let saveVMXPreemptionTimerValue = Self(rawValue: 1 << 22)
    public static let clearIA32BNDCFGS = Self(rawValue: 1 << 23)
    public static let concealVMXFromPT = Self(rawValue: 1 << 24)
    public static let clearIA32RTITCtl = Self(rawValue: 1 << 25)
    public static let clearIA32LBRCtl = Self(rawValue: 1 << 26)
    public static let clearUINV = Self(rawValue: 1 << 27)
    public static let loadCETState = Self(rawValue: 1 << 28)
    public static let loadPKRS = Self(rawValue: 1 << 29)
    public static let saveIA32PerfGlobalCtrl = Self(rawValue: 1 << 30)
    public static let activateSecondaryControls = Self(rawValue: 1 << 31)

    public static let namedBits: [NamedBit] = [
        NamedBit(2, "Save debug controls"),
        NamedBit(9, "Host address-space size"),
        NamedBit(12, "Load IA32_PERF_GLOBAL_CTRL"),
        NamedBit(15, "Acknowledge interrupt on exit"),
        NamedBit(18, "Save IA32_PAT"),
        NamedBit(19, "Load IA32_PAT"),
        NamedBit(20, "Save IA32_EFER"),
        NamedBit(21, "Load IA32_EFER"),
        NamedBit(22, "Save VMX-preemption timer value"),
        NamedBit(23, "Clear IA32_BNDCFGS"),
        NamedBit(24, "Conceal VMX from PT"),
        NamedBit(25, "Clear IA32_RTIT_CTL"),
        NamedBit(26, "Clear IA32_LBR_CTL"),
        NamedBit(27, "Clear UINV"),
        NamedBit(28, "Load CET state"),
        NamedBit(29, "Load PKRS"),
        NamedBit(30, "Save IA32_PERF_GLOBAL_CTRL"),
        NamedBit(31, "Activate secondary controls"),
    ]

    /// Bits 0-8, 10, 11, 13, 14, 16 and 17 (SDM A.2). Bit 2 is "save debug controls": only
    /// IA32_VMX_TRUE_EXIT_CTLS can allow its 0-setting.
    public static let defaultOneBits = Self(rawValue: 0x0003_6DFF)
    public static let fieldName = "VM-exit controls"
}
