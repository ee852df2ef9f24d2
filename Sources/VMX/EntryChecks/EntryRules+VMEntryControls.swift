// SDM 27.2.1.3 "VM-Entry Control Fields": the checks VM entry performs on the VM-entry control
// fields, including the event-injection fields. Failure: VMfailValid(7).

extension EntryRules {
    static let vmEntryControls: [EntryRule] = [
        EntryRule(
            "controls.entry.reserved", "27.2.1.3", .controls,
            "Reserved bits in the VM-entry controls are set properly"
        ) { c, v in
            EntryRule.reservedControlViolations(
                c.entryControls, c.capabilities.entryControls, field: .vmEntryControls,
                msr: EntryRule.controlsMSRName("IA32_VMX_ENTRY_CTLS", "IA32_VMX_TRUE_ENTRY_CTLS", c), into: &v)
        },
        EntryRule(
            "controls.event-injection.type", "27.2.1.3", .controls,
            """
            An injected event's interruption type is not reserved: 1 never, 7 (other event) only with the \
            \"monitor trap flag\" control supported
            """
        ) { c, v in
            guard let event = c.injection else { return }
            if event.type == .reserved {
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: "bits 10:8 not 1 (reserved type)")
            } else if event.type == .otherEvent
                && !c.capabilities.primaryProcessorBasedControls.allowsOne(.monitorTrapFlag)
            {
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: "bits 10:8 not 7 (other event needs \"monitor trap flag\" support)")
            }
        },
        EntryRule(
            "controls.event-injection.vector", "27.2.1.3", .controls,
            """
            An injected event's vector fits its type: 2 for an NMI, at most 31 for a hardware exception, 0 for \
            other event
            """
        ) { c, v in
            guard let event = c.injection else { return }
            let expected: String?
            switch event.type {
            case .nonMaskableInterrupt: expected = event.vector == 2 ? nil : "vector 2 (NMI)"
            case .hardwareException: expected = event.vector <= 31 ? nil : "vector at most 31 (hardware exception)"
            case .otherEvent: expected = event.vector == 0 ? nil : "vector 0 (pending MTF VM exit)"
            default: expected = nil
            }
            if let expected {
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: expected)
            }
        },
        EntryRule(
            "controls.event-injection.deliver-error-code", "27.2.1.3", .controls,
            """
            An injected event's deliver-error-code bit is 1 exactly for a protected-mode hardware exception that \
            pushes one (relaxed when IA32_VMX_BASIC[56] is 1)
            """
        ) { c, v in
            guard let event = c.injection else { return }
            // "Protected mode" as KVM, Bochs and VirtualBox read the SDM: "unrestricted guest"
            // is 0 (the guest cannot be in real mode) or CR0.PE is 1 in the guest-state area.
            let protectedMode = !c.unrestrictedGuest || c.guestCR0PE
            let relaxed = c.capabilities.basic.allowsErrorCodeLessInjection
            let hardware = event.type == .hardwareException
            let pushes = VMEntryInterruptionInformation.exceptionHasErrorCode(event.vector)
            let mustBeOne = hardware && protectedMode && !relaxed && pushes
            let mustBeZero = !hardware || !protectedMode || (!relaxed && !pushes)
            if mustBeOne && !event.deliversErrorCode {
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: String(text: "bit 11 set (vector \(event.vector) pushes an error code)"))
            } else if mustBeZero && event.deliversErrorCode {
                let why =
                    !hardware
                    ? "not a hardware exception"
                    : !protectedMode
                        ? "guest CR0.PE is 0 with unrestricted guest"
                        : String(text: "vector \(event.vector) pushes no error code")
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: "bit 11 clear (" + why + ")")
            }
        },
        EntryRule(
            "controls.event-injection.reserved", "27.2.1.3", .controls,
            "Reserved bits 30:12 of the VM-entry interruption-information field are 0"
        ) { c, v in
            guard let event = c.injection else { return }
            if event.rawValue & VMEntryInterruptionInformation.reservedBits != 0 {
                v.record(
                    field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue),
                    expected: "bits 30:12 clear")
            }
        },
        EntryRule(
            "controls.event-injection.error-code", "27.2.1.3", .controls,
            "If the deliver-error-code bit is 1, bits 31:16 of the VM-entry exception error code are 0"
        ) { c, v in
            guard let event = c.injection, event.deliversErrorCode else { return }
            if c.entryExceptionErrorCode & 0xFFFF_0000 != 0 {
                v.record(
                    field: .vmEntryExceptionErrorCode, value: c.entryExceptionErrorCode,
                    expected: "bits 31:16 clear")
            }
        },
        EntryRule(
            "controls.event-injection.instruction-length", "27.2.1.3", .controls,
            """
            For a software interrupt or (privileged) software exception, the VM-entry instruction length is 1-15 \
            (0 too if IA32_VMX_MISC[30] is 1)
            """
        ) { c, v in
            guard let event = c.injection, event.usesInstructionLength else { return }
            let length = c.entryInstructionLength
            let zeroAllowed = c.capabilities.misc.allowsZeroLengthInstructionInjection
            if length > 15 || (length == 0 && !zeroAllowed) {
                v.record(
                    field: .vmEntryInstructionLength, value: length,
                    expected: zeroAllowed ? "0-15" : "1-15 (IA32_VMX_MISC[30] is 0)")
            }
        },
        EntryRule(
            "controls.entry-msr-load.address", "27.2.1.3", .controls,
            """
            If the VM-entry MSR-load count is not 0, the VM-entry MSR-load address is 16-byte aligned and the area \
            lies within the physical-address width
            """
        ) { c, v in
            guard c.entryMSRLoadCount != 0 else { return }
            if let problem = c.msrListProblem(count: c.entryMSRLoadCount, address: c.entryMSRLoadAddress) {
                v.record(field: .vmEntryMSRLoadAddress, value: c.entryMSRLoadAddress, expected: problem)
            }
        },
        EntryRule(
            "controls.entry.smm-controls-outside-smm", "27.2.1.3", .controls,
            "Outside SMM, \"entry to SMM\" and \"deactivate dual-monitor treatment\" are 0"
        ) { c, v in
            guard !c.processorInSMM else { return }
            let smm = c.entryControls.intersection([.entryToSMM, .deactivateDualMonitorTreatment])
            if !smm.isEmpty {
                v.record(
                    field: .vmEntryControls, value: c.entryControls.mask,
                    expected: smm.names.joined(separator: ", ") + " clear (not in SMM)")
            }
        },
        EntryRule(
            "controls.entry.smm-and-deactivate-dual-monitor", "27.2.1.3", .controls,
            "\"entry to SMM\" and \"deactivate dual-monitor treatment\" are not both 1"
        ) { c, v in
            if c.entryControls.isSuperset(of: [.entryToSMM, .deactivateDualMonitorTreatment]) {
                v.record(
                    field: .vmEntryControls, value: c.entryControls.mask,
                    expected: "Entry to SMM and Deactivate dual-monitor treatment not both set")
            }
        }
    ]
}
