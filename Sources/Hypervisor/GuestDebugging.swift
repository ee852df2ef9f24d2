// Debugging as the run loop sees it (GuestDebugHooks): the debug snapshot of the current vCPU,
// recorded at every VM exit, and the guest debugger for the guests gdb asked for. The kernel's
// debug image makes one (Sources/Kernel/DebugPort.swift); the release image makes none, so none
// of this is linked into it (docs/DEBUGGING.md).
import VMX

public final class GuestDebugging<P: Host> {
    /// The debugger's snapshot of the current vCPU (DebugSnapshot.swift), when the kernel keeps one.
    public let snapshot: DebugSnapshot?
    /// gdb's line (the kernel: COM2); nil: no guest waits for gdb.
    public let host: (any GuestDebugHost)?
    /// The UTF-8 name of the one guest to debug (boot option `gdb=NAME`); nil: every guest.
    public let guestName: [UInt8]?
    /// The debugger of the guest running now, if it is debugged.
    private var debugger: GuestDebugger<P>? = nil

    public init(snapshot: DebugSnapshot?, host: (any GuestDebugHost)?, guestName: [UInt8]?) {
        self.snapshot = snapshot
        self.host = host
        self.guestName = guestName
    }

    /// The closures the run loop calls (runHypervisor's `debugging`).
    public var hooks: GuestDebugHooks<P> {
        GuestDebugHooks(
            guestStarting: { [self] vcpu in guestStarting(vcpu) },
            guestStopped: { [self] vcpu, stop in guestStopped(vcpu, stop) })
    }

    private func guestStarting(_ vcpu: VirtualCPU<P>) -> GuestStop? {
        snapshot?.beginGuest(
            name: vcpu.name.string, vmcs: vcpu.vmcs, exitStatistics: vcpu.statistics.base, cpu: vcpu.cpu)
        debugger = attach(vcpu)
        if let snapshot { recordExits(of: vcpu, into: snapshot) }
        return debugger?.isFinished == true ? .shutDown(code: 0) : nil
    }

    private func guestStopped(_ vcpu: VirtualCPU<P>, _ stop: GuestStop) {
        // A failed VM entry reaches no handler (VirtualCPU.dispatchExit): record it here.
        if case .entryFailure = stop, let snapshot { recordFailedEntry(of: vcpu, into: snapshot) }
        debugger?.guestStopped(stop)
        debugger = nil
    }

    /// Attaches the debugger to `vcpu` if gdb asked for this guest; it waits for gdb.
    private func attach(_ vcpu: VirtualCPU<P>) -> GuestDebugger<P>? {
        guard let host else { return nil }
        if let guestName, !vcpu.name.utf8.elementsEqual(guestName) { return nil }
        let debugger = GuestDebugger(vcpu: vcpu, host: host)
        vcpu.chargesHostTime = false  // waiting for gdb is not the guest's time
        debugger.attach()
        return debugger
    }

    /// Wraps every exit handler of `vcpu` so that the snapshot records the exit before the
    /// handler (or the debugger, which wrapped it first) sees it: a guest stopped for gdb shows.
    private func recordExits(of vcpu: VirtualCPU<P>, into snapshot: DebugSnapshot) {
        var table = vcpu.handlers
        for index in table.entries.indices {
            let original = table[basic: index]
            table[basic: index] = { vcpu, exit in
                snapshot.record(
                    reason: exit.reason.rawValue, qualification: exit.qualification, rip: exit.rip,
                    registers: vcpu.registers, cpu: vcpu.cpu)
                return original(vcpu, &exit)
            }
        }
        vcpu.handlers = table
    }

    private func recordFailedEntry(of vcpu: VirtualCPU<P>, into snapshot: DebugSnapshot) {
        snapshot.record(
            reason: UInt32(truncatingIfNeeded: vcpu.read(.exitReason)),
            qualification: vcpu.read(.exitQualification), rip: vcpu.read(.guestRIP),
            registers: vcpu.registers, cpu: vcpu.cpu)
    }
}
