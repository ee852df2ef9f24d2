// Architectural MSR addresses the hypervisor uses (SDM Vol. 4, "Model-Specific Registers";
// the VMX capability MSRs are described in SDM Vol. 3C Appendix A).

/// An MSR address, the operand RDMSR and WRMSR take in ECX. An integer literal is an address
/// (`0x48E`), as the SDM's tables list them.
public struct MSR: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt32) { rawValue = value }

    public static let ia32TimeStampCounter = MSR(rawValue: 0x10)
    public static let ia32APICBase = MSR(rawValue: 0x1B)
    public static let ia32FeatureControl = MSR(rawValue: 0x3A)
    /// IA32_BIOS_UPDT_TRIG: writing it loads a microcode update (SDM Vol. 3A 11.11.6).
    public static let ia32BIOSUpdateTrigger = MSR(rawValue: 0x79)
    /// IA32_SMM_MONITOR_CTL: writable only in SMM (SDM Vol. 3C 32.15.5).
    public static let ia32SMMMonitorCtl = MSR(rawValue: 0x9B)
    /// IA32_BIOS_SIGN_ID: the loaded microcode's revision in bits 63:32 (SDM Vol. 3A 11.11.7).
    public static let ia32BIOSSignID = MSR(rawValue: 0x8B)
    /// IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2).
    public static let ia32MiscEnable = MSR(rawValue: 0x1A0)
    public static let ia32SysenterCS = MSR(rawValue: 0x174)
    public static let ia32SysenterESP = MSR(rawValue: 0x175)
    public static let ia32SysenterEIP = MSR(rawValue: 0x176)
    public static let ia32DebugCtl = MSR(rawValue: 0x1D9)
    public static let ia32PAT = MSR(rawValue: 0x277)
    public static let ia32PerfGlobalCtrl = MSR(rawValue: 0x38F)
    public static let ia32EFER = MSR(rawValue: 0xC000_0080)
    public static let ia32STAR = MSR(rawValue: 0xC000_0081)
    public static let ia32LSTAR = MSR(rawValue: 0xC000_0082)
    public static let ia32CSTAR = MSR(rawValue: 0xC000_0083)
    public static let ia32FMASK = MSR(rawValue: 0xC000_0084)
    public static let ia32FSBase = MSR(rawValue: 0xC000_0100)
    public static let ia32GSBase = MSR(rawValue: 0xC000_0101)
    public static let ia32KernelGSBase = MSR(rawValue: 0xC000_0102)
    public static let ia32TSCAux = MSR(rawValue: 0xC000_0103)

    // VMX capability MSRs (SDM Vol. 3C Appendix A).
    public static let ia32VMXBasic = MSR(rawValue: 0x480)
    public static let ia32VMXPinbasedCtls = MSR(rawValue: 0x481)
    public static let ia32VMXProcbasedCtls = MSR(rawValue: 0x482)
    public static let ia32VMXExitCtls = MSR(rawValue: 0x483)
    public static let ia32VMXEntryCtls = MSR(rawValue: 0x484)
    public static let ia32VMXMisc = MSR(rawValue: 0x485)
    public static let ia32VMXCR0Fixed0 = MSR(rawValue: 0x486)
    public static let ia32VMXCR0Fixed1 = MSR(rawValue: 0x487)
    public static let ia32VMXCR4Fixed0 = MSR(rawValue: 0x488)
    public static let ia32VMXCR4Fixed1 = MSR(rawValue: 0x489)
    public static let ia32VMXVMCSEnum = MSR(rawValue: 0x48A)
    public static let ia32VMXProcbasedCtls2 = MSR(rawValue: 0x48B)
    public static let ia32VMXEPTVPIDCap = MSR(rawValue: 0x48C)
    public static let ia32VMXTruePinbasedCtls = MSR(rawValue: 0x48D)
    public static let ia32VMXTrueProcbasedCtls = MSR(rawValue: 0x48E)
    public static let ia32VMXTrueExitCtls = MSR(rawValue: 0x48F)
    public static let ia32VMXTrueEntryCtls = MSR(rawValue: 0x490)
    public static let ia32VMXVMFunc = MSR(rawValue: 0x491)
    public static let ia32VMXProcbasedCtls3 = MSR(rawValue: 0x492)
    public static let ia32VMXExitCtls2 = MSR(rawValue: 0x493)
}
