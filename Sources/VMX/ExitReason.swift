// The exit-reason field (encoding 4402H): the basic exit reason in bits 15:0 and flags in the
// upper bits (SDM 25.9.1 "Basic VM-Exit Information", Table 25-18 "Format of Exit Reason"),
// with every basic exit reason of SDM Appendix C "VMX Basic Exit Reasons" (Table C-1).
// Reasons 35, 38, 42 and 71 are not used by the SDM and have no name here. Each reason is
// declared once, below, its doc comment giving the SDM's name; `name` (ExitReason+Generated.swift)
// is written from those declarations by tools/gen-declarations.

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

    // MARK: Basic exit reasons (Table C-1), each documented by its SDM name

    /// Exception or non-maskable interrupt (NMI)
    public static let exceptionOrNMI = Self(rawValue: 0)
    /// External interrupt
    public static let externalInterrupt = Self(rawValue: 1)
    /// Triple fault
    public static let tripleFault = Self(rawValue: 2)
    /// INIT signal
    public static let initSignal = Self(rawValue: 3)
    /// Start-up IPI (SIPI)
    public static let startupIPI = Self(rawValue: 4)
    /// I/O system-management interrupt (SMI)
    public static let ioSMI = Self(rawValue: 5)
    /// Other SMI
    public static let otherSMI = Self(rawValue: 6)
    /// Interrupt window
    public static let interruptWindow = Self(rawValue: 7)
    /// NMI window
    public static let nmiWindow = Self(rawValue: 8)
    /// Task switch
    public static let taskSwitch = Self(rawValue: 9)
    /// CPUID
    public static let cpuid = Self(rawValue: 10)
    /// GETSEC
    public static let getsec = Self(rawValue: 11)
    /// HLT
    public static let hlt = Self(rawValue: 12)
    /// INVD
    public static let invd = Self(rawValue: 13)
    /// INVLPG
    public static let invlpg = Self(rawValue: 14)
    /// RDPMC
    public static let rdpmc = Self(rawValue: 15)
    /// RDTSC
    public static let rdtsc = Self(rawValue: 16)
    /// RSM
    public static let rsm = Self(rawValue: 17)
    /// VMCALL
    public static let vmcall = Self(rawValue: 18)
    /// VMCLEAR
    public static let vmclear = Self(rawValue: 19)
    /// VMLAUNCH
    public static let vmlaunch = Self(rawValue: 20)
    /// VMPTRLD
    public static let vmptrld = Self(rawValue: 21)
    /// VMPTRST
    public static let vmptrst = Self(rawValue: 22)
    /// VMREAD
    public static let vmread = Self(rawValue: 23)
    /// VMRESUME
    public static let vmresume = Self(rawValue: 24)
    /// VMWRITE
    public static let vmwrite = Self(rawValue: 25)
    /// VMXOFF
    public static let vmxoff = Self(rawValue: 26)
    /// VMXON
    public static let vmxon = Self(rawValue: 27)
    /// Control-register accesses
    public static let controlRegisterAccess = Self(rawValue: 28)
    /// MOV DR
    public static let movDR = Self(rawValue: 29)
    /// I/O instruction
    public static let ioInstruction = Self(rawValue: 30)
    /// RDMSR
    public static let rdmsr = Self(rawValue: 31)
    /// WRMSR
    public static let wrmsr = Self(rawValue: 32)
    /// VM-entry failure due to invalid guest state
    public static let entryFailureGuestState = Self(rawValue: 33)
    /// VM-entry failure due to MSR loading
    public static let entryFailureMSRLoading = Self(rawValue: 34)
    /// MWAIT
    public static let mwait = Self(rawValue: 36)
    /// Monitor trap flag
    public static let monitorTrapFlag = Self(rawValue: 37)
    /// MONITOR
    public static let monitor = Self(rawValue: 39)
    /// PAUSE
    public static let pause = Self(rawValue: 40)
    /// VM-entry failure due to machine-check event
    public static let entryFailureMachineCheck = Self(rawValue: 41)
    /// TPR below threshold
    public static let tprBelowThreshold = Self(rawValue: 43)
    /// APIC access
    public static let apicAccess = Self(rawValue: 44)
    /// Virtualized EOI
    public static let virtualizedEOI = Self(rawValue: 45)
    /// Access to GDTR or IDTR
    public static let gdtrOrIDTRAccess = Self(rawValue: 46)
    /// Access to LDTR or TR
    public static let ldtrOrTRAccess = Self(rawValue: 47)
    /// EPT violation
    public static let eptViolation = Self(rawValue: 48)
    /// EPT misconfiguration
    public static let eptMisconfiguration = Self(rawValue: 49)
    /// INVEPT
    public static let invept = Self(rawValue: 50)
    /// RDTSCP
    public static let rdtscp = Self(rawValue: 51)
    /// VMX-preemption timer expired
    public static let preemptionTimerExpired = Self(rawValue: 52)
    /// INVVPID
    public static let invvpid = Self(rawValue: 53)
    /// WBINVD or WBNOINVD
    public static let wbinvd = Self(rawValue: 54)
    /// XSETBV
    public static let xsetbv = Self(rawValue: 55)
    /// APIC write
    public static let apicWrite = Self(rawValue: 56)
    /// RDRAND
    public static let rdrand = Self(rawValue: 57)
    /// INVPCID
    public static let invpcid = Self(rawValue: 58)
    /// VMFUNC
    public static let vmfunc = Self(rawValue: 59)
    /// ENCLS
    public static let encls = Self(rawValue: 60)
    /// RDSEED
    public static let rdseed = Self(rawValue: 61)
    /// Page-modification log full
    public static let pageModificationLogFull = Self(rawValue: 62)
    /// XSAVES
    public static let xsaves = Self(rawValue: 63)
    /// XRSTORS
    public static let xrstors = Self(rawValue: 64)
    /// PCONFIG
    public static let pconfig = Self(rawValue: 65)
    /// SPP-related event
    public static let sppRelatedEvent = Self(rawValue: 66)
    /// UMWAIT
    public static let umwait = Self(rawValue: 67)
    /// TPAUSE
    public static let tpause = Self(rawValue: 68)
    /// LOADIWKEY
    public static let loadiwkey = Self(rawValue: 69)
    /// ENCLV
    public static let enclv = Self(rawValue: 70)
    /// ENQCMD PASID translation failure
    public static let enqcmdPASIDTranslationFailure = Self(rawValue: 72)
    /// ENQCMDS PASID translation failure
    public static let enqcmdsPASIDTranslationFailure = Self(rawValue: 73)
    /// Bus lock
    public static let busLock = Self(rawValue: 74)
    /// Instruction timeout
    public static let instructionTimeout = Self(rawValue: 75)
    /// SEAMCALL
    public static let seamcall = Self(rawValue: 76)
    /// TDCALL
    public static let tdcall = Self(rawValue: 77)

    /// One line: the number, the SDM's name and any flags set, e.g.
    /// "33 (VM-entry failure due to invalid guest state), VM-entry failure".
    public var description: String {
        var text = LogText()
        text.append("\(basicReason) (\(name ?? "reason not defined by the SDM"))")
        if busLockDetected { text.append(", bus lock detected") }
        if isFromEnclaveMode { text.append(", from enclave mode") }
        if hasPendingMTFVMExit { text.append(", pending MTF VM exit") }
        if isFromVMXRootOperation { text.append(", from VMX root operation") }
        if isEntryFailure { text.append(", VM-entry failure") }
        let undefined = rawValue & Self.undefinedBits
        if undefined != 0 { text.append(", undefined bits \(hex: undefined)") }
        return text.string
    }

    /// Bits 25:16 and 30, which the SDM does not define (bit 16 is always 0).
    public static let undefinedBits: UInt32 = 0x43FF_0000
}
