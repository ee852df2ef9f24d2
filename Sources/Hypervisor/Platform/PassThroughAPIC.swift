// The local APIC of a guest with several virtual CPUs (docs/LINUX.md, "Several processors").
// (In x2APIC mode the ICR is MSR 830H, whose writes exit instead: PassThroughMSRs.swift.)
// The APIC is the guest's - its timer, its interrupts, its IPIs - except INIT and SIPI: those
// the hypervisor takes from the guest's interrupt-command-register writes and delivers to the
// virtual CPUs itself (GuestProcessorGroup.swift says why no INIT may reach a processor).
// So the APIC page is mapped read-only in EPT for such a guest: its reads go to the APIC, and
// each write is an EPT violation, decoded (MMIOWrite.swift) and done by the hypervisor on
// this processor's APIC, which is the one the guest addressed (the page is per processor).
//
// INIT and SIPI, by destination (the ICR high word's APIC ID, or the shorthand): to a member
// in wait-for-SIPI, a SIPI is sent on as a SIPI (a SIPI VM exit there, StartupExits.swift) and
// an INIT is dropped (it would be blocked, SDM 26.2); to a running member, an INIT is left for
// it to take at its next watchdog expiry (back to wait-for-SIPI; the bootstrap processor's
// virtual CPU ends the guest) and this one waits until it has, so that the SIPIs that follow
// find it waiting; a SIPI is discarded (SDM 26.2). To itself, an INIT takes effect at once.
// Processors that are not the guest's (the hypervisor's own), logical destinations and INIT
// level de-assert: dropped.
import VMX

/// A write to the local APIC page at `offset`: decoded, done, the instruction skipped.
func handleLocalAPICWrite<P: Host>(
    _ vcpu: VirtualCPU<P>, page: UInt64, offset: UInt64, _ exit: inout ExitContext
) -> ExitAction {
    // The decoder knows 32- and 64-bit code (CS.D or CS.L), where the instruction is at CS base + RIP.
    let code = SegmentAccessRights(rawValue: UInt32(truncatingIfNeeded: vcpu.read(.guestCSAccessRights)))
    let wide = !code.intersection([.longMode, .defaultOperationSize]).isEmpty
    let linear = vcpu.read(.guestCSBase) &+ exit.rip
    let instruction =
        vcpu.readGuest(linear: linear, count: 15)
        ?? vcpu.readGuest(linear: linear, count: Int(PhysicalLayout.pageSize - linear % PhysicalLayout.pageSize))
    guard wide, let bytes = instruction, let write = MMIOWrite.decode(bytes, register: vcpu.generalPurposeRegister)
    else {
        var text = LogText()
        text.append("guest \(vcpu.name): a write to the local APIC at offset \(hex: offset, digits: 3) by an ")
        text.append("instruction the hypervisor does not decode (at RIP \(hex: exit.rip)):")
        for byte in (instruction ?? []).prefix(8) { text.append(" \(hex: byte, digits: 2)") }
        vcpu.cpu.log(LogMessage(stringInterpolation: text))
        return .stop(.emulationFailure)
    }
    let register = page + offset
    if write.kind == .exchange, let source = write.register {
        vcpu.setGeneralPurposeRegister(source, UInt64(vcpu.cpu.readMMIO32(register)))
    }
    // The instruction completes first: an INIT the guest sends itself replaces RIP.
    vcpu.skipInstruction(exit, length: UInt64(write.length))
    if offset == LocalAPIC.interruptCommandLow, let group = vcpu.group, isStartupSignal(write.value) {
        let destination = vcpu.cpu.readMMIO32(page + LocalAPIC.interruptCommandHigh)
        return deliverGuestStartupSignal(
            vcpu, group: group, command: write.value, target: destination >> LocalAPIC.xAPICDestinationShift)
    }
    vcpu.cpu.writeMMIO32(register, write.value)
    return .resume
}

/// Whether an ICR value sends INIT or SIPI.
func isStartupSignal(_ command: UInt32) -> Bool {
    let mode = command & LocalAPIC.deliveryModeMask
    return mode == LocalAPIC.deliveryModeINIT || mode == LocalAPIC.deliveryModeStartUp
}

/// The guest's INIT or SIPI (ICR bits 31:0 `command`, to APIC ID `target` unless the command
/// has a shorthand) to its virtual CPUs.
func deliverGuestStartupSignal<P: Host>(
    _ vcpu: VirtualCPU<P>, group: GuestProcessorGroup, command: UInt32, target: UInt32
) -> ExitAction {
    let cpu = vcpu.cpu
    let isINIT = command & LocalAPIC.deliveryModeMask == LocalAPIC.deliveryModeINIT
    // INIT level de-assert (SDM Vol. 3A 12.6.1) and logical destinations: nothing to do.
    if isINIT && command & (LocalAPIC.levelAssert | LocalAPIC.levelTriggered) == LocalAPIC.levelTriggered {
        return .resume
    }
    let what: StaticString = isINIT ? "INIT" : "SIPI"
    guard command & LocalAPIC.logicalDestination == 0 else {
        vcpu.log(.refusedOther, "guest \(vcpu.name): \(what) with a logical destination: dropped")
        return .resume
    }
    let me = vcpu.groupMember
    let shorthand = (command >> LocalAPIC.shorthandShift) & 3
    if shorthand == 0 && !group.apicIDs.contains(target) {
        vcpu.log(.refusedOther, "guest \(vcpu.name): \(what) to APIC ID \(target), not one of its processors: dropped")
        return .resume
    }
    var action = ExitAction.resume
    for member in 0..<group.count {
        let named: Bool
        switch shorthand {
        case 1: named = member == me  // self
        case 2: named = true  // all including self
        case 3: named = member != me  // all excluding self
        default: named = group.apicIDs[member] == target
        }
        guard named else { continue }
        if member == me {
            // A guest's INIT to itself: its BSP's ends the guest, an AP waits for SIPI again.
            guard isINIT else { continue }
            if !vcpu.isApplicationProcessor { return .stop(.initOrSIPI(.initSignal)) }
            action = loadStartState(vcpu, startupVector: nil) ? .resume : .stop(.emulationFailure)
            continue
        }
        let state = group.state(of: member, cpu: cpu)
        if isINIT {
            guard state == .running else { continue }
            group.requestINIT(for: member, cpu: cpu)
            group.wait(periods: 4, cpu: cpu) { group.state(of: member, cpu: cpu) != .running }
        } else if state == .waitingForSIPI {
            cpu.sendInterProcessorInterrupt(
                .startup(vector: UInt8(truncatingIfNeeded: command)), to: group.apicIDs[member])
        }
    }
    return action
}

/// The VMX-preemption timer of a virtual CPU of a group: its watchdog. It stops when the
/// guest stops elsewhere, takes an INIT the guest sent it, and otherwise goes on.
public func handleGroupWatchdog<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard let group = vcpu.group else { return handlePreemptionTimerExpired(vcpu, &exit) }
    if group.isStopping(cpu: vcpu.cpu) { return .stop(.stoppedWithItsGuest) }
    if group.takeINIT(for: vcpu.groupMember, cpu: vcpu.cpu) {
        guard vcpu.isApplicationProcessor else { return .stop(.initOrSIPI(.initSignal)) }
        return loadStartState(vcpu, startupVector: nil) ? .resume : .stop(.emulationFailure)
    }
    return .resume
}
