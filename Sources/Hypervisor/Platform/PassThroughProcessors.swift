// The pass-through guest on every processor (docs/LINUX.md, "Several processors"): one virtual
// CPU per processor in VMX root operation. The bootstrap processor's virtual CPU (member 0)
// boots the guest; each other processor runs one application processor (AP) of the guest,
// entered in the wait-for-SIPI activity state before member 0 is launched, so that the guest's
// own INIT-SIPI-SIPI through its local APIC starts it (StartupExits.swift): the APIC, the
// interrupts and HLT are the guest's, as on the bootstrap processor.
//
// All members share the EPT tables, the I/O and MSR bitmaps and the platform (its ports, the
// MADT copy); each has its own VMCS, VPID, exit statistics and host state. The guest's
// application processors start in real mode, which needs unrestricted guest, and wait for SIPI,
// which needs IA32_VMX_MISC bit 8 (SDM A.6): without either the guest gets one virtual CPU and
// `nr_cpus=1` on its command line.
import VMX

/// What every application processor of the guest needs, built by the bootstrap processor.
public final class PassThroughProcessors {
    let name: OutsideText
    let group: GuestProcessorGroup
    let setup: ControlSetup
    let environment: GuestEnvironment
    /// The VMCS contents the members share (the start state and VPID are each member's).
    let contents: GuestVMCSContents
    let memory: GuestMemory
    let platform: PassThroughPlatform
    /// Member i's (i >= 1) VMCS region, exit-statistics page and VPID, at index i - 1.
    let vmcsRegions: [UInt64]
    let statisticsPages: [UInt64]
    let vpids: [UInt16]

    init(
        name: OutsideText, group: GuestProcessorGroup, setup: ControlSetup, environment: GuestEnvironment,
        contents: GuestVMCSContents, memory: GuestMemory, platform: PassThroughPlatform, vmcsRegions: [UInt64],
        statisticsPages: [UInt64], vpids: [UInt16]
    ) {
        self.name = name
        self.group = group
        self.setup = setup
        self.environment = environment
        self.contents = contents
        self.memory = memory
        self.platform = platform
        self.vmcsRegions = vmcsRegions
        self.statisticsPages = statisticsPages
        self.vpids = vpids
    }

    /// How long (watchdog periods) an application processor is given to reach wait-for-SIPI.
    static let startPeriods: UInt64 = 400

    /// Why a guest gets one virtual CPU although other processors are in VMX root operation.
    enum SingleProcessorReason {
        case noUnrestrictedGuest
        case noWaitForSIPI
        case noPreemptionTimer
        case budget
        case tooManyProcessors

        var text: StaticString {
            switch self {
            case .noUnrestrictedGuest: return "no unrestricted guest (an application processor starts in real mode)"
            case .noWaitForSIPI: return "no wait-for-SIPI activity state (IA32_VMX_MISC[8] clear)"
            case .noPreemptionTimer: return "no VMX-preemption timer (the virtual CPUs' watchdog)"
            case .budget: return "budget= times one virtual CPU"
            case .tooManyProcessors: return "more processors than one page of shared state holds"
            }
        }
    }

    /// The members' processors (this one first), or one and the reason when the CPU cannot
    /// give the guest more.
    static func plan(
        setup: ControlSetup, capabilities: VMXCapabilities, budget: Bool, here: UInt32, others: [UInt32]
    ) -> ([UInt32], SingleProcessorReason?) {
        guard !others.isEmpty else { return ([here], nil) }
        guard setup.usesUnrestrictedGuest else { return ([here], .noUnrestrictedGuest) }
        guard setup.supportsWaitForSIPI else { return ([here], .noWaitForSIPI) }
        guard capabilities.pinBasedControls.allowsOne(.activateVMXPreemptionTimer),
            capabilities.exitControls.allowsZero(.saveVMXPreemptionTimerValue)
        else { return ([here], .noPreemptionTimer) }
        guard !budget else { return ([here], .budget) }
        guard others.count < GuestProcessorGroup.maximumMembers else { return ([here], .tooManyProcessors) }
        return ([here] + others, nil)
    }

    /// The controls of every member: the pass-through guest's, with the VMX-preemption timer
    /// active and not saved, so that each VM entry loads the watchdog's period again.
    static func memberSetup(_ setup: ControlSetup) -> ControlSetup {
        var setup = setup
        setup.pinBased.insert(.activateVMXPreemptionTimer)
        setup.exit.remove(.saveVMXPreemptionTimerValue)
        return setup
    }

    /// Hands the application processors to the other processors and waits (bounded) until each
    /// waits for SIPI or has given up. Returns how many wait.
    func start<P: Host>(on others: OtherProcessors, cpu: P) -> Int {
        others.start(
            OtherProcessorWork(guests: [], environment: environment, arenas: [], benchmark: false, passThrough: self))
        var waiting = 0
        for member in 1..<group.count {
            group.wait(periods: Self.startPeriods, cpu: cpu) { group.state(of: member, cpu: cpu) != .notStarted }
            if group.state(of: member, cpu: cpu) == .waitingForSIPI { waiting += 1 }
        }
        return waiting
    }

