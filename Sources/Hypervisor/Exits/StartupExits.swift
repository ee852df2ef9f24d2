// INIT and SIPI, exit reasons 3 and 4: how a guest's processors start (SDM Vol. 3A 9.4 "Multiple-
// Processor (MP) Initialization"; Vol. 3C 26.2, 28.2.1).
//
// In VMX non-root operation an INIT always exits, except in the wait-for-SIPI activity state,
// where it is blocked; a SIPI exits only in wait-for-SIPI and is discarded otherwise (SDM 26.2).
// So a guest's application processor (AP) lives like this: its virtual CPU first enters in
// wait-for-SIPI; the guest's INIT-SIPI-SIPI reaches it as a SIPI exit, whose vector (exit
// qualification bits 7:0, Table 28-1) says where it starts in real mode; an INIT to a running
// or halted AP exits and returns it to wait-for-SIPI at once. An INIT that arrives while the AP
// waits may be dropped (KVM) or delivered as an INIT exit just after the SIPI started it (Bochs
// 2.7): either way the next SIPI starts it, as the guest's second SIPI does.
//
// The state after INIT is Table 10-1's (Vol. 3A 10.1.1): real mode, CS F000H based at
// FFFF0000H, IP FFF0H; a SIPI with vector V then starts at CS = V << 8, base V << 12, IP 0
// (9.4.4.1). Activity state, interruptibility state and pending debug exceptions are always
// written, never left as the exit saved them. The bootstrap processor's guest does not wait
// for SIPI: an INIT to it ends the guest. When the guest has stopped on another of its virtual
// CPUs, the hypervisor's INIT or SIPI stops this one too (GuestProcessorGroup.swift).
import VMX

public func handleINITSignal<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    if let group = vcpu.group, group.isStopping(cpu: vcpu.cpu) { return .stop(.stoppedWithItsGuest) }
    guard vcpu.isApplicationProcessor else {
        vcpu.cpu.log("guest \(vcpu.name): INIT to its bootstrap processor: the guest stops")
        return .stop(.initOrSIPI(exit.reason.basic))
    }
    guard vcpu.setup.supportsWaitForSIPI else {
        vcpu.cpu.log(
            """
            guest \(vcpu.name): INIT to an application processor, but this CPU has no wait-for-SIPI activity state \
            (IA32_VMX_MISC[8] clear): the virtual CPU stops
            """
        )
        return .stop(.initOrSIPI(exit.reason.basic))
    }
    return loadStartState(vcpu, startupVector: nil) ? .resume : .stop(.emulationFailure)
}

public func handleStartupIPI<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    // Only a virtual CPU in wait-for-SIPI takes this exit, and only an AP's ever waits.
    if let group = vcpu.group, group.isStopping(cpu: vcpu.cpu) { return .stop(.stoppedWithItsGuest) }
    guard vcpu.isApplicationProcessor else { return .stop(.initOrSIPI(exit.reason.basic)) }
    let vector = UInt8(truncatingIfNeeded: exit.qualification)
    return loadStartState(vcpu, startupVector: vector) ? .resume : .stop(.emulationFailure)
}

/// The state after INIT (`startupVector` nil: the virtual CPU waits for SIPI) or after a SIPI
/// with that vector (it runs from V << 12). Returns false if a VMWRITE failed (the line says
/// which field).
@discardableResult
public func loadStartState<P: Host>(_ vcpu: VirtualCPU<P>, startupVector: UInt8?) -> Bool {
    let signature = vcpu.cpu.cpuid(leaf: CPUIDLeaf.versionAndFeatures, subleaf: 0).eax
    var start = GuestStartState.make(
        mode: .real, entry: 0, memory: vcpu.memory, cr0Fixed: vcpu.cr0Fixed,
        cr4Fixed: vcpu.cr4Fixed, signature: signature)
    if let vector = startupVector {
        let segment = UInt16(vector) << 8
        start.cs = SegmentState(
            selector: segment, base: UInt64(segment) << 4, limit: UInt32(UInt16.max),
            accessRights: SegmentAccessRights.realModeCode.rawValue)
        start.rip = 0
    }
    let activity = startupVector == nil ? GuestActivityState.waitForSIPI : GuestActivityState.active
    if let failure = writeStartState(start, activityState: activity, setup: vcpu.setup, cpu: vcpu.cpu) {
        vcpu.cpu.log(
            """
            guest \(vcpu.name): VMWRITE of field \(hex: failure.field.rawValue, digits: 4) failed while loading \
            the state after \(startupVector == nil ? "INIT" : "SIPI")
            """
        )
        return false
    }
    // The general registers of Table 10-1: EDX the processor signature, the rest 0.
    vcpu.registers = GuestRegisters()
    vcpu.registers.rdx = start.rdx
    vcpu.shadowEFER = start.efer
    vcpu.taskPriority = 0
    // Nothing the hypervisor held for the old run survives it: no event to inject, no steps.
    vcpu.pendingInterrupt = nil
    vcpu.stepsRemaining = 0
    vcpu.guestTrapFlag = false
    vcpu.setPrimaryControls(vcpu.primaryControls.subtracting([.interruptWindowExiting, .monitorTrapFlag]))
    vcpu.group?.setState(startupVector == nil ? .waitingForSIPI : .running, of: vcpu.groupMember, cpu: vcpu.cpu)
    return true
}
