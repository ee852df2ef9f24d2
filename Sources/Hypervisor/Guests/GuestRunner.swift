// Runs the guests one after the other, each in a fresh VMCS: plan the image, build the guest,
// arm its time budget, run it until it stops, report why, VMCLEAR its VMCS. A guest that
// cannot be loaded or built is reported and skipped; whatever a guest does, the hypervisor
// goes on with the next one.
import VMX

extension GuestStop {
    /// Appends the reason (no line end).
    public func describe(into text: inout LogText) {
        switch self {
        case .halted: text.appendLiteral("halted (HLT)")
        case .shutDown(let code): text.append("shut down by the guest (hypercall SHUT_DOWN, code \(code))")
        case .tripleFault: text.appendLiteral("triple fault: the guest is dead")
        case .budgetExhausted(let cycles, let preemptionTimer):
            text.append(
                """
                time budget of \(cycles) TSC cycles exhausted \
                (\(preemptionTimer ? "VMX-preemption timer" : "host timer"))
                """
            )
        case .eptViolation(let address): text.append("EPT violation at guest-physical \(hex: address)")
        case .eptMisconfiguration(let address): text.append("EPT misconfiguration at guest-physical \(hex: address)")
        case .initOrSIPI(let reason): text.append("\(reason)")
        case .stoppedWithItsGuest: text.appendLiteral("with the guest, which stopped on another of its virtual CPUs")
        case .machineCheck: text.appendLiteral("machine check")
        case .unexpectedExit(let reason): text.append("unexpected VM exit, reason \(reason)")
        case .entryFailure(let reason, let qualification):
            text.append("VM entry failed: exit reason \(reason), qualification \(qualification)")
        case .entryInstructionFailed(let failure, let launch):
            text.append("\(launch ? "VMLAUNCH" : "VMRESUME") failed: \(failure)")
        case .emulationFailure: text.appendLiteral("the hypervisor could not emulate what the guest did")
        case .platform(let stop): stop.describe(into: &text)
        }
    }

    /// Whether the stop shows a fault of the hypervisor rather than of the guest.
    public var isHypervisorFault: Bool {
        switch self {
        case .unexpectedExit, .entryFailure, .entryInstructionFailed, .eptMisconfiguration, .emulationFailure:
            return true
        default: return false
        }
    }
}

/// How a guest is run: the Swift dispatcher, or (for `make bench`) the assembly baseline.
public enum DispatchPath: Sendable {
    case swift
    case assemblyBaseline
}

/// What running one image gave.
public struct GuestRun<P: Host> {
    /// The guest, nil when it could not be loaded or built.
    public var vcpu: VirtualCPU<P>?
    /// Whether the hypervisor itself did everything right.
    public var healthy: Bool
    /// Why the guest stopped, nil when it never ran.
    public var stop: GuestStop? = nil
    /// The TSC just before the guest's first VM entry.
    public var firstEntryTimestamp: UInt64 = 0
    /// Whether no VMCS of the guest is active (cleared, or never loaded): only then may its
    /// arena memory be handed back (PageArena.release).
    public var vmcsIsClear = true
}

