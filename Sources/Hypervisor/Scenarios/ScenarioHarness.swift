// What the kernel's scenario harness keeps for itself (docs/SCENARIOS.md, "Refused"): the
// fields that decide where a VM exit takes the host and that stop the guest. A valid but
// different value there would hand the host to the file at the first VM exit, so the kernel
// launches a file that touches them only when the rules predict a VMfailValid, which fails the
// entry before any host state is used (SDM 27.2: VMfailValid leaves the processor as it was).
import VMX

enum ScenarioHarness {
    /// The first override that sets a field the harness owns, and why it owns it.
    static func ownedField(in scenario: Scenario) -> (override: ScenarioOverride, reason: String)? {
        for override in scenario.overrides {
            if let reason = ScenarioHarness.ownership(of: override.field) { return (override, reason) }
        }
        return nil
    }

    /// Why the harness owns `field`, nil when the file may set it.
    static func ownership(of field: VMCSField) -> String? {
        if field.type == .hostState { return "host state: what a VM exit loads, SDM 28.5" }
        // Both halves of a 64-bit field.
        let full = field.rawValue & ~1
        switch full {
        case VMCSField.primaryVMExitControls.rawValue, VMCSField.secondaryVMExitControls.rawValue:
            return "VM-exit controls, SDM 25.7.1"
        case VMCSField.vmExitMSRLoadCount.rawValue, VMCSField.vmExitMSRLoadAddress.rawValue,
             VMCSField.vmExitMSRStoreCount.rawValue, VMCSField.vmExitMSRStoreAddress.rawValue:
            return "VM-exit MSR lists, SDM 25.7.2"
        case VMCSField.pinBasedVMExecutionControls.rawValue:
            return "pin-based controls: external-interrupt and NMI exiting and the VMX-preemption timer stop the guest"
        case VMCSField.vmxPreemptionTimerValue.rawValue:
            return "the VMX-preemption timer stops the guest"
        default:
            return nil
        }
    }
}
