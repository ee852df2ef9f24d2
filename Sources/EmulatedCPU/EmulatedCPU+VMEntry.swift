// VMLAUNCH and VMRESUME (SDM 31.3; 27.1 "Basic VM-Entry Checks") and the VM exit that returns
// to the host (chapter 28).
//
// Order, as the pseudo-code gives it: #UD, VM exit in non-root operation, #GP(0) at CPL > 0;
// VMfailInvalid without a current VMCS or when it is a shadow VMCS (SDM 25.10); VMfailValid(26)
// with blocking by MOV SS; VMfailValid(4) for VMLAUNCH of a VMCS that is not clear,
// VMfailValid(5) for VMRESUME of one that is not launched; then the checks of chapter 27
// (`checkVMEntry`), then the entry itself.
import VMX

extension EmulatedCPU {
    public func vmlaunch() -> VMEntryOutcome { enterVMXNonRootOperation(launch: true) }

    public func vmresume() -> VMEntryOutcome { enterVMXNonRootOperation(launch: false) }

    private func enterVMXNonRootOperation(launch: Bool) -> VMEntryOutcome {
        begin(launch ? .vmlaunch : .vmresume)
        switch admit(launch ? .vmlaunch : .vmresume) {
        case .execute: break
        case .faulted: return .faulted(lastFault ?? .invalidOpcode)
        case .causedVMExit(let reason): return .causedVMExit(reason)
        }
        guard let vmcs = currentVMCS, !currentVMCSIsShadow else { return .vmFail(vmFailInvalid()) }
        if blockingByMovSS { return .vmFail(vmFail(.entryWithEventsBlockedByMovSS)) }
        if launch && vmcs.launchState != .clear { return .vmFail(vmFail(.vmlaunchWithNonClearVMCS)) }
        if !launch && vmcs.launchState != .launched { return .vmFail(vmFail(.vmresumeWithNonLaunchedVMCS)) }

        switch checkVMEntry(launch: launch) {
        case .passed:
            break
        case .vmFailValid(let error):
            return .vmFail(vmFail(error))
        case .entryFailure(let reason, let qualification):
            // SDM 27.8: the exit reason (bit 31 set) and qualification are recorded, host state is
            // loaded as on a VM exit; the launch state does not change.
            let exitReason = reason.asEntryFailure
            store(UInt64(exitReason.rawValue), in: .exitReason, of: vmcs)
            store(qualification, in: .exitQualification, of: vmcs)
            if reason == .entryFailureMSRLoading { loadMSRLoadListEntries(before: qualification) }
            loadHostState(from: vmcs)
            return .entryFailure(exitReason: exitReason, qualification: qualification)
        }

        if launch { vmcs.launchState = .launched }
        vmxOperation = .nonRoot
        // Loading guest state and running the guest belong to guest execution
        // (GuestExecution+State.swift), which the caller runs after this returns.
        return .entered
    }

    /// A VM exit (SDM 28): the exit reason and qualification are written to the current VMCS
    /// and host state is loaded (28.5). Saving guest state (28.3) and the MSR lists (28.4, 28.6)
    /// belong to guest execution (GuestExecution+State.swift). Ignored outside VMX non-root
    /// operation, where no VM exit can happen.
    public func performVMExit(reason: ExitReason, qualification: UInt64) {
        guard vmxOperation == .nonRoot, let vmcs = currentVMCS else { return }
        store(UInt64(reason.rawValue), in: .exitReason, of: vmcs)
        store(qualification, in: .exitQualification, of: vmcs)
        vmxOperation = .root
        loadHostState(from: vmcs)
    }

    /// SDM 28.5.1 and 28.5.3, the register part of loading host state: CR0 except ET, CD, NW,
    /// the reserved bits and the VMX-fixed bits; CR3; CR4 except its VMX-fixed bits, with PAE set
    /// (and PCIDE cleared) by the host address-space size; IA32_EFER from the host field when
    /// "load IA32_EFER" is 1, else LMA and LME from the host address-space size; CS.L likewise;
    /// CPL 0; RFLAGS cleared except bit 1.
    func loadHostState(from vmcs: VMCSData) {
        let exitControls = VMExitControls(
            rawValue: UInt32(truncatingIfNeeded: value(of: .primaryVMExitControls, in: vmcs)))
        let hostIs64Bit = exitControls.contains(.hostAddressSpaceSize)
        let cr0Fixed = capabilities?.cr0Fixed ?? FixedBits(fixed0: 0, fixed1: .max)
        let cr4Fixed = capabilities?.cr4Fixed ?? FixedBits(fixed0: 0, fixed1: .max)

        let cr0Kept: UInt64 =
            ControlRegister0.et.rawValue | ControlRegister0.cd.rawValue | ControlRegister0.nw.rawValue
            | ControlRegister0.reservedHigh.rawValue | ControlRegister0.reservedLow.rawValue
            | cr0Fixed.fixed0 | ~cr0Fixed.fixed1
        // The VMX-fixed bits hold their fixed values in root operation (a guest with
        // "unrestricted guest" may have run with PE or PG clear).
        cr0 =
            ((cr0 & cr0Kept) | (value(of: .hostCR0, in: vmcs) & ~cr0Kept) | cr0Fixed.fixed0)
            & (cr0Fixed.fixed1 | ControlRegister0.reservedHigh.rawValue)
        cr3 = value(of: .hostCR3, in: vmcs)
        let cr4Kept = cr4Fixed.fixed0 | ~cr4Fixed.fixed1
        var newCR4 = (cr4 & cr4Kept) | (value(of: .hostCR4, in: vmcs) & ~cr4Kept)
        if hostIs64Bit { newCR4 |= ControlRegister4.pae.rawValue } else { newCR4 &= ~ControlRegister4.pcide.rawValue }
        cr4 = newCR4
        if exitControls.contains(.loadIA32EFER) {
            efer = value(of: .hostIA32EFER, in: vmcs)
        } else if hostIs64Bit {
            efer |= ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue
        } else {
            efer &= ~(ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue)
        }
        codeSegmentLongMode = hostIs64Bit
        cpl = 0
        rflags = RFLAGS.alwaysOne.rawValue
    }
}