/// Plans, builds and runs one image, with the snapshot and debugger of `debugging` if any.
public func runGuest<P: Host>(
    _ image: GuestImage, environment: GuestEnvironment, vpid: UInt16, arena: inout PageArena, cpu: P,
    path: DispatchPath = .swift, debugging: GuestDebugHooks<P>? = nil
) -> GuestRun<P> {
    let plan: GuestPlan
    do {
        plan = try image.plan(cpu: cpu)
    } catch {
        var text = LogText()
        text.append("guest \(outside: GuestOptions.name(in: image.commandLine) ?? image.name): cannot load the image: ")
        error.describe(into: &text)
        cpu.log(LogMessage(stringInterpolation: text))
        return GuestRun(vcpu: nil, healthy: image.isBuiltIn == false)
    }
    let vcpu: VirtualCPU<P>
    do {
        vcpu = try buildGuest(plan: plan, image: image, environment: environment, vpid: vpid, arena: &arena, cpu: cpu)
    } catch {
        var text = LogText()
        text.append("guest \(plan.name): ")
        error.describe(into: &text)
        cpu.log(LogMessage(stringInterpolation: text))
        switch error {
        case .needsUnrestrictedGuest, .needsIA32eModeGuest, .userImageNeedsEPT, .guestNeedsEPT:
            return GuestRun(vcpu: nil, healthy: true)
        default: return GuestRun(vcpu: nil, healthy: false)
        }
    }
    vcpu.limitsLines = !image.isBuiltIn
    let setup = environment.setup
    let timer: StaticString = setup.usesPreemptionTimer ? "VMX-preemption timer" : "host timer"
    cpu.log(
        """
        guest \(plan.name): \(plan.mode.name), entry \(hex: plan.entry), \(plan.memorySize >> 20) MiB at \
        guest-physical \(hex: vcpu.memory.physicalBase) (host \(hex: vcpu.memory.host)), \
        \(setup.usesEPT ? "EPT" : "no EPT"), budget \(plan.budget) TSC cycles (\(timer))
        """
    )
    return runBuiltGuest(
        vcpu, name: plan.name, budget: plan.budget, isBuiltIn: image.isBuiltIn,
        statistics: environment.statistics, path: path, debugging: debugging)
}

/// Runs a built guest until it stops (with the host timer armed for `budget` where the
/// VMX-preemption timer does not enforce it; no budget at all for nil), reports why it stopped,
/// and clears its VMCS.
func runBuiltGuest<P: Host>(
    _ vcpu: VirtualCPU<P>, name: OutsideText, budget: UInt64?, isBuiltIn: Bool, statistics: ExitStatistics,
    path: DispatchPath, debugging: GuestDebugHooks<P>?
) -> GuestRun<P> {
    let cpu = vcpu.cpu
    let hostTimer = budget != nil && !vcpu.setup.usesPreemptionTimer
    if let budget, hostTimer {
        vcpu.hostTimerVector = cpu.armHostTimer(cycles: budget)
    }
    let before = statistics.total(cpu: cpu)
    let firstEntry = cpu.readTimestampCounter()
    let stop =
        debugging?.guestStarting(vcpu)
        ?? (path == .assemblyBaseline
            ? vcpu.runBaseline() : vcpu.countsRootTime ? vcpu.runCountingRootTime() : vcpu.run())
    debugging?.guestStopped(vcpu, stop)
    if hostTimer { cpu.disarmHostTimer() }
    if let line = vcpu.serial.takeLine(), !line.isEmpty { vcpu.printSerialLine(line) }
    let exitCount = statistics.total(cpu: cpu) &- before
    vcpu.summarizeLines()
    var text = LogText()
    text.append("guest \(name) stopped: ")
    stop.describe(into: &text)
    text.append(" (\(exitCount) VM exits)")
    cpu.log(LogMessage(stringInterpolation: text))
    do { try cpu.vmclear(vcpu.vmcs) } catch {
        cpu.log("guest \(name): VMCLEAR of its VMCS failed: \(error)")
        return GuestRun(vcpu: vcpu, healthy: false, firstEntryTimestamp: firstEntry, vmcsIsClear: false)
    }
    return GuestRun(
        vcpu: vcpu, healthy: !(isBuiltIn && stop.isHypervisorFault), stop: stop,
        firstEntryTimestamp: firstEntry)
}

extension VirtualCPU {
    /// The run loop with the assembly dispatcher of `make bench` (Host.enterGuestBaseline):
    /// it handles the benchmark's CPUID, VMCALL and OUT exits itself and returns here for
    /// every other exit, already counted in the statistics.
    public func runBaseline() -> GuestStop {
        while true {
            let recorded: Bool
            do {
                recorded = try cpu.enterGuestBaseline(&registers, launch: !launched, statistics: statistics.base)
            } catch {
                return .entryInstructionFailed(error, launch: !launched)
            }
            launched = true
            if let stop = dispatchExit(record: !recorded) { return stop }
        }
    }
}
