// The exit-reason field (encoding 4402H): the basic exit reason in bits 15:0 and flags in the
// upper bits (SDM 25.9.1 "Basic VM-Exit Information", Table 25-18 "Format of Exit Reason"),
// with every basic exit reason of SDM Appendix C "VMX Basic Exit Reasons" (Table C-1).
// Reasons 35, 38, 42 and 71 are not used by the SDM and have no name here.

public struct ExitReason: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // MARK: Fields of the exit reason (Table 25-18)

    /// Bits 15:0: the basic exit reason, as a number.
    public var basicReason: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// The basic exit reason alone (the flags cleared), for comparing with the static members:
    /// `reason.basic == .cpuid`.
    public var basic: ExitReason { ExitReason(rawValue: rawValue & 0xFFFF) }

    /// Bit 26: a bus lock was asserted while "VMM bus-lock detection" was 1 (the VM exit is
    /// for another reason; the bus lock is reported alongside).
    public var busLockDetected: Bool { rawValue & (1 << 26) != 0 }

    /// Bit 27: the VM exit was incident to enclave mode.
    public var isFromEnclaveMode: Bool { rawValue & (1 << 27) != 0 }

    /// Bit 28: a pending MTF VM exit (SMM VM exits only).
    public var hasPendingMTFVMExit: Bool { rawValue & (1 << 28) != 0 }

    /// Bit 29: the VM exit came from VMX root operation (SMM VM exits only).
    public var isFromVMXRootOperation: Bool { rawValue & (1 << 29) != 0 }

    /// Bit 31: VM entry failed (reasons 33, 34 and 41; SDM 27.8). A true VM exit clears it.
    public var isEntryFailure: Bool { rawValue & (1 << 31) != 0 }

    /// This reason with bit 31 set: how a failed VM entry reports it (SDM 27.8).
    public var asEntryFailure: ExitReason { ExitReason(rawValue: rawValue | 1 << 31) }

    // MARK: Basic exit reasons (Table C-1)

    public static let exceptionOrNMI = Self(rawValue: 0)
    public static let externalInterrupt = Self(rawValue: 1)
    public static let tripleFault = Self(rawValue: 2)
    public static let initSignal = Self(rawValue: 3)
    public static let startupIPI = Self(rawValue: 4)
    public static let ioSMI = Self(rawValue: 5)
    public static let otherSMI = Self(rawValue: 6)
    public static let interruptWindow = Self(rawValue: 7)
    public static let nmiWindow = Self(rawValue: 8)
    public static let taskSwitch = Self(rawValue: 9)
    public static let cpuid = Self(rawValue: 10)
    public static let getsec = Self(rawValue: 11)
    public static let hlt = Self(rawValue: 12)
    public static let invd = Self(rawValue: 13)
    public static let invlpg = Self(rawValue: 14)
    public static let rdpmc = Self(rawValue: 15)
    public static let rdtsc = Self(rawValue: 16)
    public static let rsm = Self(rawValue: 17)
    public static let vmcall = Self(rawValue: 18)
    public static let vmclear = Self(rawValue: 19)
    public static let vmlaunch = Self(rawValue: 20)
    public static let vmptrld = Self(rawValue: 21)
    public static let vmptrst = Self(rawValue: 22)
    public static let vmread = Self(rawValue: 23)
    public static let vmresume = Self(rawValue: 24)
    public static let vmwrite = Self(rawValue: 25)
    public static let vmxoff = Self(rawValue: 26)
    public static let vmxon = Self(rawValue: 27)
    public static let controlRegisterAccess = Self(rawValue: 28)
    public static let movDR = Self(rawValue: 29)
    public static let ioInstruction = Self(rawValue: 30)
    public static let rdmsr = Self(rawValue: 31)
    public static let wrmsr = Self(rawValue: 32)
    public static let entryFailureGuestState = Self(rawValue: 33)
    public static let entryFailureMSRLoading = Self(rawValue: 34)
    public static let mwait = Self(rawValue: 36)
    public static let monitorTrapFlag = Self(rawValue: 37)
    public static let monitor = Self(rawValue: 39)
    public static let pause = Self(rawValue: 40)
    public static let entryFailureMachineCheck = Self(rawValue: 41)
    public static let tprBelowThreshold = Self(rawValue: 43)
    public static let apicAccess = Self(rawValue: 44)
    public static let virtualizedEOI = Self(rawValue: 45)
    public static let gdtrOrIDTRAccess = Self(rawValue: 46)
    public static let ldtrOrTRAccess = Self(rawValue: 47)
    public static let eptViolation = Self(rawValue: 48)
    public static let eptMisconfiguration = Self(rawValue: 49)
    public static let invept = Self(rawValue: 50)
    public static let rdtscp = Self(rawValue: 51)
    public static let preemptionTimerExpired = Self(rawValue: 52)
    public static let invvpid = Self(rawValue: 53)
    public static let wbinvd = Self(rawValue: 54)
    public static let xsetbv = Self(rawValue: 55)
    public static let apicWrite = Self(rawValue: 56)
    public static let rdrand = Self(rawValue: 57)
    public static let invpcid = Self(rawValue: 58)
    public static let vmfunc = Self(rawValue: 59)
    public static let encls = Self(rawValue: 60)
    public static let rdseed = Self(rawValue: 61)
    public static let pageModificationLogFull = Self(rawValue: 62)
    public static let xsaves = Self(rawValue: 63)
    public static let xrstors = Self(rawValue: 64)
    public static let pconfig = Self(rawValue: 65)
    public static let sppRelatedEvent = Self(rawValue: 66)
    public static let umwait = Self(rawValue: 67)
    public static let tpause = Self(rawValue: 68)
    public static let loadiwkey = Self(rawValue: 69)
    public static let enclv = Self(rawValue: 70)
    public static let enqcmdPASIDTranslationFailure = Self(rawValue: 72)
    public static let enqcmdsPASIDTranslationFailure = Self(rawValue: 73)
    public static let busLock = Self(rawValue: 74)
    public static let instructionTimeout = Self(rawValue: 75)
    public static let seamcall = Self(rawValue: 76)
    public static let tdcall = Self(rawValue: 77)

    /// The highest basic exit reason this table knows.
    public static let highestKnownBasicReason: UInt16 = 77

    // MARK: Names

    /// The SDM's name of the basic exit reason (Table C-1), or nil for a number it does not
    /// use (35, 38, 42, 71, and everything above 77).
    public var name: String? {
        switch basicReason {
        case 0: return "Exception or non-maskable interrupt (NMI)"
        case 1: return "External interrupt"
        case 2: return "Triple fault"
        case 3: return "INIT signal"
        case 4: return "Start-up IPI (SIPI)"
        case 5: return "I/O system-management interrupt (SMI)"
        case 6: return "Other SMI"
        case 7: return "Interrupt window"
        case 8: return "NMI window"
        case 9: return "Task switch"
        case 10: return "CPUID"
        case 11: return "GETSEC"
        case 12: return "HLT"
        case 13: return "INVD"
        case 14: return "INVLPG"
        case 15: return "RDPMC"
        case 16: return "RDTSC"
        case 17: return "RSM"
        case 18: return "VMCALL"
        case 19: return "VMCLEAR"
        case 20: return "VMLAUNCH"
        case 21: return "VMPTRLD"
        case 22: return "VMPTRST"
        case 23: return "VMREAD"
        case 24: return "VMRESUME"
        case 25: return "VMWRITE"
        case 26: return "VMXOFF"
        case 27: return "VMXON"
        case 28: return "Control-register accesses"
        case 29: return "MOV DR"
        case 30: return "I/O instruction"
        case 31: return "RDMSR"
        case 32: return "WRMSR"
        case 33: return "VM-entry failure due to invalid guest state"
        case 34: return "VM-entry failure due to MSR loading"
        case 36: return "MWAIT"
        case 37: return "Monitor trap flag"
        case 39: return "MONITOR"
        case 40: return "PAUSE"
        case 41: return "VM-entry failure due to machine-check event"
        case 43: return "TPR below threshold"
        case 44: return "APIC access"
        case 45: return "Virtualized EOI"
        case 46: return "Access to GDTR or IDTR"
        case 47: return "Access to LDTR or TR"
        case 48: return "EPT violation"
        case 49: return "EPT misconfiguration"
        case 50: return "INVEPT"
        case 51: return "RDTSCP"
        case 52: return "VMX-preemption timer expired"
        case 53: return "INVVPID"
        case 54: return "WBINVD or WBNOINVD"
        case 55: return "XSETBV"
        case 56: return "APIC write"
        case 57: return "RDRAND"
        case 58: return "INVPCID"
        case 59: return "VMFUNC"
        case 60: return "ENCLS"
        case 61: return "RDSEED"
        case 62: return "Page-modification log full"
        case 63: return "XSAVES"
        case 64: return "XRSTORS"
        case 65: return "PCONFIG"
        case 66: return "SPP-related event"
        case 67: return "UMWAIT"
        case 68: return "TPAUSE"
        case 69: return "LOADIWKEY"
        case 70: return "ENCLV"
        case 72: return "ENQCMD PASID translation failure"
        case 73: return "ENQCMDS PASID translation failure"
        case 74: return "Bus lock"
        case 75: return "Instruction timeout"
        case 76: return "SEAMCALL"
        case 77: return "TDCALL"
        default: return nil
        }
    }

    /// One line: the number, the SDM's name and any flags set, e.g.
    /// "33 (VM-entry failure due to invalid guest state), VM-entry failure".
    public var description: String {
        var text = decimal(basicReason) + " (" + (name ?? "reason not defined by the SDM") + ")"
        if busLockDetected { text += ", bus lock detected" }
        if isFromEnclaveMode { text += ", from enclave mode" }
        if hasPendingMTFVMExit { text += ", pending MTF VM exit" }
        if isFromVMXRootOperation { text += ", from VMX root operation" }
        if isEntryFailure { text += ", VM-entry failure" }
        let undefined = rawValue & Self.undefinedBits
        if undefined != 0 { text += ", undefined bits " + hex(undefined) }
        return text
    }

    /// Bits 25:16 and 30, which the SDM does not define (bit 16 is always 0).
    public static let undefinedBits: UInt32 = 0x43FF_0000
}
