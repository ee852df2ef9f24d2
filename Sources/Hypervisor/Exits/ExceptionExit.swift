// Exceptions and NMIs, exit reason 0 (SDM 26.2: an exception whose bit is set in the exception
// bitmap exits; with "NMI exiting" every NMI exits). The VM-exit interruption-information
// field says which (Table 25-19); for #DB the exit qualification holds the DR6-like bits
// (Table 28-1).
//
// - #DB during a single step: the step is logged (SingleStep.swift);
// - #BP (INT3): logged and reflected to the guest as the software exception it was;
// - #MC: the guest is stopped (the machine check concerns the host);
// - NMI: it arrived for the host while the guest ran: the host timer (TimerExits.swift),
//   which stops the guest once its budget is spent, or another one, logged; the guest resumes;
// - any other exception in the bitmap: reflected to the guest with its error code.
import VMX

public func handleExceptionOrNMI<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let information = InterruptionInformation(
        rawValue: UInt32(truncatingIfNeeded: vcpu.read(.vmExitInterruptionInformation)))
    let vector = information.vector
    if information.type == .nonMaskableInterrupt {
        // The NMI was the host's; NMIs stay blocked until the host says it is done (SDM 28.1).
        vcpu.cpu.endHostInterrupt(vector: ExceptionVector.nmi.rawValue)
        if vcpu.hostTimerVector == ExceptionVector.nmi.rawValue {
            return vcpu.cpu.hostTimerExpired()
                ? .stop(.budgetExhausted(cycles: vcpu.budgetCycles, preemptionTimer: false)) : .resume
        }
        vcpu.cpu.log("guest \(vcpu.name): NMI for the host at guest RIP \(hex: exit.rip); resuming")
        return .resume
    }
    // An exception met while delivering another event: that event is delivered again when
    // the guest resumes (SDM 28.2.4).
    let interrupted = vcpu.reinjectInterruptedEvent()
    switch vector {
    case ExceptionVector.debug.rawValue
    where vcpu.stepsRemaining > 0 && DebugExceptionQualification(rawValue: exit.qualification).isSingleStep:
        vcpu.stepped(at: exit.rip)
        return .resume
    case ExceptionVector.breakpoint.rawValue where !interrupted:
        let length = vcpu.read(.vmExitInstructionLength)
        vcpu.log(.exception, "guest \(vcpu.name): #BP (INT3) at RIP \(hex: exit.rip), reflected to the guest")
        vcpu.injectSoftwareException(vector: .breakpoint, instructionLength: length)
        return .resume
    case ExceptionVector.machineCheck.rawValue:
        vcpu.cpu.log("guest \(vcpu.name): machine check (#MC) at RIP \(hex: exit.rip)")
        return .stop(.machineCheck)
    default:
        vcpu.log(
            .exception,
            """
            guest \(vcpu.name): exception \(vector) (\(information.type.name)) at RIP \(hex: exit.rip), reflected \
            to the guest
            """
        )
        if !interrupted {
            let errorCode =
                information.hasErrorCode ? UInt32(truncatingIfNeeded: vcpu.read(.vmExitInterruptionErrorCode)) : 0
            vcpu.injectException(vector: ExceptionVector(rawValue: vector), errorCode: errorCode)
        }
        return .resume
    }
}
