// The VMX capability MSRs of one processor, as raw values (SDM Appendix A), and the rules
// for which of them exist. Reading an MSR that does not exist raises #GP, so `read` reads
// each one only where the SDM says it exists. The raw values are what the fixtures capture
// (docs/FIXTURES.md); everything else is decoded from them.

public struct VMXCapabilities: Equatable, Sendable {
    // Present whenever CPUID.1:ECX.VMX[bit 5] = 1 (SDM A.1-A.9).
    public var ia32VMXBasic: UInt64
    public var ia32VMXPinbasedCtls: UInt64
    public var ia32VMXProcbasedCtls: UInt64
    public var ia32VMXExitCtls: UInt64
    public var ia32VMXEntryCtls: UInt64
    public var ia32VMXMisc: UInt64
    public var ia32VMXCR0Fixed0: UInt64
    public var ia32VMXCR0Fixed1: UInt64
    public var ia32VMXCR4Fixed0: UInt64
    public var ia32VMXCR4Fixed1: UInt64
    public var ia32VMXVMCSEnum: UInt64

    // Present only where the `has...` rules below say the MSR exists; nil otherwise.
    public var ia32VMXProcbasedCtls2: UInt64?
    public var ia32VMXEPTVPIDCap: UInt64?
    public var ia32VMXTruePinbasedCtls: UInt64?
    public var ia32VMXTrueProcbasedCtls: UInt64?
    public var ia32VMXTrueExitCtls: UInt64?
    public var ia32VMXTrueEntryCtls: UInt64?
    public var ia32VMXVMFunc: UInt64?
    public var ia32VMXProcbasedCtls3: UInt64?
    public var ia32VMXExitCtls2: UInt64?

    public init(
        ia32VMXBasic: UInt64, ia32VMXPinbasedCtls: UInt64, ia32VMXProcbasedCtls: UInt64,
        ia32VMXExitCtls: UInt64, ia32VMXEntryCtls: UInt64, ia32VMXMisc: UInt64,
        ia32VMXCR0Fixed0: UInt64, ia32VMXCR0Fixed1: UInt64,
        ia32VMXCR4Fixed0: UInt64, ia32VMXCR4Fixed1: UInt64, ia32VMXVMCSEnum: UInt64,
        ia32VMXProcbasedCtls2: UInt64? = nil, ia32VMXEPTVPIDCap: UInt64? = nil,
        ia32VMXTruePinbasedCtls: UInt64? = nil, ia32VMXTrueProcbasedCtls: UInt64? = nil,
        ia32VMXTrueExitCtls: UInt64? = nil, ia32VMXTrueEntryCtls: UInt64? = nil,
        ia32VMXVMFunc: UInt64? = nil, ia32VMXProcbasedCtls3: UInt64? = nil,
        ia32VMXExitCtls2: UInt64? = nil
    ) {
        self.ia32VMXBasic = ia32VMXBasic
        self.ia32VMXPinbasedCtls = ia32VMXPinbasedCtls
        self.ia32VMXProcbasedCtls = ia32VMXProcbasedCtls
        self.ia32VMXExitCtls = ia32VMXExitCtls
        self.ia32VMXEntryCtls = ia32VMXEntryCtls
        self.ia32VMXMisc = ia32VMXMisc
        self.ia32VMXCR0Fixed0 = ia32VMXCR0Fixed0
        self.ia32VMXCR0Fixed1 = ia32VMXCR0Fixed1
        self.ia32VMXCR4Fixed0 = ia32VMXCR4Fixed0
        self.ia32VMXCR4Fixed1 = ia32VMXCR4Fixed1
        self.ia32VMXVMCSEnum = ia32VMXVMCSEnum
        self.ia32VMXProcbasedCtls2 = ia32VMXProcbasedCtls2
        self.ia32VMXEPTVPIDCap = ia32VMXEPTVPIDCap
        self.ia32VMXTruePinbasedCtls = ia32VMXTruePinbasedCtls
        self.ia32VMXTrueProcbasedCtls = ia32VMXTrueProcbasedCtls
        self.ia32VMXTrueExitCtls = ia32VMXTrueExitCtls
        self.ia32VMXTrueEntryCtls = ia32VMXTrueEntryCtls
        self.ia32VMXVMFunc = ia32VMXVMFunc
        self.ia32VMXProcbasedCtls3 = ia32VMXProcbasedCtls3
        self.ia32VMXExitCtls2 = ia32VMXExitCtls2
    }

