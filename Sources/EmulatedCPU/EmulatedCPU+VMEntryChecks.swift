// ┌──────────────────────────────────────────────────────────────────────────────────────────┐
// │ THE VM-ENTRY CHECK HOOK. The rule list of issue 3 item 3 plugs in here.                  │
// └──────────────────────────────────────────────────────────────────────────────────────────┘
//
// VMLAUNCH and VMRESUME call `checkVMEntry(launch:)` after the basic checks of SDM 27.1 (no
// current VMCS, MOV-SS blocking, launch state) and before entering the guest. It must run, in
// the SDM's order, the checks on the VMX controls (27.2.1), on the host-state area (27.2.2,
// 27.2.3), then on the guest-state area (27.3) including loading it (PDPTEs, 27.3.4) and the
// VM-entry MSR-load list (27.4), and report the first failure:
//   - controls:     .vmFailValid(.entryWithInvalidControlFields)      -> VMfailValid(7)
//   - host state:   .vmFailValid(.entryWithInvalidHostStateFields)    -> VMfailValid(8)
//   - guest state:  .entryFailure(.entryFailureGuestState, qualification) (27.8; qualification
//                   0, 2 PDPTE, 3 NMI injection, 4 VMCS link pointer)
//   - MSR loading:  .entryFailure(.entryFailureMSRLoading, entry number, 1-based)
// The caller writes the error number or the exit information and loads host state; the rule
// list itself only reads the current VMCS (through `currentVMCSFieldValue`) and CPU state.
//
// Until the rule list exists every entry passes.
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

    /// The hook: the checks of SDM 27.2-27.4 on the current VMCS. `launch` tells VMLAUNCH from
    /// VMRESUME. Returns `.passed` until the rule list is plugged in.
    func checkVMEntry(launch: Bool) -> VMEntryCheckResult {
        if let entryCheckOverride { return entryCheckOverride(launch) }
        return .passed
    }

    /// The value of `field` in the current VMCS, as the checks read it (no VMREAD semantics, no
    /// support check); 0 when there is no current VMCS or the field is not defined.
    public func currentVMCSFieldValue(_ field: VMCSField) -> UInt64 {
        guard let currentVMCS else { return 0 }
        return value(of: field, in: currentVMCS)
    }
}
