// Architectural MSR addresses the hypervisor uses (SDM Vol. 4, "Model-Specific Registers";
// the VMX capability MSRs are described in SDM Vol. 3C Appendix A).

public enum MSR {
    public static let ia32TimeStampCounter: UInt32 = 0x10
    public static let ia32APICBase: UInt32 = 0x1B
    public static let ia32FeatureControl: UInt32 = 0x3A
    /// IA32_BIOS_UPDT_TRIG: writing it loads a microcode update (SDM Vol. 3A 11.11.6).
    public static let ia32BIOSUpdateTrigger: UInt32 = 0x79
    /// IA32_SMM_MONITOR_CTL: writable only in SMM (SDM Vol. 3C 32.15.5).
    public static let ia32SMMMonitorCtl: UInt32 = 0x9B
    /// IA32_BIOS_SIGN_ID: the loaded microcode's revision in bits 63:32 (SDM Vol. 3A 11.11.7).
    public static let ia32BIOSSignID: UInt32 = 0x8B
    /// IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2).
    public static let ia32MiscEnable: UInt32 = 0x1A0
    public static let ia32SysenterCS: UInt32 = 0x174
    public static let ia32SysenterESP: UInt32 = 0x175
    public static let ia32SysenterEIP: UInt32 = 0x176
    public static let ia32DebugCtl: UInt32 = 0x1D9
    public static let ia32PAT: UInt32 = 0x277
    public static let ia32PerfGlobalCtrl: UInt32 = 0x38F
    public static let ia32EFER: UInt32 = 0xC000_0080
    public static let ia32STAR: UInt32 = 0xC000_0081
    public static let ia32LSTAR: UInt32 = 0xC000_0082
    public static let ia32CSTAR: UInt32 = 0xC000_0083
    public static let ia32FMASK: UInt32 = 0xC000_0084
    public static let ia32FSBase: UInt32 = 0xC000_0100
    public static let ia32GSBase: UInt32 = 0xC000_0101
    public static let ia32KernelGSBase: UInt32 = 0xC000_0102
    public static let ia32TSCAux: UInt32 = 0xC000_0103

    // VMX capability MSRs (SDM Vol. 3C Appendix A).
    public static let ia32VMXBasic: UInt32 = 0x480
    public static let ia32VMXPinbasedCtls: UInt32 = 0x481
    public static let ia32VMXProcbasedCtls: UInt32 = 0x482
    public static let ia32VMXExitCtls: UInt32 = 0x483
    public static let ia32VMXEntryCtls: UInt32 = 0x484
    public static let ia32VMXMisc: UInt32 = 0x485
    public static let ia32VMXCR0Fixed0: UInt32 = 0x486
    public static let ia32VMXCR0Fixed1: UInt32 = 0x487
    public static let ia32VMXCR4Fixed0: UInt32 = 0x488
    public static let ia32VMXCR4Fixed1: UInt32 = 0x489
    public static let ia32VMXVMCSEnum: UInt32 = 0x48A
    public static let ia32VMXProcbasedCtls2: UInt32 = 0x48B
    public static let ia32VMXEPTVPIDCap: UInt32 = 0x48C
    public static let ia32VMXTruePinbasedCtls: UInt32 = 0x48D
    public static let ia32VMXTrueProcbasedCtls: UInt32 = 0x48E
    public static let ia32VMXTrueExitCtls: UInt32 = 0x48F
    public static let ia32VMXTrueEntryCtls: UInt32 = 0x490
    public static let ia32VMXVMFunc: UInt32 = 0x491
    public static let ia32VMXProcbasedCtls3: UInt32 = 0x492
    public static let ia32VMXExitCtls2: UInt32 = 0x493
}
