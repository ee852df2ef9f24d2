// CPUID, RDMSR/WRMSR and MOV to/from CR0, CR3, CR4 with the checks that matter to a
// hypervisor: reserved bits, the lock of IA32_FEATURE_CONTROL, read-only capability MSRs, and
// the restrictions of VMX operation (SDM 24.8 "Restrictions on VMX Operation": CR0 and CR4
// keep their VMX-fixed bits, CR4.VMXE cannot be cleared).
import VMX

extension EmulatedCPU {
    // MARK: CPUID

    /// The profile's leaf: what the captured CPU returned for exactly this leaf and subleaf.
    /// Otherwise a leaf above the highest basic or extended leaf returns the highest basic leaf,
    /// as Intel processors do (SDM Vol. 2A CPUID), and a leaf in range that the profile did not
    /// capture returns zeros.
    public func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        begin(.cpuid)
        if let captured = profile.cpuid(leaf: leaf, subleaf: subleaf) { return captured }
        let zero = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
        let maxBasic = profile.cpuid(leaf: 0, subleaf: 0)?.eax ?? 0
        let maxExtended = profile.cpuid(leaf: CPUIDLeaf.extendedBase, subleaf: 0)?.eax ?? 0
        let inRange = leaf < CPUIDLeaf.extendedBase ? leaf <= maxBasic : leaf <= maxExtended
        let effectiveLeaf = inRange ? leaf : maxBasic
        if let exact = profile.cpuid(leaf: effectiveLeaf, subleaf: subleaf) { return exact }
        // Leaves without subleaves ignore ECX: the capture holds them at subleaf 0.
        if !Self.leavesWithSubleaves.contains(effectiveLeaf), let plain = profile.cpuid(leaf: effectiveLeaf, subleaf: 0)
        {
            return plain
        }
        return zero
    }

    /// Leaves whose output depends on ECX (SDM Vol. 2A CPUID, Table 3-8).
    static let leavesWithSubleaves: Set<UInt32> = [
        4, 7, 0xB, 0xD, 0xF, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1B, 0x1D, 0x1E, 0x1F, 0x20, 0x23, 0x24
    ]

    // MARK: MSRs

    public func readMSR(_ msr: MSR) -> UInt64 {
        begin(.rdmsr)
        guard cpl == 0 else { raise(.generalProtection0); return 0 }
        switch msr.rawValue {
        case MSR.ia32FeatureControl.rawValue:
            return ia32FeatureControl
        case MSR.ia32EFER.rawValue:
            return efer
        case Self.capabilityMSRRange:
            // A capability MSR the CPU does not have raises #GP like any absent MSR (SDM A.1).
            guard let value = capabilities?.value(ofMSR: msr) else { raise(.generalProtection0); return 0 }
            return value
        default:
            guard let value = msrs[msr.rawValue] else { raise(.generalProtection0); return 0 }
            return value
        }
    }

    public func writeMSR(_ msr: MSR, _ value: UInt64) {
        begin(.wrmsr)
        guard cpl == 0, !msrWriteFaults(msr.rawValue, value, cr0: cr0, efer: efer) else {
            raise(.generalProtection0); return
        }
        switch msr.rawValue {
        case MSR.ia32FeatureControl.rawValue:
            ia32FeatureControl = value
        case MSR.ia32EFER.rawValue:
            // LMA is read-only.
            efer = (value & ~ExtendedFeatureEnable.lma.rawValue) | (efer & ExtendedFeatureEnable.lma.rawValue)
        default:
            msrs[msr.rawValue] = value
        }
    }

    /// Whether WRMSR of `value` to `msr` at CPL 0 raises #GP(0) on this CPU, with CR0 and
    /// IA32_EFER as given: the processor's own for WRMSR in root operation, the guest's for the
    /// VM-entry MSR-load list, which VM entry processes after loading guest state and "as
    /// would be done by WRMSR" (SDM 27.4). An MSR the CPU does not have faults.
    public func msrWriteFaults(_ msr: UInt32, _ value: UInt64, cr0: UInt64, efer: UInt64) -> Bool {
        switch msr {
        case MSR.ia32FeatureControl.rawValue:
            // SDM 24.7: once the lock bit is set, WRMSR to the MSR faults until reset.
            return ia32FeatureControl & FeatureControl.lock.rawValue != 0
                || value & ~FeatureControl.defined.rawValue != 0
        case MSR.ia32EFER.rawValue:
            // Reserved bits fault; LME cannot change while paging is on.
            return value & ~ExtendedFeatureEnable.defined.rawValue != 0
                || (cr0 & ControlRegister0.pg.rawValue != 0 && (value ^ efer) & ExtendedFeatureEnable.lme.rawValue != 0)
        case Self.capabilityMSRRange:
            // The capability MSRs are read-only (SDM Appendix A).
            return true
        case MSR.ia32FSBase.rawValue, MSR.ia32GSBase.rawValue, MSR.ia32KernelGSBase.rawValue,
            MSR.ia32SysenterESP.rawValue, MSR.ia32SysenterEIP.rawValue,
            MSR.ia32LSTAR.rawValue, MSR.ia32CSTAR.rawValue:
            // Addresses: a non-canonical value faults (SDM Vol. 4, Table 2-2).
            return msrs[msr] == nil || !isCanonical(value)
        default:
            return msrs[msr] == nil
        }
    }

    /// IA32_VMX_BASIC (480H) to IA32_VMX_EXIT_CTLS2 (493H).
    static let capabilityMSRRange: ClosedRange<UInt32> = MSR.ia32VMXBasic.rawValue...MSR.ia32VMXExitCtls2.rawValue

    // MARK: Control registers

    public func readControlRegister(_ register: ControlRegister) -> UInt64 {
        begin(.movFromCR)
        guard cpl == 0 else { raise(.generalProtection0); return 0 }
        switch register {
        case .cr0: return cr0
        case .cr3: return cr3
        case .cr4: return cr4
        }
    }

    public func writeControlRegister(_ register: ControlRegister, _ value: UInt64) {
        begin(.movToCR)
        guard cpl == 0 else { raise(.generalProtection0); return }
        switch register {
        case .cr0: writeCR0(value)
        case .cr3: writeCR3(value)
        case .cr4: writeCR4(value)
        }
    }

    /// MOV to CR0 (SDM Vol. 2B MOV—Move to/from Control Registers, Vol. 3A 2.5).
    private func writeCR0(_ value: UInt64) {
        let pe = ControlRegister0.pe.rawValue, pg = ControlRegister0.pg.rawValue
        let nw = ControlRegister0.nw.rawValue, cd = ControlRegister0.cd.rawValue
        guard value >> 32 == 0,  // bits 63:32 are reserved
            value & pg == 0 || value & pe != 0,  // paging needs protection
            value & nw == 0 || value & cd != 0,  // NW without CD is invalid
            efer & ExtendedFeatureEnable.lma.rawValue == 0 || value & pg != 0,  // IA-32e mode keeps paging on
            efer & ExtendedFeatureEnable.lme.rawValue == 0 || value & pg == 0
                || cr4 & ControlRegister4.pae.rawValue != 0,
            vmxOperation == .outside || capabilities?.cr0Fixed.permits(value) ?? true
        else { raise(.generalProtection0); return }
        cr0 = value
        // Enabling paging with IA32_EFER.LME = 1 activates IA-32e mode.
        if value & pg != 0 && efer & ExtendedFeatureEnable.lme.rawValue != 0 {
            efer |= ExtendedFeatureEnable.lma.rawValue
        } else if value & pg == 0 {
            efer &= ~ExtendedFeatureEnable.lma.rawValue
        }
    }

    /// MOV to CR3: in IA-32e mode bits 62:MAXPHYADDR are reserved (bit 63 is the PCID
    /// no-flush hint, never stored).
    private func writeCR3(_ value: UInt64) {
        let stored = cr4 & ControlRegister4.pcide.rawValue != 0 ? value & ~(UInt64(1) << 63) : value
        guard efer & ExtendedFeatureEnable.lma.rawValue == 0 || stored >> UInt64(physicalAddressWidth) == 0 else {
            raise(.generalProtection0); return
        }
        cr3 = stored
    }

    /// MOV to CR4: bits the CPU does not implement fault; CR4.VMXE needs VMX; in VMX operation
    /// the fixed bits hold and VMXE stays set (SDM 24.8); IA-32e mode keeps PAE.
    private func writeCR4(_ value: UInt64) {
        let vmxe = ControlRegister4.vmxe.rawValue
        guard value & ~supportedCR4Bits == 0,
            value & vmxe == 0 || supportsVMX,
            efer & ExtendedFeatureEnable.lma.rawValue == 0 || value & ControlRegister4.pae.rawValue != 0,
            vmxOperation == .outside || (value & vmxe != 0 && capabilities?.cr4Fixed.permits(value) ?? true)
        else { raise(.generalProtection0); return }
        cr4 = value
    }

    /// The CR4 bits this CPU implements: IA32_VMX_CR4_FIXED1 reports them on a VMX processor
    /// (SDM A.8); without VMX, every bit the SDM names.
    var supportedCR4Bits: UInt64 {
        if let capabilities { return capabilities.cr4Fixed.fixed1 | ControlRegister4.vmxe.rawValue }
        return ControlRegister4.namedMask & ~ControlRegister4.vmxe.rawValue
    }
}
