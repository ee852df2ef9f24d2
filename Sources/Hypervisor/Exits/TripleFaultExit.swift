// Triple fault, exit reason 2 (SDM 26.2: a triple fault always causes a VM exit). A triple
// fault means the guest cannot go on: it is reported dead and the hypervisor carries on with
// the next guest.
import VMX

public func handleTripleFault<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    .stop(.tripleFault)
}
