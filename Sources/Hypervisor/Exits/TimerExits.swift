// What stops a guest that runs too long, and interrupts that arrive for the host.
//
// - VMX-preemption timer expired, exit reason 52 (SDM 26.5.1): the timer counts down in VMX
//   non-root operation at the TSC rate divided by 2^IA32_VMX_MISC[4:0]; with "save
//   VMX-preemption timer value" its remainder carries over from exit to entry, so the budget
//   is the guest's total time.
// - The host timer (Host.armHostTimer) on CPUs without the preemption timer: its
//   interrupts exit - as NMIs (exit reason 0, ExceptionExit.swift) in the kernel, or as
//   external interrupts (exit reason 1, below) - until the budget is spent. With "acknowledge
//   interrupt on exit" the vector of an external interrupt is in the VM-exit interruption-
//   information field (SDM 28.2.2) and the host signals EOI. A timer interrupt before the
//   deadline lets the guest go on.
import VMX

/// The timer is armed with at most 2^32 - 1 ticks at a time (VirtualCPU.armBudget): the guest
/// goes on, re-armed with the rest, until its whole budget is spent.
public func handlePreemptionTimerExpired<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    if vcpu.budgetSpent() { return .stop(.budgetExhausted(cycles: vcpu.budgetCycles, preemptionTimer: true)) }
    vcpu.chargeHostTimeAtNextEntry()
    return .resume
}

public func handleExternalInterrupt<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let information = InterruptionInformation(
        rawValue: UInt32(truncatingIfNeeded: vcpu.read(.vmExitInterruptionInformation)))
    guard information.isValid else {
        vcpu.log(
            .event,
            "guest \(vcpu.name): external interrupt without vector information (no \"acknowledge interrupt on exit\")")
        return .resume
    }
    let vector = information.vector
    vcpu.cpu.endHostInterrupt(vector: vector)
    if let timer = vcpu.hostTimerVector, vector == timer, vcpu.cpu.hostTimerExpired() {
        return .stop(.budgetExhausted(cycles: vcpu.budgetCycles, preemptionTimer: false))
    }
    vcpu.log(.event, "guest \(vcpu.name): host interrupt \(hex: vector, digits: 2) while the guest ran; resuming")
    return .resume
}
