// The conventions shared by the VMX instructions: VMsucceed / VMfailInvalid / VMfailValid
// (SDM 31.2 "Conventions"), the checks that open every instruction's pseudo-code (SDM 31.3),
// and the rule for VMX pointers (SDM 31.3 VMXON/VMCLEAR/VMPTRLD, A.1).
import VMX

extension EmulatedCPU {
    // MARK: SDM 31.2

    /// VMsucceed: CF, PF, AF, ZF, SF and OF cleared.
    func vmSucceed() {
        rflags &= ~RFLAGS.arithmetic.rawValue
    }

    /// VMfailInvalid: CF set, the other five cleared.
    func vmFailInvalid() -> VMFailure {
        rflags = (rflags & ~RFLAGS.arithmetic.rawValue) | RFLAGS.cf.rawValue
        return .invalid
    }

    /// VMfail(error): VMfailValid(error) when there is a current VMCS (ZF set, the others
    /// cleared, the error number written to its VM-instruction error field), else VMfailInvalid.
    func vmFail(_ error: VMInstructionError) -> VMFailure {
        guard let vmcs = currentVMCS else { return vmFailInvalid() }
        rflags = (rflags & ~RFLAGS.arithmetic.rawValue) | RFLAGS.zf.rawValue
        store(UInt64(error.rawValue), in: .vmInstructionError, of: vmcs)
        return .valid(error)
    }

    // MARK: SDM 31.3, the opening checks

    /// What the opening checks of an instruction decided.
    enum Admission {
        case execute
        case faulted
        /// In VMX non-root operation the instruction caused a VM exit instead (SDM 26.1.2).
        case causedVMExit(ExitReason)
    }

    /// The checks every VMX instruction but VMXON starts with: #UD outside VMX operation, with
    /// CR0.PE = 0, RFLAGS.VM = 1 or in compatibility mode (IA32_EFER.LMA = 1 and CS.L = 0); a VM
    /// exit in VMX non-root operation; #GP(0) at CPL > 0. `supported` is false when the
    /// instruction itself does not exist on this CPU (#UD), e.g. INVEPT without EPT.
    func admit(_ exitReason: ExitReason, supported: Bool = true) -> Admission {
        if vmxOperation == .outside || !supported || cr0 & ControlRegister0.pe.rawValue == 0
            || rflags & RFLAGS.vm.rawValue != 0 || inCompatibilityMode
        {
            raise(.invalidOpcode)
            return .faulted
        }
        if vmxOperation == .nonRoot {
            performVMExit(reason: exitReason, qualification: 0)
            return .causedVMExit(exitReason)
        }
        if cpl > 0 {
            raise(.generalProtection0)
            return .faulted
        }
        return .execute
    }

    /// Compatibility mode: IA-32e mode with a 16/32-bit code segment.
    var inCompatibilityMode: Bool { efer & ExtendedFeatureEnable.lma.rawValue != 0 && !codeSegmentLongMode }

    // MARK: VMX pointers

    /// Whether `address` may be a VMXON or VMCS pointer: 4-KByte aligned and setting no bit at or
    /// above the physical-address width, nor above bit 31 when IA32_VMX_BASIC[48] = 1 (SDM 31.3
    /// VMXON, VMCLEAR, VMPTRLD; A.1).
    func isValidVMXPointer(_ address: UInt64) -> Bool {
        guard address & 0xFFF == 0, address >> UInt64(physicalAddressWidth) == 0 else { return false }
        if capabilities?.basic.physicalAddressesLimitedTo32Bits == true && address >> 32 != 0 { return false }
        return true
    }

    /// The VMCS revision identifier of this CPU (IA32_VMX_BASIC[30:0]).
    var revisionIdentifier: UInt32 { capabilities?.basic.revisionIdentifier ?? 0 }
}