    /// Reads every VMX capability MSR that exists on `cpu`, and no other. The caller has
    /// checked CPUID.1:ECX.VMX[bit 5] = 1, without which none of them exists (SDM 24.6, A).
    public static func read<P: Processor>(from cpu: P) -> VMXCapabilities {
        read(using: { cpu.readMSR($0) })
    }

    /// Reads the capability MSRs through `readMSR`, asking only for those that exist (each
    /// rule depends only on MSRs read before it). Also serves fixtures and other sources.
    public static func read(using readMSR: (MSR) -> UInt64) -> VMXCapabilities {
        var caps = VMXCapabilities(
            ia32VMXBasic: readMSR(MSR.ia32VMXBasic),
            ia32VMXPinbasedCtls: readMSR(MSR.ia32VMXPinbasedCtls),
            ia32VMXProcbasedCtls: readMSR(MSR.ia32VMXProcbasedCtls),
            ia32VMXExitCtls: readMSR(MSR.ia32VMXExitCtls),
            ia32VMXEntryCtls: readMSR(MSR.ia32VMXEntryCtls),
            ia32VMXMisc: readMSR(MSR.ia32VMXMisc),
            ia32VMXCR0Fixed0: readMSR(MSR.ia32VMXCR0Fixed0),
            ia32VMXCR0Fixed1: readMSR(MSR.ia32VMXCR0Fixed1),
            ia32VMXCR4Fixed0: readMSR(MSR.ia32VMXCR4Fixed0),
            ia32VMXCR4Fixed1: readMSR(MSR.ia32VMXCR4Fixed1),
            ia32VMXVMCSEnum: readMSR(MSR.ia32VMXVMCSEnum))
        if caps.hasTrueControls {
            caps.ia32VMXTruePinbasedCtls = readMSR(MSR.ia32VMXTruePinbasedCtls)
            caps.ia32VMXTrueProcbasedCtls = readMSR(MSR.ia32VMXTrueProcbasedCtls)
            caps.ia32VMXTrueExitCtls = readMSR(MSR.ia32VMXTrueExitCtls)
            caps.ia32VMXTrueEntryCtls = readMSR(MSR.ia32VMXTrueEntryCtls)
        }
        if caps.hasProcbasedCtls2 { caps.ia32VMXProcbasedCtls2 = readMSR(MSR.ia32VMXProcbasedCtls2) }
        if caps.hasProcbasedCtls3 { caps.ia32VMXProcbasedCtls3 = readMSR(MSR.ia32VMXProcbasedCtls3) }
        if caps.hasExitCtls2 { caps.ia32VMXExitCtls2 = readMSR(MSR.ia32VMXExitCtls2) }
        if caps.hasEPTVPIDCap { caps.ia32VMXEPTVPIDCap = readMSR(MSR.ia32VMXEPTVPIDCap) }
        if caps.hasVMFunc { caps.ia32VMXVMFunc = readMSR(MSR.ia32VMXVMFunc) }
        return caps
    }

    /// Whether the optional MSRs are present exactly where the rules say they exist: a check
    /// for captured data (a fixture listing a missing MSR, or lacking an existing one, is
    /// corrupt).
    public var isConsistent: Bool {
        (ia32VMXTruePinbasedCtls != nil) == hasTrueControls
            && (ia32VMXTrueProcbasedCtls != nil) == hasTrueControls
            && (ia32VMXTrueExitCtls != nil) == hasTrueControls
            && (ia32VMXTrueEntryCtls != nil) == hasTrueControls
            && (ia32VMXProcbasedCtls2 != nil) == hasProcbasedCtls2
            && (ia32VMXProcbasedCtls3 != nil) == hasProcbasedCtls3
            && (ia32VMXExitCtls2 != nil) == hasExitCtls2
            && (ia32VMXEPTVPIDCap != nil) == hasEPTVPIDCap
            && (ia32VMXVMFunc != nil) == hasVMFunc
    }

