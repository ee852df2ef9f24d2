// What the kernel's scenario harness keeps for itself (docs/SCENARIOS.md, "Refused"): the
// fields that decide where a VM exit takes the host and that stop the guest. A valid but
// different value there would hand the host to the file at the first VM exit, so the kernel
// launches a file that touches them only when the rules predict a VMfailValid, which fails the
// entry before any host state is used (SDM 27.2: VMfailValid leaves the processor as it was).
//
// A file may also make a guest that nothing stops: it launches only when the rules predict a
// VMfailValid (the guest never runs; a predicted guest-state failure is not enough, as Bochs
// skips some guest-state checks).
// Wait-for-SIPI is left only by a SIPI - the VMX-preemption timer counting down to zero there
// causes no VM exit (SDM 26.5.1) and interrupts do not wake it - and without the timer a guest sent away from its first
// instruction (RIP, CS, RFLAGS, CR3) or put in HLT or shutdown is stopped only by the host
// timer's interrupt, which Bochs was seen not to deliver to a halted scenario guest.
import VMX

enum ScenarioHarness {
    /// The first override that sets a field the harness owns, and why it owns it.
    static func ownedField(in scenario: Scenario) -> (override: ScenarioOverride, reason: String)? {
        for override in scenario.overrides {
            if let reason = ScenarioHarness.ownership(of: override.field) { return (override, reason) }
        }
        return nil
    }

    /// How many host-state fields the file sets (a 64-bit field's halves count once). With two
    /// or more, a host-state check the processor skips on one of them (Bochs 2.7 skips some,
    /// docs/BOCHS-DIFFERENCES.md #13 and #25) lets the entry succeed, and the next VM exit loads
    /// the other's value - a GS base or CR3 the kernel cannot live with. Such a file launches
    /// only when the rules predict a control-field failure (VMfailValid 7), which the
    /// processor finds before it looks at host state (SDM 27.2.1, 27.2.2).
    static func hostStateFieldCount(in scenario: Scenario) -> Int {
        var fields: [UInt32] = []
        for override in scenario.overrides where override.field.type == .hostState {
            let full = override.field.rawValue & ~1
            if !fields.contains(full) { fields.append(full) }
        }
        return fields.count
    }

    /// The first override that makes a guest the harness could not stop, why, and whether
    /// only a predicted VMfailValid lets the file launch (else any predicted failure does).
    static func unstoppableGuest(in scenario: Scenario, usesPreemptionTimer: Bool)
        -> (override: ScenarioOverride, reason: String, launchesOnlyOnVMfail: Bool)?
    {
        for override in scenario.overrides {
            // Only a VMfailValid is sure to keep it out: Bochs skips some guest-state checks, so
            // a predicted entry failure may still enter (docs/BOCHS-DIFFERENCES.md).
            if override.field == .guestActivityState && override.value == GuestActivityState.waitForSIPI {
                return (override, "wait-for-SIPI: only a SIPI ends it, SDM 26.5.1", true)
            }
            guard !usesPreemptionTimer else { continue }
            // Bochs skips some guest-state checks (docs/BOCHS-DIFFERENCES.md), so a predicted
            // entry failure may still enter: only VMfailValid is sure not to.
            if ScenarioHarness.redirectsGuest(override.field) {
                return (override, "without the VMX-preemption timer a guest sent elsewhere may never exit", true)
            }
            if override.field == .guestActivityState && override.value != GuestActivityState.active {
                return (override, "without the VMX-preemption timer Bochs was seen never to leave HLT", true)
            }
        }
        return nil
    }

    /// Fields that decide where the scenario guest starts executing, and so whether its first
    /// instruction is the CPUID that exits.
    static func redirectsGuest(_ field: VMCSField) -> Bool {
        switch field {
        case .guestRIP, .guestRFLAGS, .guestCR3, .guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights:
            return true
        default:
            return false
        }
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
