// The guest debugger in the run loop: attaches a GDBStub to one guest's VirtualCPU, behind the
// boot option `gdb` (GuestDebugging; the kernel's debug image gives it COM2 as its line). It
// wraps every exit handler of the guest, so that
// - INT3 at one of the stub's breakpoints (#BP intercepted through the exception bitmap; the VM
//   exit leaves RIP at the INT3, SDM 28.2.1) stops the guest for gdb instead of reaching it;
// - a #DB from DR0-DR3 (exit qualification B0-B3, SDM Table 28-1) stops it likewise; the guest
//   resumes with RFLAGS.RF = 1 so that the instruction breakpoint does not fire again (SDM Vol.
//   3B 19.3.1.1);
// - a single step ends with the monitor trap flag's exit (reason 37) where the probe saw it work,
//   otherwise with the #DB single-step trap of RFLAGS.TF (intercepted; TF is hidden from gdb's
//   view of RFLAGS and put back as the guest had it), or with a handler that emulated the
//   instruction (RIP moved on);
// - HLT stops the guest for gdb; a guest that is done (any stop of the run loop) is reported as
//   exited (`W`, the shutdown code; 0 for a pass-through guest's ACPI power-off) or terminated
//   (`X`: triple fault SIGSEGV, time budget SIGALRM, anything else SIGABRT);
// - the debugger's hardware breakpoints are put back into DR0-DR3 and DR7 at every VM exit the
//   guest resumes from: without MOV-DR exiting the guest writes them itself (Linux clears them
//   all in cpu_init);
// - between exits the stub looks for gdb's interrupt (03H).
// gdb attaches before the guest's first instruction.
import VMX

/// The debugger attached to one guest (GuestDebugging.attach).
public final class GuestDebugger<P: Host> {
    public private(set) var stub = GDBStub()
    private var connection: GuestDebugConnection
    private var target: VirtualCPUDebugTarget<P>
    private let originalHandlers: ExitHandlerTable<P>
    private var stepping = false
    private var detached = false
    /// Set when gdb let a guest that had halted go on: the guest is done.
    private var finished = false

    public init(vcpu: VirtualCPU<P>, host: any GuestDebugHost) {
        connection = GuestDebugConnection(host: host)
        target = VirtualCPUDebugTarget(vcpu: vcpu, host: host)
        originalHandlers = vcpu.handlers
    }

    private var vcpu: VirtualCPU<P> { target.vcpu }

    /// Installs the wrapped handlers, intercepts #BP and #DB, and waits for gdb.
    public func attach() {
        var table = originalHandlers
        for index in table.entries.indices {
            let original = originalHandlers[basic: index]
            table[basic: index] = { [self] vcpu, exit in handle(index, original, vcpu, &exit) }
        }
        vcpu.handlers = table
        vcpu.setExceptionBitmap(
            vcpu.exceptionBitmap | ExceptionVector.breakpoint.exceptionBitmapBit
                | ExceptionVector.debug.exceptionBitmapBit)
        vcpu.cpu.log("guest \(vcpu.name): waiting for gdb on the debug line (target remote)")
        _ = stop(.attached)
    }

    /// Whether the guest is done for the debugger (gdb killed it, or it ended): a run loop that
    /// has not entered it yet does not.
    public var isFinished: Bool { finished }

    /// The run loop ended with `stop`: gdb learns how, the original handlers come back.
    public func guestStopped(_ stop: GuestStop) {
        if !detached && !finished { report(end: stop) }
        vcpu.handlers = originalHandlers
    }

    // MARK: Exits