    // MARK: Which MSRs exist (SDM Appendix A)

    /// IA32_VMX_TRUE_{PINBASED,PROCBASED,EXIT,ENTRY}_CTLS exist when IA32_VMX_BASIC[55] = 1
    /// (SDM A.1, A.2).
    public var hasTrueControls: Bool { basic.hasTrueControls }

    /// IA32_VMX_PROCBASED_CTLS2 exists when "activate secondary controls" may be 1: bit 63 of
    /// IA32_VMX_PROCBASED_CTLS (SDM A.3.3).
    public var hasProcbasedCtls2: Bool {
        AllowedSettings<PrimaryProcessorBasedControls>(msr: ia32VMXProcbasedCtls).allowsOne(.activateSecondaryControls)
    }

    /// IA32_VMX_PROCBASED_CTLS3 exists when "activate tertiary controls" may be 1: bit 49 of
    /// IA32_VMX_PROCBASED_CTLS (SDM A.3.4).
    public var hasProcbasedCtls3: Bool {
        AllowedSettings<PrimaryProcessorBasedControls>(msr: ia32VMXProcbasedCtls).allowsOne(.activateTertiaryControls)
    }

    /// IA32_VMX_EXIT_CTLS2 exists when the VM-exit control "activate secondary controls" may
    /// be 1: bit 63 of IA32_VMX_EXIT_CTLS (SDM A.4.2).
    public var hasExitCtls2: Bool {
        AllowedSettings<VMExitControls>(msr: ia32VMXExitCtls).allowsOne(.activateSecondaryControls)
    }

    /// IA32_VMX_EPT_VPID_CAP exists when "enable EPT" or "enable VPID" may be 1: bit 33 or
    /// bit 37 of IA32_VMX_PROCBASED_CTLS2 (SDM A.10).
    public var hasEPTVPIDCap: Bool {
        let secondary = secondaryProcessorBasedControls
        return secondary.allowsOne(.enableEPT) || secondary.allowsOne(.enableVPID)
    }

    /// IA32_VMX_VMFUNC exists when "enable VM functions" may be 1: bit 45 of
    /// IA32_VMX_PROCBASED_CTLS2 (SDM A.11).
    public var hasVMFunc: Bool { secondaryProcessorBasedControls.allowsOne(.enableVMFunctions) }

    // MARK: Decoded views

    public var basic: VMXBasic { VMXBasic(rawValue: ia32VMXBasic) }
    public var misc: VMXMisc { VMXMisc(rawValue: ia32VMXMisc) }
    public var vmcsEnum: VMCSEnum { VMCSEnum(rawValue: ia32VMXVMCSEnum) }
    public var cr0Fixed: FixedBits { FixedBits(fixed0: ia32VMXCR0Fixed0, fixed1: ia32VMXCR0Fixed1) }
    public var cr4Fixed: FixedBits { FixedBits(fixed0: ia32VMXCR4Fixed0, fixed1: ia32VMXCR4Fixed1) }

    /// nil when the MSR does not exist (neither EPT nor VPID may be used).
    public var eptVPIDCapabilities: EPTVPIDCapabilities? {
        ia32VMXEPTVPIDCap.map { EPTVPIDCapabilities(rawValue: $0) }
    }

    /// The EPT/VPID capabilities, with none set when the MSR does not exist: for the checks
    /// that only ask whether a capability is there.
    public var eptVPIDCapabilitiesOrNone: EPTVPIDCapabilities {
        eptVPIDCapabilities ?? EPTVPIDCapabilities(rawValue: 0)
    }

    /// Whether INVEPT exists: "enable EPT" may be 1 and IA32_VMX_EPT_VPID_CAP[20] is 1 (SDM
    /// 31.3 INVEPT, A.10).
    public var hasINVEPT: Bool {
        secondaryProcessorBasedControls.allowsOne(.enableEPT) && eptVPIDCapabilitiesOrNone.contains(.invept)
    }

