// Event injection through the VM-entry interruption-information field (SDM 25.8.3 "VM-Entry
// Controls for Event Injection", 27.6 "Event Injection"), respecting VM entry's checks of it
// (SDM 27.2.1.3): a hardware exception delivers an error code exactly when it has one (#DF,
// #TS, #NP, #SS, #GP, #PF, #AC) and the guest is in protected mode (no error code is pushed in
// real mode: with unrestricted guest and CR0.PE = 0 "deliver error code" must be 0); software
// exceptions carry the instruction length; an external interrupt is injected only when the
// guest can take it (RFLAGS.IF = 1, no blocking by STI or MOV SS, SDM 26.3.1.4 and 27.3.2.1's
// rules for "interruptibility state"), otherwise interrupt-window exiting asks for the moment
// it can (SDM 25.6.2, "interrupt-window exiting"; 26.2).
import VMX

extension VirtualCPU {
    /// Logs `what` and injects #GP(0): the answer to a guest access the hypervisor refuses.
    func generalProtection(kind: GuestLineKind = .refusedOther, _ what: @autoclosure () -> LogMessage) -> ExitAction {
        log(kind, what())
        injectException(vector: .generalProtection, errorCode: 0)
        return .resume
    }

    /// Injects hardware exception `vector` (type 3) with `errorCode` where it has one.
    public func injectException(vector: ExceptionVector, errorCode: UInt32 = 0) {
        let protectedMode = read(.guestCR0) & ControlRegister0.pe.rawValue != 0
        let deliver = protectedMode && VMEntryInterruptionInformation.exceptionHasErrorCode(vector.rawValue)
        let information = VMEntryInterruptionInformation(
            vector: vector.rawValue, type: .hardwareException, deliverErrorCode: deliver)
        write(.vmEntryInterruptionInformation, UInt64(information.rawValue))
        if deliver { write(.vmEntryExceptionErrorCode, UInt64(errorCode)) }
    }

    /// Injects software exception `vector` (type 6: #BP from INT3, #OF from INTO), which
    /// delivery treats as trap-like: RIP advances by `instructionLength`.
    public func injectSoftwareException(vector: ExceptionVector, instructionLength: UInt64) {
        let information = VMEntryInterruptionInformation(vector: vector.rawValue, type: .softwareException)
        write(.vmEntryInterruptionInformation, UInt64(information.rawValue))
        write(.vmEntryInstructionLength, instructionLength)
    }

    /// Re-injects the event whose delivery the VM exit interrupted (IDT-vectoring information,
    /// SDM 28.2.4), if there was one. Returns whether it did.
    @discardableResult
    public func reinjectInterruptedEvent() -> Bool {
        let vectoring = InterruptionInformation(rawValue: UInt32(truncatingIfNeeded: read(.idtVectoringInformation)))
        guard vectoring.isValid else { return false }
        write(.vmEntryInterruptionInformation, UInt64(vectoring.asVMEntryInterruptionInformation))
        if vectoring.hasErrorCode { write(.vmEntryExceptionErrorCode, read(.idtVectoringErrorCode)) }
        switch vectoring.type {
        case .softwareInterrupt, .privilegedSoftwareException, .softwareException:
            write(.vmEntryInstructionLength, read(.vmExitInstructionLength))
        default: break
        }
        return true
    }

    /// Whether an external interrupt could be injected now: RFLAGS.IF = 1, no blocking by
    /// STI or MOV SS, and no other event already set up for this VM entry.
    public var canTakeInterrupt: Bool {
        let flags = read(.guestRFLAGS)
        let blocking = GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS
        return flags & RFLAGS.if.rawValue != 0 && read(.guestInterruptibilityState) & blocking == 0
            && InterruptionInformation(rawValue: UInt32(truncatingIfNeeded: read(.vmEntryInterruptionInformation)))
                .isValid == false
    }

    /// Asks for external interrupt `vector` to be delivered to the guest: now if it can take
    /// it, else at the next interrupt window.
    public func requestInterrupt(vector: UInt8) {
        pendingInterrupt = vector
        deliverPendingInterrupt()
    }

    /// Injects the pending interrupt if the guest can take it; otherwise turns on
    /// interrupt-window exiting (or, without it, waits for the next exit that comes).
    public func deliverPendingInterrupt() {
        guard let vector = pendingInterrupt else { return }
        if canTakeInterrupt {
            let information = VMEntryInterruptionInformation(vector: vector, type: .externalInterrupt)
            write(.vmEntryInterruptionInformation, UInt64(information.rawValue))
            pendingInterrupt = nil
            log(.event, "guest \(name): external interrupt \(hex: vector, digits: 2) injected")
            setPrimaryControls(primaryControls.subtracting(.interruptWindowExiting))
        } else if setup.allowsInterruptWindowExiting {
            setPrimaryControls(primaryControls.union(.interruptWindowExiting))
        }
    }
}

/// Interrupt window, exit reason 7: the guest can take an interrupt now (SDM 25.6.2, 26.2).
public func handleInterruptWindow<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.log(.event, "guest \(vcpu.name): interrupt window open at RIP \(hex: exit.rip)")
    vcpu.setPrimaryControls(vcpu.primaryControls.subtracting(.interruptWindowExiting))
    vcpu.deliverPendingInterrupt()
    return .resume
}
