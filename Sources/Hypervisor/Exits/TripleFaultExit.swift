// Triple fault, exit reason 2 (SDM 26.2: a triple fault always causes a VM exit), and INIT and
// SIPI, reasons 3 and 4 (SDM 26.2, 26.6.2). A triple fault means the guest cannot go on: it is
// reported dead and the hypervisor carries on with the next guest. This hypervisor runs each
// guest on one processor and does not reset guests, so INIT and SIPI stop it as well.
import VMX

public func handleTripleFault<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    .stop(.tripleFault)
}

public func handleINITOrSIPI<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    .stop(.initOrSIPI(exit.reason.basic))
}
