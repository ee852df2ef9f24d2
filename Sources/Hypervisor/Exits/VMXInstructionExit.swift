// Instructions a guest may not use. Every VMX instruction exits in VMX non-root operation
// (SDM 26.1.2: INVEPT, INVVPID, VMCALL, VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST, VMREAD, VMRESUME,
// VMWRITE, VMXOFF, VMXON); the guest is told it has no VMX (CPUID.1:ECX.VMX = 0, CR4.VMXE
// reads 0), so it gets #UD, as a processor without VMX would raise. GETSEC exits when the
// guest's CR4.SMXE = 1, which it cannot set (SMX is hidden too): #UD. XSETBV exits
// unconditionally, but only once CR4.OSXSAVE = 1, which the guest cannot set (XSAVE is
// hidden): #UD. INVD exits unconditionally; discarding caches would lose the host's writes,
// so it is emulated as a no-op (the caches stay coherent, which is what the guest can see).
import VMX

public func handleVMXInstruction<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.log(
        .refusedOther,
        "guest \(vcpu.name): \(exit.reason) at RIP \(hex: exit.rip): VMX is not available to guests: #UD injected")
    vcpu.injectException(vector: .invalidOpcode)
    return .resume
}

public func handleGETSEC<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.log(
        .refusedOther,
        "guest \(vcpu.name): GETSEC at RIP \(hex: exit.rip): SMX is not available to guests: #UD injected")
    vcpu.injectException(vector: .invalidOpcode)
    return .resume
}

public func handleXSETBV<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.log(
        .refusedOther,
        "guest \(vcpu.name): XSETBV at RIP \(hex: exit.rip): XSAVE is not available to guests: #UD injected")
    vcpu.injectException(vector: .invalidOpcode)
    return .resume
}

public func handleINVD<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    vcpu.log(.refusedOther, "guest \(vcpu.name): INVD at RIP \(hex: exit.rip) emulated as a no-op")
    vcpu.skipInstruction(exit)
    return .resume
}
