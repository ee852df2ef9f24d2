// VM-instruction error numbers (SDM Vol. 3C 31.4, "VM Instruction Error Numbers").
// After VMfailValid the VM-instruction error field (encoding 0x4400) holds one of these.

public struct VMInstructionError: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let vmcallInVMXRoot = Self(rawValue: 1)
    public static let vmclearInvalidAddress = Self(rawValue: 2)
    public static let vmclearWithVMXONPointer = Self(rawValue: 3)
    public static let vmlaunchWithNonClearVMCS = Self(rawValue: 4)
    public static let vmresumeWithNonLaunchedVMCS = Self(rawValue: 5)
    public static let vmresumeAfterVMXOFF = Self(rawValue: 6)
    public static let entryWithInvalidControlFields = Self(rawValue: 7)
    public static let entryWithInvalidHostStateFields = Self(rawValue: 8)
    public static let vmptrldInvalidAddress = Self(rawValue: 9)
    public static let vmptrldWithVMXONPointer = Self(rawValue: 10)
    public static let vmptrldIncorrectRevision = Self(rawValue: 11)
    public static let unsupportedVMCSComponent = Self(rawValue: 12)
    public static let vmwriteToReadOnlyComponent = Self(rawValue: 13)
    public static let vmxonInVMXRoot = Self(rawValue: 15)
    public static let entryWithInvalidExecutiveVMCSPointer = Self(rawValue: 16)
    public static let entryWithNonLaunchedExecutiveVMCS = Self(rawValue: 17)
    public static let entryWithExecutiveVMCSNotVMXONPointer = Self(rawValue: 18)
    public static let vmcallWithNonClearVMCS = Self(rawValue: 19)
    public static let vmcallWithInvalidExitControls = Self(rawValue: 20)
    public static let vmcallIncorrectMSEGRevision = Self(rawValue: 22)
    public static let vmxoffUnderDualMonitor = Self(rawValue: 23)
    public static let vmcallInvalidSMMMonitorFeatures = Self(rawValue: 24)
    public static let entryWithInvalidExecutiveVMCSExecControls = Self(rawValue: 25)
    public static let entryWithEventsBlockedByMovSS = Self(rawValue: 26)
    public static let invalidOperandToINVEPTOrINVVPID = Self(rawValue: 28)

    /// The SDM's description of the error (Table 31-1).
    public var description: String {
        switch rawValue {
        case 1: return "VMCALL executed in VMX root operation"
        case 2: return "VMCLEAR with invalid physical address"
        case 3: return "VMCLEAR with VMXON pointer"
        case 4: return "VMLAUNCH with non-clear VMCS"
        case 5: return "VMRESUME with non-launched VMCS"
        case 6: return "VMRESUME after VMXOFF"
        case 7: return "VM entry with invalid control field(s)"
        case 8: return "VM entry with invalid host-state field(s)"
        case 9: return "VMPTRLD with invalid physical address"
        case 10: return "VMPTRLD with VMXON pointer"
        case 11: return "VMPTRLD with incorrect VMCS revision identifier"
        case 12: return "VMREAD/VMWRITE from/to unsupported VMCS component"
        case 13: return "VMWRITE to read-only VMCS component"
        case 15: return "VMXON executed in VMX root operation"
        case 16: return "VM entry with invalid executive-VMCS pointer"
        case 17: return "VM entry with non-launched executive VMCS"
        case 18: return "VM entry with executive-VMCS pointer not VMXON pointer"
        case 19: return "VMCALL with non-clear VMCS"
        case 20: return "VMCALL with invalid VM-exit control fields"
        case 22: return "VMCALL with incorrect MSEG revision identifier"
        case 23: return "VMXOFF under dual-monitor treatment of SMIs and SMM"
        case 24: return "VMCALL with invalid SMM-monitor features"
        case 25: return "VM entry with invalid VM-execution control fields in executive VMCS"
        case 26: return "VM entry with events blocked by MOV SS"
        case 28: return "Invalid operand to INVEPT/INVVPID"
        default: return "unknown VM-instruction error"
        }
    }
}
