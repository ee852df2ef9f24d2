// One guest's virtual processor: its VMCS, its registers, its memory, its emulated devices and
// the state the exit handlers keep between exits. The run loop (`run()`) enters the guest,
// reads the exit, counts it, and dispatches it through the handler table until a handler
// stops the guest.
import VMX

public final class VirtualCPU<P: Host> {
    public let cpu: P
    /// Its name, from outside for a user image: logged escaped and bounded (OutsideText).
    public let name: OutsideText
    public let setup: ControlSetup
    public let memory: GuestMemory
    public let statistics: ExitStatistics
    /// Physical address of the guest's VMCS.
    public let vmcs: UInt64
    public var handlers: ExitHandlerTable<P>

    public var registers = GuestRegisters()
    public var serial = SerialPort16550()
    public var launched = false

    /// The primary processor-based controls now in the VMCS (interrupt-window exiting and the
    /// monitor trap flag come and go).
    public var primaryControls: PrimaryProcessorBasedControls
    public var exceptionBitmap: UInt32
    /// CR0 and CR4 bits the host owns (the guest/host masks, SDM 25.6.6).
    public let cr0Mask: UInt64
    public let cr4Mask: UInt64
    /// Bits the guest's CR0/CR4 must have whatever it writes (IA32_VMX_CRn_FIXED0, less
    /// CR0.PE and CR0.PG under unrestricted guest), and bits it may have (FIXED1).
    public let cr0Fixed: FixedBits
    public let cr4Fixed: FixedBits

    /// The external interrupt waiting to be injected (hypercall RAISE_INTERRUPT).
    public var pendingInterrupt: UInt8? = nil
    /// Single steps still to log (hypercall SINGLE_STEP) and how many were done.
    public var stepsRemaining = 0
    public var stepsDone = 0
    /// Whether the guest's own RFLAGS.TF was set when single-stepping began with RFLAGS.TF.
    public var guestTrapFlag = false
    /// The guest's CR8 (TPR), kept here: CR8 accesses exit.
    public var taskPriority: UInt64 = 0
    /// IA32_EFER as the guest sees it on a CPU that cannot switch EFER on VM entry and exit.
    public var shadowEFER: UInt64 = 0
    /// The time budget and how it is enforced.
    public var budgetCycles: UInt64 = 0
    /// Where the VMX-preemption timer enforces the budget (`tracksBudget`): the TSC at which it
    /// is spent, the timer's rate (IA32_VMX_MISC[4:0]), and when and with how many ticks the
    /// timer was last armed.
    var budgetDeadline: UInt64 = 0
    var timerRate: UInt64 = 0
    var armedAt: UInt64 = 0
    var armedTicks: UInt64 = 0
    /// VM entries left before the next one arms the timer (`armBudget`), and how many entries
    /// one arming covers: 1 without "save VMX-preemption timer value" (the timer restarts from
    /// the field at every entry), else `entriesPerArming`.
    var entriesBeforeArming: UInt32 = 0
    var armingInterval: UInt32 = 1
    /// With "save VMX-preemption timer value" the timer keeps the guest's own time from exit to
    /// entry; the host's time since the last arming is charged at every 16th entry, and at the
    /// next entry after a handler did heavy work (`chargeHostTimeAtNextEntry`). A guest thus
    /// overruns its budget by at most 16 cheap exits' host time.
    static var entriesPerArming: UInt32 { 16 }
    /// Whether the host's time counts against the budget (every cycle from one VM entry to the
    /// next); false while a debugger holds the guest, so that waiting for gdb is not charged.
    public var chargesHostTime = true
    /// Lines written or held back per GuestLineKind (GuestLines.swift).
    public var lineCounts = [UInt64](repeating: 0, count: GuestLineKind.count)
    /// Whether they are bounded: a user image's are, a built-in guest's are not.
    public var limitsLines = true
    public var hostTimerVector: UInt8? = nil
    public let vpid: UInt16
    /// What the guest's CPUID hides (CPUIDExit.swift): one view per kind of guest.
    public var cpuidView = CPUIDView.sandboxed
    /// A pass-through guest's ports and traps (docs/LINUX.md); nil for a sandboxed guest.
    public var platform: PassThroughPlatform? = nil
    /// TSC cycles spent in VMX root operation between this guest's VM exits and its next VM
    /// entries, counted only where `countsRootTime` (a pass-through guest, for make bench).
    public var countsRootTime = false
    public var rootCycles: UInt64 = 0
    /// Whether this virtual CPU is an application processor of its guest: it starts in
    /// wait-for-SIPI, and INIT returns it there (StartupExits.swift). The bootstrap processor's
    /// INIT ends the guest.
    public var isApplicationProcessor = false
    /// The guest's other virtual CPUs, when it has several, and which member this one is
    /// (GuestProcessorGroup.swift).
    public var group: GuestProcessorGroup? = nil
    public var groupMember = 0
    /// A write during string I/O that ends the machine (PassThroughPorts.swift).
    public var pendingPlatformStop: PlatformStop? = nil

