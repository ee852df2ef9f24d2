// SDM 27.2.1.2 "VM-Exit Control Fields": the checks VM entry performs on the VM-exit control
// fields. Failure: VMfailValid(7).

extension EntryRules {
    static let vmExitControls: [EntryRule] = [
        EntryRule(
            "controls.exit.reserved", "27.2.1.2", .controls,
            "Reserved bits in the primary VM-exit controls are set properly"
        ) { c, v in
            EntryRule.reservedControlViolations(
                c.exitControls, c.capabilities.exitControls, field: .primaryVMExitControls,
                msr: EntryRule.controlsMSRName("IA32_VMX_EXIT_CTLS", "IA32_VMX_TRUE_EXIT_CTLS", c), into: &v)
        },
        EntryRule(
            "controls.exit-secondary.reserved", "27.2.1.2", .controls,
            """
            If the VM-exit control \"activate secondary controls\" is 1, reserved bits in the secondary VM-exit \
            controls are 0
            """
        ) { c, v in
            guard c.exitControls.contains(.activateSecondaryControls) else { return }
            EntryRule.reservedControlViolations(
                c.secondaryExit, c.capabilities.secondaryExitControls,
                field: .secondaryVMExitControls, msr: "IA32_VMX_EXIT_CTLS2", into: &v)
        },
        EntryRule(
            "controls.exit.save-preemption-timer-needs-timer", "27.2.1.2", .controls,
            "If \"activate VMX-preemption timer\" is 0, \"save VMX-preemption timer value\" is 0"
        ) { c, v in
            if !c.pinBased.contains(.activateVMXPreemptionTimer)
                && c.exitControls.contains(.saveVMXPreemptionTimerValue)
            {
                v.record(
                    field: .primaryVMExitControls, value: c.exitControls.mask,
                    expected: "Save VMX-preemption timer value clear (activate VMX-preemption timer is 0)")
            }
        },
        EntryRule(
            "controls.exit-msr-store.address", "27.2.1.2", .controls,
            """
            If the VM-exit MSR-store count is not 0, the VM-exit MSR-store address is 16-byte aligned and the area \
            lies within the physical-address width
            """
        ) { c, v in
            guard c.exitMSRStoreCount != 0 else { return }
            if let problem = c.msrListProblem(count: c.exitMSRStoreCount, address: c.exitMSRStoreAddress) {
                v.record(field: .vmExitMSRStoreAddress, value: c.exitMSRStoreAddress, expected: problem)
            }
        },
        EntryRule(
            "controls.exit-msr-load.address", "27.2.1.2", .controls,
            """
            If the VM-exit MSR-load count is not 0, the VM-exit MSR-load address is 16-byte aligned and the area \
            lies within the physical-address width
            """
        ) { c, v in
            guard c.exitMSRLoadCount != 0 else { return }
            if let problem = c.msrListProblem(count: c.exitMSRLoadCount, address: c.exitMSRLoadAddress) {
                v.record(field: .vmExitMSRLoadAddress, value: c.exitMSRLoadAddress, expected: problem)
            }
        }
    ]
}
