// The checks of SDM chapter 27 on VM entry: the shared rule list (Sources/VMX/EntryChecks,
// docs/ENTRY-CHECKS.md) run on the current VMCS, the same list the kernel runs on a live VMCS.
//
// VMLAUNCH and VMRESUME call `checkVMEntry(launch:)` after the basic checks of SDM 27.1 (no
// current VMCS, MOV-SS blocking, launch state) and before entering the guest. The rules run in
// the SDM's order: the VMX controls (27.2.1), the host-state area (27.2.2-27.2.4), the
// guest-state area (27.3) and the VM-entry MSR-load list (27.4); the first failure decides:
//   - controls:     .vmFailValid(.entryWithInvalidControlFields)      -> VMfailValid(7)
//   - host state:   .vmFailValid(.entryWithInvalidHostStateFields)    -> VMfailValid(8)
//   - guest state:  .entryFailure(.entryFailureGuestState, qualification) (27.8; qualification
//                   0, 2 PDPTE, 3 NMI injection, 4 VMCS link pointer)
//   - MSR loading:  .entryFailure(.entryFailureMSRLoading, entry number, 1-based)
// The caller writes the error number or the exit information and loads host state.
import VMX

extension EmulatedCPU {
    /// The verdict of the VM-entry checks.
    public enum VMEntryCheckResult: Equatable, Sendable {
        case passed
        /// VM entry fails with VMfailValid and this error (7 or 8).
        case vmFailValid(VMInstructionError)
        /// VM entry fails after the controls and host state passed (SDM 27.8); `reason` is the
        /// basic exit reason (33, 34 or 41), bit 31 is added by the caller.
        case entryFailure(ExitReason, qualification: UInt64)
    }

    /// The checks of SDM 27.2-27.4 on the current VMCS. `launch` tells VMLAUNCH from VMRESUME.
    /// The full report (every failing rule, in order) stays in `lastEntryCheckReport`.
    func checkVMEntry(launch: Bool) -> VMEntryCheckResult {
        if let entryCheckOverride { return entryCheckOverride(launch) }
        guard let capabilities else { return .passed }
        let report = VMX.checkVMEntry(entryCheckInput(capabilities: capabilities))
        lastEntryCheckReport = report
        switch report.outcome {
        case .success: return .passed
        case .vmfailValid(let error): return .vmFailValid(error)
        case .entryFailure(let reason, let qualification):
            return .entryFailure(reason, qualification: qualification)
        }
    }

    /// What the rules see of this processor: its profile, its current VMCS (0 for a field the
    /// profile's CPU does not support, as the kernel's VMREAD would fail there), its memory
    /// (0 outside it) and its mode.
    public func entryCheckInput(capabilities: VMXCapabilities) -> EntryCheckInput {
        EntryCheckInput(
            capabilities: capabilities,
            physicalAddressWidth: physicalAddressWidth,
            linearAddressWidth: linearAddressWidth,
            readField: { [unowned self] field in self.supports(field) ? self.currentVMCSFieldValue(field) : 0 },
            // Unbacked memory reads as all ones, as the processor's own reads see it (and a
            // real machine's, and Bochs'): the VM-entry MSR-load list, the VMCS link pointer's
            // region and the PDPTEs must read the same in the checks and in the entry.
            readPhysical64: { [unowned self] address in self.memory.read64(address) },
            currentVMCSPointer: currentVMCSPointer,
            vmxonPointer: vmxonPointer ?? 0,
            processorInIA32eMode: efer & ExtendedFeatureEnable.lma.rawValue != 0,
            msrWriteFaults: msrWriteFaultCheck)
    }

    /// WRMSR's checks with CR0 and IA32_EFER as VM entry leaves them before it loads MSRs.
    public var msrWriteFaultCheck: ((UInt32, UInt64) -> Bool)? {
        { [unowned self] msr, value in
            let (cr0, efer) = self.guestCR0AndEFERAfterLoading()
            return self.msrWriteFaults(msr, value, cr0: cr0, efer: efer)
        }
    }

    /// CR0 and IA32_EFER as VM entry leaves them after loading guest state (SDM 27.3.2.1),
    /// before it processes the VM-entry MSR-load list (27.4): IA32_EFER from its field with
    /// "load IA32_EFER", else LMA and LME from "IA-32e mode guest".
    func guestCR0AndEFERAfterLoading() -> (cr0: UInt64, efer: UInt64) {
        let entry = VMEntryControls(rawValue: UInt32(truncatingIfNeeded: currentVMCSFieldValue(.vmEntryControls)))
        var guestEFER: UInt64
        if entry.contains(.loadIA32EFER) {
            guestEFER = currentVMCSFieldValue(.guestIA32EFER)
        } else {
            guestEFER = efer & ~(ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue)
            if entry.contains(.ia32eModeGuest) {
                guestEFER |= ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue
            }
        }
        return (currentVMCSFieldValue(.guestCR0), guestEFER)
    }

    /// SDM 27.4 and 27.8: when processing of entry `failing` of the VM-entry MSR-load list
    /// failed, the entries before it were loaded (as WRMSR loads them) and stay loaded; host
    /// state is loaded after them.
    func loadMSRLoadListEntries(before failing: UInt64) {
        guard failing > 1 else { return }
        let list = currentVMCSFieldValue(.vmEntryMSRLoadAddress)
        for number in 1..<failing {
            let address = list &+ (number - 1) &* 16
            let msr = memory.read32(address)
            let value = memory.read64(address &+ 8)
            if msr == MSR.ia32EFER.rawValue {
                efer = (value & ~ExtendedFeatureEnable.lma.rawValue) | (efer & ExtendedFeatureEnable.lma.rawValue)
            } else if msr == MSR.ia32FeatureControl.rawValue {
                ia32FeatureControl = value
            } else {
                msrs[msr] = value
            }
        }
    }

    /// The value of `field` in the current VMCS, as the checks read it (no VMREAD semantics, no
    /// support check); 0 when there is no current VMCS or the field is not defined.
    public func currentVMCSFieldValue(_ field: VMCSField) -> UInt64 {
        guard let currentVMCS else { return 0 }
        return value(of: field, in: currentVMCS)
    }
}