    public init(
        cpu: P, name: OutsideText, setup: ControlSetup, memory: GuestMemory, statistics: ExitStatistics,
        vmcs: UInt64, vpid: UInt16, cr0Fixed: FixedBits, cr4Fixed: FixedBits,
        cr0Mask: UInt64, cr4Mask: UInt64, exceptionBitmap: UInt32,
        handlers: ExitHandlerTable<P> = .standard
    ) {
        self.cpu = cpu
        self.name = name
        self.setup = setup
        self.memory = memory
        self.statistics = statistics
        self.vmcs = vmcs
        self.vpid = vpid
        self.cr0Fixed = cr0Fixed
        self.cr4Fixed = cr4Fixed
        self.cr0Mask = cr0Mask
        self.cr4Mask = cr4Mask
        self.exceptionBitmap = exceptionBitmap
        self.primaryControls = setup.primary
        self.handlers = handlers
    }

    // MARK: VMCS access for handlers

    /// VMREAD of a field the set-up wrote or the exit filled in, on the current VMCS: it cannot
    /// fail for the fields handlers read, so its outcome is not checked (GuestProcessor.vmreadField).
    @inline(__always)
    public func read(_ field: VMCSField) -> UInt64 {
        cpu.vmreadField(field)
    }

    @inline(__always)
    public func write(_ field: VMCSField, _ value: UInt64) {
        do { try cpu.vmwrite(field, value) } catch { writeFailed(field, error) }
    }

    @inline(never)
    func writeFailed(_ field: VMCSField, _ failure: VMFailure) {
        cpu.log("guest \(name): VMWRITE of field \(hex: field.rawValue, digits: 4) failed: \(failure)")
    }

    /// Moves RIP past the instruction that exited, ends the blocking by STI or MOV SS that it
    /// was under and makes its debug traps pending (the instruction completed: SDM 26.1.3 lets
    /// the VMM emulate it).
    @inline(__always)
    public func skipInstruction(_ exit: ExitContext) {
        skipInstruction(exit, length: read(.vmExitInstructionLength))
    }

    /// `skipInstruction` for an exit whose instruction length the hypervisor decoded itself
    /// (an EPT violation has none, SDM 28.2.5).
    @inline(__always)
    public func skipInstruction(_ exit: ExitContext, length: UInt64) {
        var next = exit.rip &+ length
        // Outside 64-bit mode EIP wraps at 4 GiB: an instruction that ends at FFFFFFFFH is
        // followed by the one at 0 (unwrapped, VM entry would fail: SDM 27.3.1.4). That needs
        // bits 31:0 of RIP above FFFFFFF0H (an instruction is at most 15 bytes), and only then
        // is the mode read: most exits pass here, and pay one compare.
        if UInt32(truncatingIfNeeded: exit.rip) > UInt32.max - 15 && !isIn64BitMode { next &= 0xFFFF_FFFF }
        cpu.vmwriteField(VMCSField.guestRIP, next)
        let interruptibility = read(.guestInterruptibilityState)
        let blocking = GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS
        if interruptibility & blocking != 0 {
            cpu.vmwriteField(VMCSField.guestInterruptibilityState, interruptibility & ~blocking)
        }
        // The instruction completed: its debug traps follow (SDM Vol. 3A 17.3.1). One VMREAD
        // of RFLAGS on every exit that passes here; the rest only with RFLAGS.TF or RF set.
        let flags = read(.guestRFLAGS)
        if flags & (RFLAGS.tf.rawValue | Self.resumeFlag) != 0 { singleStepTrap(flags: flags) }
    }