    /// Whether INVVPID exists: "enable VPID" may be 1 and IA32_VMX_EPT_VPID_CAP[32] is 1 (SDM
    /// 31.3 INVVPID, A.10).
    public var hasINVVPID: Bool {
        secondaryProcessorBasedControls.allowsOne(.enableVPID) && eptVPIDCapabilitiesOrNone.contains(.invvpid)
    }

    // The effective allowed settings of each control field: from the TRUE MSR when it exists,
    // which alone tells which default1 controls may be 0 (SDM A.3.1, A.3.2, A.4.1, A.5); and
    // "nothing allowed" for a field whose capability MSR does not exist.

    /// The TRUE MSR's value when IA32_VMX_BASIC[55] says it exists, else the plain one.
    private func trueOrPlain(_ trueValue: UInt64?, _ plain: UInt64) -> UInt64 {
        guard hasTrueControls, let trueValue else { return plain }
        return trueValue
    }

    public var pinBasedControls: AllowedSettings<PinBasedControls> {
        AllowedSettings(msr: trueOrPlain(ia32VMXTruePinbasedCtls, ia32VMXPinbasedCtls))
    }
    public var primaryProcessorBasedControls: AllowedSettings<PrimaryProcessorBasedControls> {
        AllowedSettings(msr: trueOrPlain(ia32VMXTrueProcbasedCtls, ia32VMXProcbasedCtls))
    }
    public var secondaryProcessorBasedControls: AllowedSettings<SecondaryProcessorBasedControls> {
        ia32VMXProcbasedCtls2.map { AllowedSettings(msr: $0) } ?? .none
    }
    public var tertiaryProcessorBasedControls: AllowedSettings<TertiaryProcessorBasedControls> {
        ia32VMXProcbasedCtls3.map { AllowedSettings(allowed1: $0) } ?? .none
    }
    public var exitControls: AllowedSettings<VMExitControls> {
        AllowedSettings(msr: trueOrPlain(ia32VMXTrueExitCtls, ia32VMXExitCtls))
    }
    public var secondaryExitControls: AllowedSettings<SecondaryVMExitControls> {
        ia32VMXExitCtls2.map { AllowedSettings(allowed1: $0) } ?? .none
    }
    public var entryControls: AllowedSettings<VMEntryControls> {
        AllowedSettings(msr: trueOrPlain(ia32VMXTrueEntryCtls, ia32VMXEntryCtls))
    }
    public var vmFunctionControls: AllowedSettings<VMFunctionControls> {
        ia32VMXVMFunc.map { AllowedSettings(allowed1: $0) } ?? .none
    }

    // MARK: Serving the values (emulated CPU, fixtures)

    /// The value of capability MSR `address`, or nil when it does not exist on this processor
    /// (where RDMSR would raise #GP) or is not a VMX capability MSR.
    public func value(ofMSR address: MSR) -> UInt64? {
        switch address {
        case MSR.ia32VMXBasic: return ia32VMXBasic
        case MSR.ia32VMXPinbasedCtls: return ia32VMXPinbasedCtls
        case MSR.ia32VMXProcbasedCtls: return ia32VMXProcbasedCtls
        case MSR.ia32VMXExitCtls: return ia32VMXExitCtls
        case MSR.ia32VMXEntryCtls: return ia32VMXEntryCtls
        case MSR.ia32VMXMisc: return ia32VMXMisc
        case MSR.ia32VMXCR0Fixed0: return ia32VMXCR0Fixed0
        case MSR.ia32VMXCR0Fixed1: return ia32VMXCR0Fixed1
        case MSR.ia32VMXCR4Fixed0: return ia32VMXCR4Fixed0
        case MSR.ia32VMXCR4Fixed1: return ia32VMXCR4Fixed1
        case MSR.ia32VMXVMCSEnum: return ia32VMXVMCSEnum
        case MSR.ia32VMXProcbasedCtls2: return ia32VMXProcbasedCtls2
        case MSR.ia32VMXEPTVPIDCap: return ia32VMXEPTVPIDCap
        case MSR.ia32VMXTruePinbasedCtls: return ia32VMXTruePinbasedCtls
        case MSR.ia32VMXTrueProcbasedCtls: return ia32VMXTrueProcbasedCtls
        case MSR.ia32VMXTrueExitCtls: return ia32VMXTrueExitCtls
        case MSR.ia32VMXTrueEntryCtls: return ia32VMXTrueEntryCtls
        case MSR.ia32VMXVMFunc: return ia32VMXVMFunc
        case MSR.ia32VMXProcbasedCtls3: return ia32VMXProcbasedCtls3
        case MSR.ia32VMXExitCtls2: return ia32VMXExitCtls2
        default: return nil
        }
    }

