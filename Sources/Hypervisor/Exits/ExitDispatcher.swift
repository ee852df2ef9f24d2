// The exit dispatcher: a table indexed by basic exit reason (SDM Appendix C), one handler per
// reason. A handler reads what it needs from the VMCS and the guest's registers, acts, and
// says whether the guest resumes or stops. Reasons without a handler of their own go to
// `handleUnexpectedExit`, which prints a VMCS dump and stops that guest (never the
// hypervisor). docs/GUESTS.md explains how to add a handler.
import VMX

/// What one VM exit is, as the run loop read it.
public struct ExitContext: Sendable {
    /// The exit-reason field (4402H).
    public var reason: ExitReason
    /// The exit-qualification field (6400H); meaningful for the reasons SDM 28.2.1 lists.
    public var qualification: UInt64
    /// Guest RIP at the exit: the instruction that exited, or the next one to execute for
    /// traps and events.
    public var rip: UInt64

    public init(reason: ExitReason, qualification: UInt64, rip: UInt64) {
        self.reason = reason
        self.qualification = qualification
        self.rip = rip
    }
}

/// What a handler decides.
public enum ExitAction: Sendable {
    /// Enter the guest again (VMRESUME).
    case resume
    /// This guest is done; the hypervisor goes on with the next one.
    case stop(GuestStop)
}

/// Why a guest stopped: printed as "guest NAME stopped: ...".
public enum GuestStop: Sendable, Equatable {
    /// HLT with no interrupt that could ever wake it (RFLAGS.IF = 0, or nothing pending).
    case halted
    /// The guest asked for it (hypercall SHUT_DOWN) with this code.
    case shutDown(code: UInt64)
    /// Triple fault (exit reason 2): the guest is dead.
    case tripleFault
    /// The time budget ran out: VMX-preemption timer (exit reason 52) or the host timer.
    case budgetExhausted(cycles: UInt64, preemptionTimer: Bool)
    /// An access to guest-physical memory the guest was not given (exit reason 48).
    case eptViolation(guestPhysicalAddress: UInt64)
    /// An EPT entry the hypervisor built wrongly (exit reason 49).
    case eptMisconfiguration(guestPhysicalAddress: UInt64)
    /// INIT or SIPI where it ends the guest: to the bootstrap processor's virtual CPU, or on a
    /// CPU without the wait-for-SIPI activity state (StartupExits.swift).
    case initOrSIPI(ExitReason)
    /// The guest stopped on another of its virtual CPUs; this one's watchdog, or the
    /// hypervisor's SIPI while it waited, brought it back (GuestProcessorGroup.swift).
    case stoppedWithItsGuest
    /// A machine check during the guest.
    case machineCheck
    /// An exit this hypervisor does not handle; the VMCS dump precedes it.
    case unexpectedExit(ExitReason)
    /// VM entry failed while loading guest state (exit reason bit 31, SDM 27.8).
    case entryFailure(ExitReason, qualification: UInt64)
    /// VMLAUNCH or VMRESUME itself failed (SDM 31.3).
    case entryInstructionFailed(VMFailure, launch: Bool)
    /// The hypervisor could not emulate what the guest did (the line before says what).
    case emulationFailure
    /// A pass-through guest powered off, slept or reset the machine.
    case platform(PlatformStop)
}

/// A handler: the guest's virtual CPU and the exit.
public typealias ExitHandler<P: Host> = (VirtualCPU<P>, inout ExitContext) -> ExitAction

/// One table entry. The function sits in a struct so that the array holds it at its own
/// calling convention: a bare function type as an array element is stored maximally abstract,
/// and every call through it would then allocate a reabstraction thunk.
public struct ExitHandlerEntry<P: Host> {
    public var handle: ExitHandler<P>
    public init(_ handle: @escaping ExitHandler<P>) { self.handle = handle }
}

/// The table, indexed by basic exit reason.
public struct ExitHandlerTable<P: Host> {
    /// One entry per basic exit reason 0-79.
    public var entries: [ExitHandlerEntry<P>]

    public static var reasonCount: Int { ExitStatistics.counterCount }

    /// Every reason handled by `handleUnexpectedExit`.
    public init() {
        entries = Array(repeating: ExitHandlerEntry(handleUnexpectedExit), count: Self.reasonCount)
    }

    public subscript(reason: ExitReason) -> ExitHandler<P> {
        get { entries[Int(reason.basicReason)].handle }
        set { entries[Int(reason.basicReason)] = ExitHandlerEntry(newValue) }
    }

    /// The handler of basic exit reason `basic` (any number: unknown ones are unexpected).
    @inline(__always)
    public func handler(basic: Int) -> ExitHandler<P> {
        basic < entries.count ? entries[basic].handle : handleUnexpectedExit
    }

    /// The handler of basic exit reason `basic` (0-79), to read or replace (a debugger wraps
    /// them).
    public subscript(basic basic: Int) -> ExitHandler<P> {
        get { entries[basic].handle }
        set { entries[basic] = ExitHandlerEntry(newValue) }
    }

    /// The hypervisor's handlers (Sources/Hypervisor/Exits/, one file per reason or family).
    public static var standard: ExitHandlerTable<P> {
        var table = ExitHandlerTable()
        table[.exceptionOrNMI] = handleExceptionOrNMI
        table[.externalInterrupt] = handleExternalInterrupt
        table[.tripleFault] = handleTripleFault
        table[.initSignal] = handleINITSignal
        table[.startupIPI] = handleStartupIPI
        table[.interruptWindow] = handleInterruptWindow
        table[.taskSwitch] = handleTaskSwitch
        table[.cpuid] = handleCPUID
        table[.getsec] = handleGETSEC
        table[.hlt] = handleHLT
        table[.invd] = handleINVD
        table[.vmcall] = handleVMCALL
        for reason in [
            ExitReason.vmclear, .vmlaunch, .vmptrld, .vmptrst, .vmread, .vmresume,
            .vmwrite, .vmxoff, .vmxon, .invept, .invvpid
        ] {
            table[reason] = handleVMXInstruction
        }
        table[.controlRegisterAccess] = handleControlRegisterAccess
        table[.ioInstruction] = handleIOInstruction
        table[.rdmsr] = handleRDMSR
        table[.wrmsr] = handleWRMSR
        table[.monitorTrapFlag] = handleMonitorTrapFlag
        table[.eptViolation] = handleEPTViolation
        table[.eptMisconfiguration] = handleEPTMisconfiguration
        table[.preemptionTimerExpired] = handlePreemptionTimerExpired
        table[.xsetbv] = handleXSETBV
        return table
    }
}

/// An exit this hypervisor does not expect: the VMCS dump, then the guest stops.
public func handleUnexpectedExit<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.cpu.log(
        """
        guest \(vcpu.name): unexpected VM exit, reason \(exit.reason), qualification \(hex: exit.qualification), \
        RIP \(hex: exit.rip)
        """
    )
    dumpVMCS(cpu: vcpu.cpu)
    return .stop(.unexpectedExit(exit.reason))
}
