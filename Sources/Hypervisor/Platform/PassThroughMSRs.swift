// RDMSR and WRMSR for a pass-through guest (docs/LINUX.md, "MSRs"). The guest reaches every MSR
// directly except these, which the MSR bitmap makes exit:
// - VMX stays hidden: IA32_FEATURE_CONTROL and the VMX capability MSRs give #GP(0), as on a
//   processor without VMX or SMX (SDM Vol. 4 Table 2-2: 3AH exists only with CPUID.1:ECX.VMX
//   or SMX).
// - IA32_EFER and IA32_PAT: as for every guest (MSRExits.swift).
// - IA32_MISC_ENABLE (1A0H): emulated. Linux reads it unconditionally with a plain RDMSR
//   (verify_cpu, before it has an IDT), and Bochs 2.7 does not implement it.
// - IA32_BIOS_SIGN_ID (8BH): emulated (revision 0). Linux writes 0 and reads it back around
//   CPUID to learn the microcode revision, without _safe, and Bochs 2.7 lacks it.
// - Writes only: IA32_APIC_BASE (1BH) may not move the APIC, disable it or switch it to x2APIC
//   mode (the hypervisor's own view of the APIC would no longer hold); IA32_BIOS_UPDT_TRIG
//   (79H): no microcode loads under the hypervisor.
// Every MSR outside the bitmap's ranges exits too (SDM 26.1.3) and gets #GP(0): the
// hypervisor cannot tell whether the processor has it without risking a #GP of its own.
// MSRs the CPU lacks whose CPUID bit says so are hidden through CPUID instead (CPUIDView).
import VMX

public enum PassThroughMSRs {
    /// Intercepted for reads and writes.
    public static let intercepted: [MSR] = {
        var msrs = [MSR.ia32FeatureControl, MSR.ia32EFER, MSR.ia32PAT, MSR.ia32MiscEnable, MSR.ia32BIOSSignID]
        msrs += VMXCapabilities.msrAddresses
        return msrs
    }()
    /// Intercepted for writes only.
    public static let interceptedWrites: [MSR] = [MSR.ia32APICBase, MSR.ia32BIOSUpdateTrigger]
    /// The x2APIC interrupt command register, whose writes exit for a guest with several
    /// virtual CPUs when the local APIC is in x2APIC mode (PassThroughAPIC.swift).
    public static let x2APICInterruptCommand = LocalAPIC.msr(LocalAPIC.interruptCommandLow)

    /// IA32_MISC_ENABLE as the guest first reads it: fast strings, branch trace storage and
    /// PEBS unavailable, everything else clear.
    public static let miscEnableDefault: UInt64 = MiscEnable([
        .fastStrings, .branchTraceStorageUnavailable,
        .pebsUnavailable
    ]).rawValue
    /// IA32_APIC_BASE bits a write may not change: x2APIC enable (10), APIC global enable
    /// (11), the base (MAXPHYADDR-1:12).
    static let apicBaseFixed: UInt64 = LocalAPIC.x2APICMode | LocalAPIC.globalEnable | LocalAPIC.baseMask

    static func isVMX(_ msr: MSR) -> Bool {
        msr == MSR.ia32FeatureControl || VMXCapabilities.name(ofMSR: msr) != nil
    }
}

public func handlePassThroughRDMSR<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard let platform = vcpu.platform else { return handleRDMSR(vcpu, &exit) }
    let msr = MSR(rawValue: UInt32(truncatingIfNeeded: vcpu.registers.rcx))
    let value: UInt64
    switch msr {
    case MSR.ia32EFER, MSR.ia32PAT: return handleRDMSR(vcpu, &exit)
    case MSR.ia32MiscEnable: value = platform.miscEnable
    case MSR.ia32BIOSSignID: value = 0
    default: return vcpu.denyMSR(msr, write: false)
    }
    vcpu.registers.rax = value & 0xFFFF_FFFF
    vcpu.registers.rdx = value >> 32
    vcpu.skipInstruction(exit)
    return .resume
}

public func handlePassThroughWRMSR<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard let platform = vcpu.platform else { return handleWRMSR(vcpu, &exit) }
    let msr = MSR(rawValue: UInt32(truncatingIfNeeded: vcpu.registers.rcx))
    let value = (vcpu.registers.rdx & 0xFFFF_FFFF) << 32 | (vcpu.registers.rax & 0xFFFF_FFFF)
    switch msr {
    case MSR.ia32EFER, MSR.ia32PAT: return handleWRMSR(vcpu, &exit)
    case MSR.ia32MiscEnable: platform.miscEnable = value
    case MSR.ia32BIOSSignID: break
    case PassThroughMSRs.x2APICInterruptCommand:
        // x2APIC mode, several virtual CPUs: INIT and SIPI are the hypervisor's to deliver.
        let command = UInt32(truncatingIfNeeded: value)
        guard let group = vcpu.group, isStartupSignal(command) else {
            vcpu.cpu.writeMSR(msr, value)
            break
        }
        // The instruction completes first: an INIT the guest sends itself replaces RIP.
        vcpu.skipInstruction(exit)
        return deliverGuestStartupSignal(
            vcpu, group: group, command: command, target: UInt32(truncatingIfNeeded: value >> 32))
    case MSR.ia32APICBase:
        let current = vcpu.cpu.readMSR(MSR.ia32APICBase)
        if (value ^ current) & PassThroughMSRs.apicBaseFixed != 0 {
            return vcpu.generalProtection(
                """
                guest \(vcpu.name): WRMSR IA32_APIC_BASE \(hex: value) would move, disable or switch the local \
                APIC (now \(hex: current)): refused, #GP(0) injected
                """
            )
        }
    default: return vcpu.denyMSR(msr, write: true)
    }
    vcpu.skipInstruction(exit)
    return .resume
}
