// RDMSR and WRMSR, exit reasons 31 and 32. The MSR bitmap makes every MSR exit except the few
// the guest may reach directly (Bitmaps.swift); MSRs outside the bitmap's ranges always exit
// (SDM 26.1.3). The guest gets IA32_EFER and IA32_PAT, emulated (checked as the processor
// would, SDM Vol. 4 and Vol. 3A 13.12.2, and switched by the VMCS where the CPU can); every
// other MSR - the VMX capability MSRs and IA32_FEATURE_CONTROL among them - gets #GP(0), as an
// MSR the processor does not have would.
import VMX

/// A name for the log.
public func msrDescription(_ msr: MSR) -> String {
    if let name = VMXCapabilities.name(ofMSR: msr) { return name + " (VMX capability)" }
    switch msr {
    case MSR.ia32FeatureControl: return "IA32_FEATURE_CONTROL"
    case MSR.ia32APICBase: return "IA32_APIC_BASE"
    case MSR.ia32TimeStampCounter: return "IA32_TIME_STAMP_COUNTER"
    case MSR.ia32DebugCtl: return "IA32_DEBUGCTL"
    case MSR.ia32PerfGlobalCtrl: return "IA32_PERF_GLOBAL_CTRL"
    default: return "not emulated"
    }
}

extension VirtualCPU {
    func denyMSR(_ msr: MSR, write: Bool) -> ExitAction {
        generalProtection(
            kind: .refusedMSR,
            """
            guest \(name): \(write ? "WRMSR" : "RDMSR") \(hex: msr.rawValue, digits: 8) (\(msrDescription(msr))) \
            denied: #GP(0) injected
            """
        )
    }
}

/// IA32_EFER bits a guest may write: SCE (0), LME (8), LMA (10, kept as it is), NXE (11).
let writableEFERBits: UInt64 = ExtendedFeatureEnable.defined.rawValue

/// Whether every byte of a PAT value is a memory type (0, 1, 4, 5, 6, 7; SDM Vol. 3A 13.12.2).
public func isValidPAT(_ value: UInt64) -> Bool {
    for index in 0..<8 {
        let type = (value >> UInt64(index * 8)) & 0xFF
        if type == 2 || type == 3 || type > 7 { return false }
    }
    return true
}

public func handleRDMSR<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let msr = MSR(rawValue: UInt32(truncatingIfNeeded: vcpu.registers.rcx))
    let value: UInt64
    switch msr {
    case MSR.ia32EFER:
        value = vcpu.guestEFER
    case MSR.ia32PAT:
        value = vcpu.setup.switchesPAT ? vcpu.read(.guestIA32PAT) : GuestEnvironment.powerUpPAT
    default:
        return vcpu.denyMSR(msr, write: false)
    }
    vcpu.registers.rax = value & 0xFFFF_FFFF
    vcpu.registers.rdx = value >> 32
    vcpu.skipInstruction(exit)
    return .resume
}

public func handleWRMSR<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let msr = MSR(rawValue: UInt32(truncatingIfNeeded: vcpu.registers.rcx))
    let value = (vcpu.registers.rdx & 0xFFFF_FFFF) << 32 | (vcpu.registers.rax & 0xFFFF_FFFF)
    switch msr {
    case MSR.ia32EFER:
        let old = vcpu.guestEFER
        let lme: UInt64 = ExtendedFeatureEnable.lme.rawValue, lma: UInt64 = ExtendedFeatureEnable.lma.rawValue
        if value & ~writableEFERBits != 0 {
            return vcpu.generalProtection(
                "guest \(vcpu.name): WRMSR IA32_EFER \(hex: value) sets reserved bits: #GP(0) injected")
        }
        if (value ^ old) & lme != 0 && vcpu.read(.guestCR0) & ControlRegister0.pg.rawValue != 0 {
            return vcpu.generalProtection(
                "guest \(vcpu.name): WRMSR IA32_EFER changes LME with paging on: #GP(0) injected")
        }
        vcpu.guestEFER = (value & ~lma) | (old & lma)
    case MSR.ia32PAT:
        guard isValidPAT(value) else {
            return vcpu.generalProtection(
                "guest \(vcpu.name): WRMSR IA32_PAT \(hex: value) holds an invalid memory type: #GP(0) injected")
        }
        guard vcpu.setup.switchesPAT else { return vcpu.denyMSR(msr, write: true) }
        vcpu.write(.guestIA32PAT, value)
    default:
        return vcpu.denyMSR(msr, write: true)
    }
    vcpu.skipInstruction(exit)
    return .resume
}