    /// `skipInstruction` for IN, OUT, INS and OUTS, with their I/O breakpoints: one VMREAD of
    /// DR7 more, and the rest only when a breakpoint is enabled in it.
    @inline(__always)
    public func skipIOInstruction(_ exit: ExitContext) {
        skipInstruction(exit)
        let dr7 = read(.guestDR7)
        if dr7 & 0xFF != 0 { ioBreakpointTraps(exit, dr7: dr7) }
    }

    static var resumeFlag: UInt64 { RFLAGS.rf.rawValue }

    /// The single-step trap of an instruction the hypervisor completed for the guest, made
    /// pending for the next VM entry to deliver as a #DB before the next instruction (the
    /// pending debug exceptions field, BS: SDM 25.4.2 Table 25-4, 27.7.3; Vol. 3A 17.3.1.4).
    /// RFLAGS.RF is cleared, as the completion of an instruction clears it (17.3.1.1), so that
    /// an instruction breakpoint on the next instruction is not suppressed.
    @inline(never)
    func singleStepTrap(flags: UInt64) {
        if flags & Self.resumeFlag != 0 { write(.guestRFLAGS, flags & ~Self.resumeFlag) }
        if flags & RFLAGS.tf.rawValue != 0 {
            write(.guestPendingDebugExceptions, read(.guestPendingDebugExceptions) | GuestPendingDebugExceptions.bs)
        }
    }

    /// I/O breakpoints matching a completed IN or OUT (DR7 R/W = 10B with CR4.DE, SDM Vol. 3A
    /// 17.2.4-17.2.5, 17.3.1.2): B0-B3 and "enabled breakpoint" pending for the next VM entry.
    @inline(never)
    func ioBreakpointTraps(_ exit: ExitContext, dr7: UInt64) {
        guard read(.guestCR4) & ControlRegister4.de.rawValue != 0 else { return }
        var pending: UInt64 = 0
        let port = (exit.qualification >> 16) & 0xFFFF, size = (exit.qualification & 7) + 1
        for index in 0..<UInt64(4) where dr7 >> (2 * index) & 3 != 0 && dr7 >> (16 + 4 * index) & 3 == 2 {
            // LEN: 00B 1 byte, 01B 2, 11B 4, 10B 8; the address aligned to it (17.2.5).
            let len = dr7 >> (18 + 4 * index) & 3
            let length: UInt64 = len == 2 ? 8 : len == 3 ? 4 : len + 1
            let address = cpu.readDebugRegister(Int(index)) & 0xFFFF & ~(length - 1)
            if address < port + size && port < address + length { pending |= 1 << index }
        }
        if pending != 0 {
            write(
                .guestPendingDebugExceptions,
                read(.guestPendingDebugExceptions) | pending | GuestPendingDebugExceptions.enabledBreakpoint)
        }
    }

    // MARK: The time budget

    /// Whether the VMX-preemption timer enforces a budget (a pass-through guest may have none).
    public var tracksBudget: Bool { setup.usesPreemptionTimer && budgetCycles != 0 }