    /// After member 0 stopped: every other member brought back into VMX root operation, and
    /// the processors done. Returns whether all came back.
    func stop<P: Host>(on others: OtherProcessors, cpu: P) -> Bool {
        let missing = group.stopAll(from: 0, waiting: true, cpu: cpu)
        for member in missing {
            cpu.log(
                """
                guest \(name): virtual CPU \(member) (APIC ID \(group.apicIDs[member])) did not stop after \
                \(GuestProcessorGroup.signalAttempts) INIT or SIPI signals
                """
            )
        }
        let finished = others.finish()
        return missing.isEmpty && finished
    }
}

/// On another processor: member `member` of the guest, from wait-for-SIPI until the guest stops.
/// Returns whether the hypervisor did everything right.
func runPassThroughApplicationProcessor<P: Host>(
    _ work: PassThroughProcessors, member: Int, host: HostState, cpu: P
) -> Bool {
    let group = work.group
    guard member < group.count, group.apicIDs[member] == cpu.localAPICID else {
        cpu.log("guest \(work.name): no virtual CPU for this processor (APIC ID \(cpu.localAPICID))")
        return true
    }
    let vmcs = work.vmcsRegions[member - 1]
    let vpid = work.vpids[member - 1]
    func giveUp(_ what: StaticString) -> Bool {
        cpu.log("guest \(work.name): virtual CPU \(member) not started: \(what)")
        group.setState(.stopped, of: member, cpu: cpu)
        return false
    }
    do {
        try cpu.vmclear(vmcs)
        try cpu.vmptrld(vmcs)
    } catch {
        return giveUp("VMCLEAR or VMPTRLD of its VMCS failed")
    }
    let env = work.environment
    var contents = work.contents
    contents.vpid = vpid
    contents.start = GuestStartState.make(
        mode: .real, entry: 0, memory: work.memory, cr0Fixed: env.guestCR0Fixed, cr4Fixed: env.guestCR4Fixed,
        signature: cpu.cpuid(leaf: CPUIDLeaf.versionAndFeatures, subleaf: 0).eax)
    if writeVMCS(setup: work.setup, host: host, guest: contents, cpu: cpu) != nil {
        try? cpu.vmclear(vmcs)
        return giveUp("a VMWRITE failed")
    }
    // This processor's TLBs may hold translations of an earlier guest with the same EPTP or VPID.
    if let type = work.setup.inveptType, let eptp = contents.eptPointer { try? cpu.invept(type: type, eptp: eptp) }
    if work.setup.usesVPID, let type = work.setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }
    let statistics = ExitStatistics(base: work.statisticsPages[member - 1], cpu: cpu)
    let vcpu = VirtualCPU(
        cpu: cpu, name: work.name, setup: work.setup, memory: work.memory, statistics: statistics,
        vmcs: vmcs, vpid: vpid, cr0Fixed: env.guestCR0Fixed, cr4Fixed: env.guestCR4Fixed,
        cr0Mask: env.cr0Mask, cr4Mask: env.cr4Mask, exceptionBitmap: 0, handlers: .passThrough)
    vcpu.cpuidView = .passThrough
    vcpu.platform = work.platform
    vcpu.isApplicationProcessor = true
    vcpu.group = group
    vcpu.groupMember = member
    vcpu.handlers[.preemptionTimerExpired] = handleGroupWatchdog
    vcpu.handlers = clearingSMIBlocking(vcpu.handlers)
    guard loadStartState(vcpu, startupVector: nil) else {
        try? cpu.vmclear(vmcs)
        return giveUp("writing the state after INIT failed")
    }
    cpu.log(
        """
        guest \(work.name): virtual CPU \(member) (APIC ID \(group.apicIDs[member])) waits for SIPI: VMCS at \
        \(hex: vmcs), VPID \(vpid)
        """
    )
    let run = runBuiltGuest(
        vcpu, name: work.name, budget: nil, isBuiltIn: false, statistics: statistics, path: .swift, debugging: nil)
    if run.stop == .stoppedWithItsGuest {
        group.setState(.stopped, of: member, cpu: cpu)
    } else {
        // This member stopped first (a triple fault, a reset through a port): the others follow.
        group.stopAll(from: member, waiting: false, cpu: cpu)
    }
    quiesceLocalAPIC(cpu: cpu)
    return run.healthy && !(run.stop?.isHypervisorFault ?? false)
}

/// Bochs 2.7 starts an AP from a SIPI VM exit without unmasking SMIs and NMIs (event.cc
/// deliver_SIPI: the VM exit comes before the unmask), so from then on every VM exit of that
/// processor saves "blocking by SMI" in the interruptibility state, and the VM entry that
/// follows fails (SDM 27.3.1.5: blocking by SMI needs SMM). Outside SMM the bit is 0 on every
/// processor that follows the SDM, so clearing it before each handler changes nothing there.
/// (Blocking by NMI ends at the guest's next IRET, as the SDM has it.) docs/BOCHS-DIFFERENCES.md.
func clearingSMIBlocking<P: Host>(_ table: ExitHandlerTable<P>) -> ExitHandlerTable<P> {
    var wrapped = table
    for basic in 0..<table.entries.count {
        let handle = table.entries[basic].handle
        wrapped[basic: basic] = { vcpu, exit in
            let interruptibility = vcpu.read(.guestInterruptibilityState)
            if interruptibility & GuestInterruptibility.blockingBySMI != 0 {
                vcpu.write(.guestInterruptibilityState, interruptibility & ~GuestInterruptibility.blockingBySMI)
            }
            return handle(vcpu, &exit)
        }
    }
    return wrapped
}
