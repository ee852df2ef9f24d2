// What happens on an instruction boundary before the next guest instruction, in the priority
// the SDM gives (SDM 26.7.2 for the monitor trap flag; 26.5.1 the VMX-preemption timer; 26.7.5
// and 26.7.6 interrupt and NMI windows; 26.2 external interrupts), which is also the order Bochs
// checks them in: a pending MTF VM exit, the VMX-preemption timer, the NMI window, the
// interrupt window, then an external interrupt (from the host timer) that causes a VM exit with
// "external-interrupt exiting" or is delivered through the guest IDT without it. In the HLT
// activity state the processor waits for the first of these: time jumps to the next timer
// deadline, since time here is counted in guest instructions.
import CUnicorn
import VMX

extension GuestExecution {
    /// The event due on this boundary, if any.
    func boundaryEvent() -> StopReason? {
        if mtfPending {
            mtfPending = false
            return .vmExit(ExitInformation(reason: .monitorTrapFlag))
        }
        if preemptionTimerExpired() {
            return .vmExit(ExitInformation(reason: .preemptionTimerExpired))
        }
        pollHostTimer()
        let windowExiting = controls.interruptWindowExiting
        let nmiWindowExiting = controls.nmiWindowExiting
        guard windowExiting || nmiWindowExiting || hostInterruptPending else { return nil }
        if nmiWindowExiting && !blockingByNMI && !blockingByMovSS {
            return .vmExit(ExitInformation(reason: .nmiWindow))
        }
        let rflags = engine.read(UC_X86_REG_RFLAGS)
        let interruptible = rflags & RFLAGS.if.rawValue != 0 && !blockingBySTI && !blockingByMovSS
        if windowExiting && interruptible {
            return .vmExit(ExitInformation(reason: .interruptWindow))
        }
        if hostInterruptPending {
            if controls.externalInterruptExiting {
                if !blockingBySTI && !blockingByMovSS { return .vmExit(externalInterruptExit()) }
            } else if interruptible {
                hostInterruptPending = false
                return .deliverExternalInterrupt(hostTimerVector)
            }
        }
        return nil
    }

    /// SDM 28.2.2 with 28.1: with "acknowledge interrupt on exit" the interrupt is acknowledged
    /// and its vector recorded in the VM-exit interruption information; without it the
    /// interrupt stays pending for the host and the field is invalid.
    func externalInterruptExit() -> ExitInformation {
        var exit = ExitInformation(reason: .externalInterrupt)
        if controls.exitControls.contains(.acknowledgeInterruptOnExit) {
            hostInterruptPending = false
            exit.interruptionInformation =
                InterruptionInformation(vector: hostTimerVector, type: .externalInterrupt).rawValue
        }
        return exit
    }

    // MARK: Timers

    /// The VMX-preemption timer counts down by one each time bit X of the TSC changes, X being
    /// IA32_VMX_MISC[4:0] (SDM 26.5.1); it expired when it counted down to zero.
    func preemptionTimerExpired() -> Bool {
        guard controls.preemptionTimer else { return false }
        return preemptionTimerTicks() >= preemptionTimerValue
    }

    func preemptionTimerTicks() -> UInt64 {
        let rate = controls.preemptionTimerRate
        return (timestampCounter >> rate) &- (preemptionTimerStart >> rate)
    }

    /// The TSC value at which the preemption timer reaches zero.
    func preemptionTimerDeadline() -> UInt64? {
        guard controls.preemptionTimer else { return nil }
        let rate = controls.preemptionTimerRate
        return ((preemptionTimerStart >> rate) &+ preemptionTimerValue) << rate
    }

    /// The host timer's interrupt is requested once the TSC reaches its deadline.
    func pollHostTimer() {
        if let deadline = hostTimerDeadline, timestampCounter >= deadline {
            hostTimerDeadline = nil
            hostTimerFired = true
            hostInterruptPending = true
        }
    }

    // MARK: The HLT activity state

    /// Waits in the HLT state (SDM 27.7.5 for what ends it). Returns a VM exit (saving the HLT
    /// activity state), or nil when an interrupt was delivered and the guest runs again.
    func waitWhileHalted() -> ExitInformation? {
        if mtfPending {
            mtfPending = false
            return ExitInformation(reason: .monitorTrapFlag)
        }
        while true {
            if preemptionTimerExpired() { return ExitInformation(reason: .preemptionTimerExpired) }
            pollHostTimer()
            let rflags = engine.read(UC_X86_REG_RFLAGS)
            if controls.primary.contains(.interruptWindowExiting) && rflags & RFLAGS.if.rawValue != 0 {
                return ExitInformation(reason: .interruptWindow)
            }
            if hostInterruptPending {
                if controls.pinBased.contains(.externalInterruptExiting) { return externalInterruptExit() }
                if rflags & RFLAGS.if.rawValue != 0 {
                    hostInterruptPending = false
                    activityState = 0
                    return deliver(PendingEvent(vector: hostTimerVector, type: .externalInterrupt), injected: false)
                }
            }
            // Nothing yet: time passes to the next deadline.
            let deadlines = [preemptionTimerDeadline(), hostTimerDeadline].compactMap { $0 }
            guard let next = deadlines.min(), next > timestampCounter else {
                if deadlines.isEmpty {
                    cpu.reportGuestExecutionProblem(
                        "the guest halted with nothing that could wake it (HLT without HLT exiting, no timer armed)")
                    return ExitInformation(reason: Self.emulationLimitReason)
                }
                continue
            }
            timestampCounter = next
        }
    }
}
