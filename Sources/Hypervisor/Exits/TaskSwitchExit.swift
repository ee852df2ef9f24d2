// Task switches, exit reason 9: every task switch exits in VMX non-root operation (SDM 26.1.2),
// whatever the controls - a CALL or JMP to a TSS descriptor or a task gate, IRET with
// RFLAGS.NT = 1, or an interrupt or exception through a task gate in the IDT (32-bit operating
// systems use one for #DF). The exit qualification (SDM Table 28-2) gives the selector of the
// new TSS (bits 15:0) and the source (bits 31:30).
//
// Not emulated yet: the switch itself (SDM Vol. 3A 7.3 - saving the state into the old TSS,
// loading the new one with the checks of Table 7-1 and their #TS/#NP/#GP/#SS faults, the busy
// bits, NT and the back link, CR0.TS) is the VMM's work and this hypervisor does not do it.
// Rather than a VMCS dump as an unexpected exit, the guest stops with one line saying which
// switch it asked for: a guest state the hypervisor cannot carry on faithfully is not resumed.
import VMX

public func handleTaskSwitch<P: GuestProcessor>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let selector = exit.qualification & 0xFFFF
    let source: StaticString
    switch (exit.qualification >> 30) & 3 {
    case 0: source = "CALL"
    case 1: source = "IRET"
    case 2: source = "JMP"
    default: source = "a task gate in the IDT"
    }
    vcpu.cpu.log("guest \(vcpu.name): task switch by \(source) to TSS selector \(hex: selector, digits: 4) at RIP \(hex: exit.rip): task switches are not emulated")
    return .stop(.emulationFailure)
}
