// Entering and leaving VMX operation and managing VMCS pointers, each instruction as its
// pseudo-code in SDM 31.3 orders the checks: VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST.
import VMX

extension EmulatedCPU {
    /// VMXON (SDM 31.3; 24.7 "Enabling and Entering VMX Operation"; 24.8).
    public func vmxon(_ region: UInt64) throws(VMFailure) {
        begin(.vmxon)
        // #UD: CR0.PE = 0, CR4.VMXE = 0, RFLAGS.VM = 1, compatibility mode; also when the CPU
        // has no VMX (CR4.VMXE could not have been set).
        guard let capabilities, cr0 & ControlRegister0.pe.rawValue != 0, cr4 & ControlRegister4.vmxe.rawValue != 0,
            rflags & RFLAGS.vm.rawValue == 0, !inCompatibilityMode
        else { raise(.invalidOpcode); return }

        switch vmxOperation {
        case .nonRoot:
            performVMExit(reason: .vmxon, qualification: 0)
        case .root:
            guard cpl == 0 else { raise(.generalProtection0); return }
            throw vmFail(.vmxonInVMXRoot)
        case .outside:
            // #GP(0): CPL > 0, A20M, CR0/CR4 outside their VMX-fixed bits, IA32_FEATURE_CONTROL
            // unlocked, or VMXON disabled there for the current SMX state.
            let enable =
                inSMXOperation
                ? FeatureControl.enableVMXInsideSMX.rawValue : FeatureControl.enableVMXOutsideSMX.rawValue
            guard cpl == 0, !a20Masked,
                capabilities.cr0Fixed.permits(cr0), capabilities.cr4Fixed.permits(cr4),
                ia32FeatureControl & FeatureControl.lock.rawValue != 0, ia32FeatureControl & enable != 0
            else { raise(.generalProtection0); return }

            guard isValidVMXPointer(region) else { throw vmFailInvalid() }
            // The VMXON region starts with the revision identifier; bit 31 (shadow) must be 0.
            let revision = memory.read32(region)
            guard revision & VMCSRegionHeader.revisionIdentifierMask == capabilities.basic.revisionIdentifier,
                revision & VMCSRegionHeader.shadowVMCSIndicator == 0
            else {
                throw vmFailInvalid()
            }
            vmxonPointer = region
            currentVMCS = nil
            currentVMCSAddress = Self.invalidVMCSPointer
            currentVMCSIsShadow = false
            vmxOperation = .root
            vmSucceed()
        }
    }

    /// VMXOFF (SDM 31.3). The dual-monitor treatment of SMIs and SMM is never active here, so
    /// error 23 cannot occur. VMCS data stays in the emulated VMCS regions; SDM 25.11.3 asks
    /// software to VMCLEAR every active VMCS before VMXOFF, and a processor may lose data
    /// otherwise, so hypervisor code must not rely on this.
    public func vmxoff() throws(VMFailure) {
        begin(.vmxoff)
        guard case .execute = admit(.vmxoff) else { return }
        vmxOperation = .outside
        vmxonPointer = nil
        currentVMCS = nil
        currentVMCSAddress = Self.invalidVMCSPointer
        currentVMCSIsShadow = false
        vmSucceed()
    }

    /// VMCLEAR (SDM 31.3): errors 2 (invalid address) and 3 (the VMXON pointer). Makes the VMCS
    /// inactive with launch state clear; if it was current there is no current VMCS after.
    public func vmclear(_ vmcs: UInt64) throws(VMFailure) {
        begin(.vmclear)
        guard case .execute = admit(.vmclear) else { return }
        guard isValidVMXPointer(vmcs) else { throw vmFail(.vmclearInvalidAddress) }
        guard vmcs != vmxonPointer else { throw vmFail(.vmclearWithVMXONPointer) }
        // "Ensure that data for the VMCS is in the VMCS region; initialize implementation-specific
        // data" (VMCSStorage.swift): the data goes to memory, the launch state is clear.
        clearVMCS(at: vmcs)
        if vmcs == currentVMCSAddress, currentVMCS != nil {
            currentVMCS = nil
            currentVMCSAddress = Self.invalidVMCSPointer
            currentVMCSIsShadow = false
        }
        vmSucceed()
    }

    /// VMPTRLD (SDM 31.3): errors 9 (invalid address), 10 (the VMXON pointer) and 11 (revision
    /// identifier, read from the region in memory, differs; or its bit 31 marks a shadow VMCS
    /// and the CPU does not support VMCS shadowing).
    public func vmptrld(_ vmcs: UInt64) throws(VMFailure) {
        begin(.vmptrld)
        guard case .execute = admit(.vmptrld) else { return }
        guard isValidVMXPointer(vmcs) else { throw vmFail(.vmptrldInvalidAddress) }
        guard vmcs != vmxonPointer else { throw vmFail(.vmptrldWithVMXONPointer) }
        let revision = memory.read32(vmcs)
        let shadow = revision & VMCSRegionHeader.shadowVMCSIndicator != 0
        guard revision & VMCSRegionHeader.revisionIdentifierMask == revisionIdentifier,
            !shadow || supportsVMCSShadowing
        else {
            throw vmFail(.vmptrldIncorrectRevision)
        }
        currentVMCS = activateVMCS(at: vmcs)
        currentVMCSAddress = vmcs
        currentVMCSIsShadow = shadow
        vmSucceed()
    }

    /// VMPTRST (SDM 31.3): the current-VMCS pointer, FFFFFFFF_FFFFFFFFH when there is none.
    public func vmptrst() throws(VMFailure) -> UInt64 {
        begin(.vmptrst)
        guard case .execute = admit(.vmptrst) else { return 0 }
        vmSucceed()
        return currentVMCSPointer
    }

    /// Whether "VMCS shadowing" (secondary processor-based control bit 14) may be 1.
    public var supportsVMCSShadowing: Bool {
        capabilities?.secondaryProcessorBasedControls.allowsOne(.vmcsShadowing) ?? false
    }
}