    /// Arms the VMX-preemption timer before a VM entry with what is left of the budget. The
    /// timer counts down only in VMX non-root operation (SDM 26.5.1), so the budget is kept as
    /// a deadline on the TSC, set at the first VM entry: every cycle from then on - the guest's
    /// own and the host's on its behalf, exit handling, string I/O, the log lines it causes -
    /// brings it nearer (the host timer, on CPUs without the preemption timer, counts host time
    /// by itself). The timer is 32 bits wide: it gets at most 2^32 - 1 ticks at a time and is
    /// re-armed until the deadline (handlePreemptionTimerExpired). A value of 0 makes the VM
    /// entry exit at once (SDM 26.7.4). One RDTSC and one VMWRITE, at every `armingInterval`th
    /// VM entry (`entriesPerArming`).
    @inline(__always)
    func armBudget() {
        let now = cpu.readTimestampCounter()
        if !launched {
            timerRate = UInt64(setup.preemptionTimerRate)
            budgetDeadline = now &+ budgetCycles < now ? .max : now &+ budgetCycles
            armedAt = now
            armingInterval = setup.savesPreemptionTimer ? Self.entriesPerArming : 1
        } else if !chargesHostTime {
            excuseHostTime(now: now)
        }
        let left = budgetDeadline > now ? budgetDeadline &- now : 0
        armedTicks = min(left &>> timerRate, UInt64(UInt32.max))
        cpu.vmwriteField(VMCSField.vmxPreemptionTimerValue, armedTicks)
        entriesBeforeArming = armingInterval
    }

    /// The next VM entry arms the timer: a handler did work whose host time should count at
    /// once (string I/O, a log line), or the timer expired before the deadline.
    @inline(__always)
    public func chargeHostTimeAtNextEntry() { entriesBeforeArming = 0 }

    /// While a debugger holds the guest only its own time counts: the deadline moves on by the
    /// host's time since the timer was armed (all of it, less what the timer counted down).
    @inline(never)
    func excuseHostTime(now: UInt64) {
        let left = min(read(.vmxPreemptionTimerValue), armedTicks)
        let guestTime = (armedTicks &- left) &<< timerRate
        let elapsed = now &- armedAt
        if elapsed > guestTime {
            budgetDeadline =
                budgetDeadline &+ (elapsed &- guestTime) < budgetDeadline
                ? .max : budgetDeadline &+ (elapsed &- guestTime)
        }
        armedTicks = left
        armedAt = now
    }

    /// What is left of the budget now, in TSC cycles.
    public var budgetLeft: UInt64 {
        let now = cpu.readTimestampCounter()
        if !chargesHostTime { excuseHostTime(now: now) }
        return budgetDeadline > now ? budgetDeadline - now : 0
    }

    /// After a VMX-preemption timer exit: whether the budget is spent (less than one tick left).
    func budgetSpent() -> Bool {
        guard tracksBudget else { return true }
        return budgetLeft >> timerRate == 0
    }

    public func setPrimaryControls(_ controls: PrimaryProcessorBasedControls) {
        guard controls != primaryControls else { return }
        primaryControls = controls
        write(.primaryProcessorBasedVMExecutionControls, UInt64(controls.rawValue))
    }

    public func setExceptionBitmap(_ bitmap: UInt32) {
        guard bitmap != exceptionBitmap else { return }
        exceptionBitmap = bitmap
        write(.exceptionBitmap, UInt64(bitmap))
    }

    /// Whether the guest runs in 64-bit mode (IA32_EFER.LMA and CS.L): hypercall arguments
    /// are 64 bits wide then, 32 bits otherwise.
    @inline(__always)
    public var isIn64BitMode: Bool {
        read(.vmEntryControls) & UInt64(VMEntryControls.ia32eModeGuest.rawValue) != 0
            && read(.guestCSAccessRights) & UInt64(SegmentAccessRights.longMode.rawValue) != 0
    }

    /// The guest's current privilege level: SS.DPL (SDM Vol. 3A 5.5: CPL is CS.DPL, which VM
    /// entry requires SS.DPL to equal outside real mode).
    public var currentPrivilegeLevel: Int { Int((read(.guestSSAccessRights) >> 5) & 3) }

    // MARK: The run loop

    /// Runs the guest until a handler stops it.
    public func run() -> GuestStop {
        var uncounted = UncountedRootTime()
        return runLoop(&uncounted)
    }