    /// The SDM's name of VMX capability MSR `address`, e.g. "IA32_VMX_BASIC".
    public static func name(ofMSR address: MSR) -> String? {
        switch address {
        case MSR.ia32VMXBasic: return "IA32_VMX_BASIC"
        case MSR.ia32VMXPinbasedCtls: return "IA32_VMX_PINBASED_CTLS"
        case MSR.ia32VMXProcbasedCtls: return "IA32_VMX_PROCBASED_CTLS"
        case MSR.ia32VMXExitCtls: return "IA32_VMX_EXIT_CTLS"
        case MSR.ia32VMXEntryCtls: return "IA32_VMX_ENTRY_CTLS"
        case MSR.ia32VMXMisc: return "IA32_VMX_MISC"
        case MSR.ia32VMXCR0Fixed0: return "IA32_VMX_CR0_FIXED0"
        case MSR.ia32VMXCR0Fixed1: return "IA32_VMX_CR0_FIXED1"
        case MSR.ia32VMXCR4Fixed0: return "IA32_VMX_CR4_FIXED0"
        case MSR.ia32VMXCR4Fixed1: return "IA32_VMX_CR4_FIXED1"
        case MSR.ia32VMXVMCSEnum: return "IA32_VMX_VMCS_ENUM"
        case MSR.ia32VMXProcbasedCtls2: return "IA32_VMX_PROCBASED_CTLS2"
        case MSR.ia32VMXEPTVPIDCap: return "IA32_VMX_EPT_VPID_CAP"
        case MSR.ia32VMXTruePinbasedCtls: return "IA32_VMX_TRUE_PINBASED_CTLS"
        case MSR.ia32VMXTrueProcbasedCtls: return "IA32_VMX_TRUE_PROCBASED_CTLS"
        case MSR.ia32VMXTrueExitCtls: return "IA32_VMX_TRUE_EXIT_CTLS"
        case MSR.ia32VMXTrueEntryCtls: return "IA32_VMX_TRUE_ENTRY_CTLS"
        case MSR.ia32VMXVMFunc: return "IA32_VMX_VMFUNC"
        case MSR.ia32VMXProcbasedCtls3: return "IA32_VMX_PROCBASED_CTLS3"
        case MSR.ia32VMXExitCtls2: return "IA32_VMX_EXIT_CTLS2"
        default: return nil
        }
    }

    /// Every VMX capability MSR address, ascending (480H-493H).
    public static let msrAddresses: [MSR] = [
        MSR.ia32VMXBasic, MSR.ia32VMXPinbasedCtls, MSR.ia32VMXProcbasedCtls,
        MSR.ia32VMXExitCtls, MSR.ia32VMXEntryCtls, MSR.ia32VMXMisc,
        MSR.ia32VMXCR0Fixed0, MSR.ia32VMXCR0Fixed1, MSR.ia32VMXCR4Fixed0, MSR.ia32VMXCR4Fixed1,
        MSR.ia32VMXVMCSEnum, MSR.ia32VMXProcbasedCtls2, MSR.ia32VMXEPTVPIDCap,
        MSR.ia32VMXTruePinbasedCtls, MSR.ia32VMXTrueProcbasedCtls, MSR.ia32VMXTrueExitCtls,
        MSR.ia32VMXTrueEntryCtls, MSR.ia32VMXVMFunc, MSR.ia32VMXProcbasedCtls3,
        MSR.ia32VMXExitCtls2
    ]
}