    private func handle(
        _ reason: Int, _ original: ExitHandler<P>, _ vcpu: VirtualCPU<P>,
        _ exit: inout ExitContext
    ) -> ExitAction {
        if detached { return original(vcpu, &exit) }
        if finished { return .stop(.shutDown(code: 0)) }
        if reason == Int(ExitReason.monitorTrapFlag.basicReason) && stepping { return stop(.step) }
        if reason == Int(ExitReason.exceptionOrNMI.basicReason) {
            let information = InterruptionInformation(
                rawValue: UInt32(truncatingIfNeeded: vcpu.read(.vmExitInterruptionInformation)))
            if information.type != .nonMaskableInterrupt {
                switch information.vector {
                case 3 where stub.ownsSoftwareBreakpoint(at: exit.rip):
                    return stop(.softwareBreakpoint)
                case 1:
                    let qualification = DebugExceptionQualification(rawValue: exit.qualification)
                    if stepping && qualification.isSingleStep { return stop(.step) }
                    if qualification.breakpointsHit & target.slotMask != 0 { return stop(.hardwareBreakpoint) }
                default: break
                }
            }
        }
        let rip = exit.rip
        let action = original(vcpu, &exit)
        switch action {
        case .resume:
            // A handler that emulated the instruction being stepped completed the step.
            if stepping && vcpu.read(.guestRIP) != rip { return stop(.step) }
            if stub.interruptRequested(&self.connection) { return stop(.interrupted) }
            target.reassertHardwareBreakpoints()
            return .resume
        case .stop(.halted):
            // gdb sees the guest at its HLT; when gdb lets it go, the guest is done.
            if case .resume = stop(.halted) { finished = true; report(end: .halted) }
            return action
        case .stop:
            return action  // guestStopped reports the end
        }
    }

    /// The guest stops for gdb; returns what the run loop does next.
    private func stop(_ reason: GDBStub.StopReason) -> ExitAction {
        endStep()
        let resume = stub.stopped(reason, target: &target, connection: &connection)
        switch resume {
        case .continue:
            if reason == .hardwareBreakpoint { setResumeFlag() }
            return .resume
        case .step:
            if reason == .hardwareBreakpoint { setResumeFlag() }
            beginStep()
            return .resume
        case .detach:
            detached = true
            vcpu.cpu.log("guest \(vcpu.name): gdb detached; the guest runs on")
            return .resume
        case .kill:
            vcpu.cpu.log("guest \(vcpu.name): killed by gdb")
            finished = true
            return .stop(.shutDown(code: 0))
        }
    }

    private func report(end stop: GuestStop) {
        let reason: GDBStub.StopReason
        switch stop {
        case .halted: reason = .exited(code: 0)
        case .shutDown(let code): reason = .exited(code: UInt8(truncatingIfNeeded: code))
        case .platform(.poweredOff): reason = .exited(code: 0)  // a pass-through guest's orderly end
        case .tripleFault: reason = .terminated(signal: 11)
        case .budgetExhausted: reason = .terminated(signal: 14)
        default: reason = .terminated(signal: 6)
        }
        _ = stub.stopped(reason, target: &target, connection: &connection)
        finished = true
    }

    // MARK: Single steps

    private func beginStep() {
        stepping = true
        if vcpu.usesMonitorTrapFlag {
            vcpu.setPrimaryControls(vcpu.primaryControls.union(.monitorTrapFlag))
        } else {
            let flags = vcpu.read(.guestRFLAGS)
            target.hiddenTrapFlag = flags & RFLAGS.tf.rawValue != 0
            vcpu.write(.guestRFLAGS, flags | RFLAGS.tf.rawValue)
        }
    }

    private func endStep() {
        guard stepping else { return }
        stepping = false
        if vcpu.usesMonitorTrapFlag {
            vcpu.setPrimaryControls(vcpu.primaryControls.subtracting(.monitorTrapFlag))
        } else if let trap = target.hiddenTrapFlag {
            let flags = vcpu.read(.guestRFLAGS)
            vcpu.write(.guestRFLAGS, trap ? flags | RFLAGS.tf.rawValue : flags & ~RFLAGS.tf.rawValue)
            target.hiddenTrapFlag = nil
        }
    }

    /// RFLAGS.RF = 1: the instruction at a hardware breakpoint executes once without faulting.
    private func setResumeFlag() {
        vcpu.write(.guestRFLAGS, vcpu.read(.guestRFLAGS) | RFLAGS.rf.rawValue)
    }
}

extension VirtualCPUDebugTarget {
    /// DR6-style bits (B0-B3) of the debug registers this target uses.
    var slotMask: Int {
        var mask = 0
        for index in 0..<4 where slots[index] != nil { mask |= 1 << index }
        return mask
    }
}
