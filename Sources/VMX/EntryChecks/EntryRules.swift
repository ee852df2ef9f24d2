// The VM-entry checks of SDM chapter 27 as one list, in the SDM's order: checks on the VMX
// controls (27.2.1), on the host-state area (27.2.2-27.2.4), on the guest-state area
// (27.3.1), then the loading of MSRs (27.4). The kernel runs it on a live VMCS, the emulated
// CPU on its own, and a hosted tool on a scenario: docs/ENTRY-CHECKS.md.

public enum EntryRules {
    /// Every rule, in the order VM entry is modelled to check them.
    public static let all: [EntryRule] =
        vmExecutionControls + vmExitControls + vmEntryControls
        + hostControlRegistersAndMSRs + hostSegmentRegisters + hostAddressSpaceSize
        + guestControlRegistersAndMSRs + guestSegmentRegisters + guestDescriptorTableRegisters
        + guestRIPAndRFLAGS + guestNonRegisterState + guestPDPTEs
        + msrLoading

    /// The rule with `identifier`, or nil (a linear search: for tools and tests).
    public static func rule(_ identifier: String) -> EntryRule? {
        for rule in all where rule.identifier.utf8.elementsEqual(identifier.utf8) { return rule }
        return nil
    }
}
