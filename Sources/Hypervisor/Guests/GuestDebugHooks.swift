// The run loop's only way to debugging: the debug snapshot (DebugSnapshot.swift) and the guest
// debugger (GDBStub/) are reached through these closures, which only the kernel's debug image
// (installDebugging, called under `#if DEBUG` in Sources/Kernel/Entry.swift) and hosted tests
// make (GuestDebugging). The release kernel passes none: nothing then refers to the snapshot's
// recording or the GDB stub, and the linker's --gc-sections leaves them out (docs/DEBUGGING.md).
// Per-exit work goes into the guest's exit handlers, which the hooks may wrap: the run loop's
// exit path has no hook.
import VMX

public struct GuestDebugHooks<P: Host> {
    /// Before the guest's first VM entry. Returns why the guest stops without running (gdb
    /// killed it before it began), or nil to run it.
    public var guestStarting: (VirtualCPU<P>) -> GuestStop?
    /// The run loop is done with the guest.
    public var guestStopped: (VirtualCPU<P>, GuestStop) -> Void

    public init(
        guestStarting: @escaping (VirtualCPU<P>) -> GuestStop?,
        guestStopped: @escaping (VirtualCPU<P>, GuestStop) -> Void
    ) {
        self.guestStarting = guestStarting
        self.guestStopped = guestStopped
    }
}
