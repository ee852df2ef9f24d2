// What VMLAUNCH or VMRESUME did (SDM 31.3 VMLAUNCH/VMRESUME, chapter 27 "VM Entries").
// Meant to move into the VMX module when the Processor protocol gains vmlaunch/vmresume.
import VMX

public enum VMEntryOutcome: Equatable, Sendable {
    /// The checks passed: the processor is in VMX non-root operation running the guest, and
    /// VMLAUNCH has set the launch state to launched.
    case entered
    /// VMfailInvalid or VMfailValid(n): the instruction failed before loading guest state
    /// (errors 4, 5, 26 from the basic checks; 7, 8 from the checks on the controls and the
    /// host-state area, SDM 27.1, 27.2).
    case vmFail(VMFailure)
    /// VM entry failed while or after loading guest state (SDM 27.8): host state was loaded as
    /// for a VM exit, and the exit-reason field holds `exitReason` (bit 31 set: 33 for invalid
    /// guest state, 34 for MSR loading with the failing entry's number as qualification).
    case entryFailure(exitReason: ExitReason, qualification: UInt64)
    /// Emulated CPU only: the instruction raised a fault, recorded in `lastFault` (on real
    /// hardware the kernel's exception handler would stop instead of returning).
    case faulted(Fault)
    /// Emulated CPU only: executed in VMX non-root operation, the instruction caused a VM exit
    /// with this basic reason (SDM 26.1.2) and the processor is back in VMX root operation.
    case causedVMExit(ExitReason)
}