    /// `run()`, adding the TSC cycles spent in VMX root operation to `rootCycles` (a
    /// pass-through guest, for make bench). The same loop, specialized: the sandboxed guests'
    /// exits pay nothing for it.
    public func runCountingRootTime() -> GuestStop {
        var counter = RootTimeCounter(cpu: cpu)
        defer { rootCycles &+= counter.cycles }
        return runLoop(&counter)
    }

    /// One turn of the run loop: one VM entry and the handling of its exit. Returns why the
    /// guest stops, or nil when it is to be entered again. A scheduler that interleaves several
    /// processors on one thread (the hosted EmulatedMachine) drives the loop this way.
    public func step() -> GuestStop? {
        var uncounted = UncountedRootTime()
        return enterAndDispatch(&uncounted, budget: tracksBudget)
    }

    @inline(__always)
    private func runLoop<Counter: RootTimeCounting>(_ counter: inout Counter) -> GuestStop {
        let budget = tracksBudget
        while true {
            if let stop = enterAndDispatch(&counter, budget: budget) { return stop }
        }
    }

    @inline(__always)
    private func enterAndDispatch<Counter: RootTimeCounting>(_ counter: inout Counter, budget: Bool) -> GuestStop? {
        do {
            if !launched && EntryDiagnostics.checksBeforeLaunch { checkEntryBeforeLaunch(self) }
            if budget {
                if entriesBeforeArming == 0 { armBudget() }
                entriesBeforeArming &-= 1
            }
            counter.entering(after: launched)
            try cpu.enterGuest(&registers, launch: !launched)
            counter.exited()
        } catch {
            reportFailedEntry(self, failure: error, launch: !launched)
            return .entryInstructionFailed(error, launch: !launched)
        }
        launched = true
        if let stop = dispatchExit(record: true) {
            counter.entering(after: true)
            return stop
        }
        return nil
    }

    /// Reads the exit that just happened, records it (unless the assembly baseline already
    /// did), and runs its handler. Returns why the guest stops, or nil to resume.
    @inline(__always)
    public func dispatchExit(record: Bool) -> GuestStop? {
        let reason = UInt32(truncatingIfNeeded: read(.exitReason))
        var exit = ExitContext(
            reason: ExitReason(rawValue: reason), qualification: read(.exitQualification),
            rip: read(.guestRIP))
        if record {
            statistics.record(reason: reason, qualification: exit.qualification, rip: exit.rip, cpu: cpu)
        }
        if exit.reason.isEntryFailure { return entryFailed(exit) }
        switch handlers.handler(basic: Int(reason & 0xFFFF))(self, &exit) {
        case .resume: return nil
        case .stop(let stop): return stop
        }
    }

    /// A VM entry that failed after its checks of controls and host state (SDM 27.8): the
    /// processor loaded host state and reports reason 33, 34 or 41 with bit 31 set.
    private func entryFailed(_ exit: ExitContext) -> GuestStop {
        reportFailedEntry(self, exit: exit)
        return .entryFailure(exit.reason, qualification: exit.qualification)
    }
}

/// What the run loop does around each VM entry to count the time between exits and entries.
protocol RootTimeCounting {
    /// Before a VM entry; `after` says whether a VM exit came before it.
    mutating func entering(after exit: Bool)
    /// Right after a VM exit.
    mutating func exited()
}

/// Counts nothing, at no cost.
struct UncountedRootTime: RootTimeCounting {
    @inline(__always) mutating func entering(after exit: Bool) {}
    @inline(__always) mutating func exited() {}
}

/// Counts with the time-stamp counter.
struct RootTimeCounter<P: Host>: RootTimeCounting {
    let cpu: P
    var cycles: UInt64 = 0
    var lastExit: UInt64 = 0

    init(cpu: P) { self.cpu = cpu }

    @inline(__always) mutating func entering(after exit: Bool) {
        if exit { cycles &+= cpu.readTimestampCounter() &- lastExit }
    }
    @inline(__always) mutating func exited() { lastExit = cpu.readTimestampCounter() }
}
