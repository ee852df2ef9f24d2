// HLT, exit reason 12 ("HLT exiting" is 1). A guest that halts with RFLAGS.IF = 0 can never be
// woken, and the hypervisor has no interrupt to give one that halts with IF = 1 (a pending
// RAISE_INTERRUPT would have opened an interrupt window first): either way the guest is done.
import VMX

public func handleHLT<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    if vcpu.pendingInterrupt != nil && vcpu.read(.guestRFLAGS) & RFLAGS.if.rawValue != 0 {
        vcpu.skipInstruction(exit)
        vcpu.deliverPendingInterrupt()
        return .resume
    }
    return .stop(.halted)
}
