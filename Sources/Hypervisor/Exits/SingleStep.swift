// Single-stepping a guest (hypercall SINGLE_STEP; later the guest debugger): with the monitor
// trap flag where the CPU has it (SDM 26.5.2: an MTF VM exit, reason 37, after each
// instruction), otherwise with RFLAGS.TF and #DB intercepted through the exception bitmap (a
// single-step trap after each instruction, SDM Vol. 3B 18.3.1.4, exit reason 0 with BS set
// in the exit qualification). Both report the same RIPs; the guest's own RFLAGS.TF is put back
// afterwards. The monitor trap flag is used only where a probe saw its VM exits arrive
// (probeMonitorTrapFlag: Bochs 2.7 allows the control but delivers no MTF exit after VMRESUME).
import VMX

extension VirtualCPU {
    public var usesMonitorTrapFlag: Bool { setup.usesMonitorTrapFlag }

    public func startSingleStep(count: Int) {
        stepsRemaining = count
        stepsDone = 0
        if usesMonitorTrapFlag {
            cpu.log("guest \(name): single-stepping \(count) instructions with the monitor trap flag")
            setPrimaryControls(primaryControls.union(.monitorTrapFlag))
        } else {
            cpu.log("guest \(name): single-stepping \(count) instructions with RFLAGS.TF and #DB exiting")
            let flags = read(.guestRFLAGS)
            guestTrapFlag = flags & RFLAGS.tf.rawValue != 0
            write(.guestRFLAGS, flags | RFLAGS.tf.rawValue)
            setExceptionBitmap(exceptionBitmap | ExceptionVector.debug.exceptionBitmapBit)
        }
    }

    /// One step done at `rip`; stops stepping after the last.
    func stepped(at rip: UInt64) {
        stepsDone += 1
        stepsRemaining -= 1
        log(.event, "guest \(name): step \(stepsDone): RIP \(hex: rip)")
        guard stepsRemaining <= 0 else { return }
        if usesMonitorTrapFlag {
            setPrimaryControls(primaryControls.subtracting(.monitorTrapFlag))
        } else {
            let flags = read(.guestRFLAGS)
            write(.guestRFLAGS, guestTrapFlag ? flags | RFLAGS.tf.rawValue : flags & ~RFLAGS.tf.rawValue)
            setExceptionBitmap(exceptionBitmap & ~ExceptionVector.debug.exceptionBitmapBit)
        }
    }
}

/// Monitor trap flag, exit reason 37.
public func handleMonitorTrapFlag<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard vcpu.stepsRemaining > 0 else {
        vcpu.setPrimaryControls(vcpu.primaryControls.subtracting(.monitorTrapFlag))
        return .resume
    }
    vcpu.stepped(at: exit.rip)
    return .resume
}

/// The first VM exit of a guest of NOP, NOP, HLT entered with the monitor trap flag set: an MTF
/// exit (reason 37) after the first NOP where MTF works (SDM 26.5.2). nil when the probe could
/// not run. Uses the arena for one small guest, handed back once its VMCS is cleared.
public func probeMonitorTrapFlag<P: Host>(
    environment: GuestEnvironment, arena: inout PageArena, cpu: P
) -> ExitReason? {
    let mark = arena.mark
    guard environment.setup.allowsMonitorTrapFlag,
        let page = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu)
    else { return nil }
    cpu.writePhysical32(page, 0x00F4_9090)  // NOP, NOP, HLT
    let image = GuestImage(
        name: "mtf-probe", address: page, size: 3, commandLine: "mode=long load=0x10000",
        isBuiltIn: true)
    guard let plan = try? image.plan(cpu: cpu),
        let vcpu = try? buildGuest(
            plan: plan, image: image, environment: environment, vpid: 0xFFFF,
            arena: &arena, cpu: cpu)
    else {
        arena.release(to: mark)  // a guest that was not built leaves no active VMCS
        return nil
    }
    vcpu.setPrimaryControls(vcpu.primaryControls.union(.monitorTrapFlag))
    var reason: ExitReason? = nil
    if (try? cpu.enterGuest(&vcpu.registers, launch: true)) != nil {
        reason = ExitReason(rawValue: UInt32(truncatingIfNeeded: vcpu.read(.exitReason)))
    }
    if (try? cpu.vmclear(vcpu.vmcs)) != nil { arena.release(to: mark) }
    return reason
}
