// SDM 27.3.1.5 "Checks on Guest Non-Register State": activity state, interruptibility state,
// pending debug exceptions and the VMCS link pointer. Failure: VM exit with reason 33; exit
// qualification 3 for an NMI injected while blocking by STI is indicated, 4 for the VMCS
// link pointer, 0 otherwise.

extension EntryRules {
    static let guestNonRegisterState: [EntryRule] = [
        // Activity state.
        EntryRule(
            "guest.activity-state.supported", "27.3.1.5", .guestState,
            "The activity state is 0-3 and one IA32_VMX_MISC[8:6] reports supported (active is always supported)"
        ) { c, v in
            let state = c.guestActivityState
            let misc = c.capabilities.misc
            let supported: Bool
            switch state {
            case GuestActivityState.active: supported = true
            case GuestActivityState.hlt: supported = misc.supportsHLTActivityState
            case GuestActivityState.shutdown: supported = misc.supportsShutdownActivityState
            case GuestActivityState.waitForSIPI: supported = misc.supportsWaitForSIPIActivityState
            default: supported = false
            }
            if !supported {
                var allowed = "0 (active)"
                if misc.supportsHLTActivityState { allowed += ", 1 (HLT)" }
                if misc.supportsShutdownActivityState { allowed += ", 2 (shutdown)" }
                if misc.supportsWaitForSIPIActivityState { allowed += ", 3 (wait-for-SIPI)" }
                v.record(field: .guestActivityState, value: state, expected: allowed)
            }
        },
        EntryRule(
            "guest.activity-state.hlt-needs-ss-dpl-0", "27.3.1.5", .guestState,
            "The activity state is not HLT if SS.DPL is not 0"
        ) { c, v in
            if c.guestActivityState == GuestActivityState.hlt && c.ss.dpl != 0 {
                v.record(
                    field: .guestActivityState, value: c.guestActivityState,
                    expected: String(text: "not HLT (SS.DPL is \(c.ss.dpl))"))
            }
        },
        EntryRule(
            "guest.activity-state.active-when-blocking", "27.3.1.5", .guestState,
            "The activity state is active if the interruptibility state indicates blocking by STI or by MOV SS"
        ) { c, v in
            let blocking =
                c.guestInterruptibility & (GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS)
            if blocking != 0 && c.guestActivityState != GuestActivityState.active {
                v.record(
                    field: .guestActivityState, value: c.guestActivityState,
                    expected: "0 (active: blocking by STI or MOV SS is indicated)")
            }
        },
        EntryRule(
            "guest.activity-state.injection", "27.3.1.5", .guestState,
            """
            An injected event is one the activity state does not block: HLT takes external interrupts, NMIs, #DB, \
            #MC and pending MTF; shutdown NMIs and #MC; wait-for-SIPI none
            """
        ) { c, v in
            guard let event = c.injection else { return }
            let allowed: Bool
            let what: String
            switch c.guestActivityState {
            case GuestActivityState.hlt:
                allowed =
                    event.type == .externalInterrupt || event.type == .nonMaskableInterrupt
                    || (event.type == .hardwareException && (event.vector == 1 || event.vector == 18))
                    || (event.type == .otherEvent && event.vector == 0)
                what = "an external interrupt, NMI, #DB, #MC or pending MTF VM exit (HLT state)"
            case GuestActivityState.shutdown:
                allowed =
                    event.type == .nonMaskableInterrupt || (event.type == .hardwareException && event.vector == 18)
                what = "an NMI or #MC (shutdown state)"
            case GuestActivityState.waitForSIPI:
                allowed = false
                what = "no injection (wait-for-SIPI state)"
            default:
                allowed = true
                what = ""
            }
            if !allowed {
                v.record(field: .vmEntryInterruptionInformation, value: UInt64(event.rawValue), expected: what)
            }
        },
        EntryRule(
            "guest.activity-state.no-wait-for-sipi-with-entry-to-smm", "27.3.1.5", .guestState,
            "The activity state is not wait-for-SIPI if \"entry to SMM\" is 1"
        ) { c, v in
            if c.entryControls.contains(.entryToSMM) && c.guestActivityState == GuestActivityState.waitForSIPI {
                v.record(
                    field: .guestActivityState, value: c.guestActivityState,
                    expected: "not 3 (wait-for-SIPI) with entry to SMM")
            }
        },
        // Interruptibility state.
        EntryRule(
            "guest.interruptibility.reserved", "27.3.1.5", .guestState,
            "Reserved bits 31:5 of the interruptibility state are 0"
        ) { c, v in
            if c.guestInterruptibility & GuestInterruptibility.reservedBits != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bits 31:5 clear")
            }
        },
        EntryRule(
            "guest.interruptibility.sti-and-mov-ss", "27.3.1.5", .guestState,
            "The interruptibility state does not indicate blocking by both STI and MOV SS"
        ) { c, v in
            let both = GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS
            if c.guestInterruptibility & both == both {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bits 0 (STI) and 1 (MOV SS) not both set")
            }
        },
        EntryRule(
            "guest.interruptibility.sti-needs-if", "27.3.1.5", .guestState,
            "Blocking by STI (bit 0) is 0 if RFLAGS.IF is 0"
        ) { c, v in
            if c.guestInterruptibility & GuestInterruptibility.blockingBySTI != 0
                && c.guestRFLAGS & RFLAGS.if.rawValue == 0
            {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 0 (blocking by STI) clear (RFLAGS.IF is 0)")
            }
        },
        EntryRule(
            "guest.interruptibility.external-interrupt-injection", "27.3.1.5", .guestState,
            "Blocking by STI and by MOV SS are 0 if VM entry injects an external interrupt"
        ) { c, v in
            guard let event = c.injection, event.type == .externalInterrupt else { return }
            if c.guestInterruptibility & (GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS)
                != 0
            {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bits 1:0 clear (injecting an external interrupt)")
            }
        },
        EntryRule(
            "guest.interruptibility.nmi-injection-mov-ss", "27.3.1.5", .guestState,
            "Blocking by MOV SS (bit 1) is 0 if VM entry injects an NMI"
        ) { c, v in
            guard let event = c.injection, event.type == .nonMaskableInterrupt else { return }
            if c.guestInterruptibility & GuestInterruptibility.blockingByMovSS != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 1 (blocking by MOV SS) clear (injecting an NMI)")
            }
        },
        EntryRule(
            "guest.interruptibility.smi-outside-smm", "27.3.1.5", .guestState,
            "Blocking by SMI (bit 2) is 0 outside SMM"
        ) { c, v in
            if !c.processorInSMM && c.guestInterruptibility & GuestInterruptibility.blockingBySMI != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 2 (blocking by SMI) clear (not in SMM)")
            }
        },
        EntryRule(
            "guest.interruptibility.smi-with-entry-to-smm", "27.3.1.5", .guestState,
            "Blocking by SMI (bit 2) is 1 if \"entry to SMM\" is 1"
        ) { c, v in
            if c.entryControls.contains(.entryToSMM)
                && c.guestInterruptibility & GuestInterruptibility.blockingBySMI == 0
            {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 2 (blocking by SMI) set (entry to SMM is 1)")
            }
        },
        EntryRule(
            "guest.interruptibility.nmi-injection-sti", "27.3.1.5", .guestState,
            """
            Blocking by STI (bit 0) is 0 if VM entry injects an NMI (a requirement the SDM lets a processor make; \
            this model makes it)
            """,
            qualification: EntryFailureQualification.nmiInjectionWithBlockingBySTI
        ) { c, v in
            guard c.features.requiresNoBlockingBySTIForNMIInjection,
                let event = c.injection, event.type == .nonMaskableInterrupt
            else { return }
            if c.guestInterruptibility & GuestInterruptibility.blockingBySTI != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 0 (blocking by STI) clear (injecting an NMI)")
            }
        },
        EntryRule(
            "guest.interruptibility.virtual-nmi-injection", "27.3.1.5", .guestState,
            "Blocking by NMI (bit 3) is 0 if \"virtual NMIs\" is 1 and VM entry injects an NMI"
        ) { c, v in
            guard c.pinBased.contains(.virtualNMIs), let event = c.injection, event.type == .nonMaskableInterrupt else {
                return
            }
            if c.guestInterruptibility & GuestInterruptibility.blockingByNMI != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 3 (blocking by NMI) clear (injecting a virtual NMI)")
            }
        },
        EntryRule(
            "guest.interruptibility.enclave", "27.3.1.5", .guestState,
            "If enclave interruption (bit 4) is 1, blocking by MOV SS is 0 and the processor supports SGX"
        ) { c, v in
            guard c.guestInterruptibility & GuestInterruptibility.enclaveInterruption != 0 else { return }
            if c.guestInterruptibility & GuestInterruptibility.blockingByMovSS != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 1 (blocking by MOV SS) clear (enclave interruption is 1)")
            }
            if !c.features.supportsSGX {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 4 (enclave interruption) clear (no SGX: CPUID.(7,0):EBX[2] is 0)")
            }
        },
        // Pending debug exceptions.
        EntryRule(
            "guest.pending-debug.reserved", "27.3.1.5", .guestState,
            "Pending-debug-exception bits 11:4, 13, 15 and 63:17 are 0"
        ) { c, v in
            if c.guestPendingDebugExceptions & GuestPendingDebugExceptions.reservedBits != 0 {
                v.record(
                    field: .guestPendingDebugExceptions, value: c.guestPendingDebugExceptions,
                    expected: "bits 11:4, 13, 15 and 63:17 clear")
            }
        },
        EntryRule(
            "guest.pending-debug.bs-with-tf", "27.3.1.5", .guestState,
            "With blocking by STI or MOV SS, or in HLT: BS (bit 14) is 1 if RFLAGS.TF is 1 and IA32_DEBUGCTL.BTF is 0"
        ) { c, v in
            guard EntryRule.pendingDebugSingleStepChecksApply(c) else { return }
            let singleStep = c.guestRFLAGS & RFLAGS.tf.rawValue != 0 && c.guestDebugCtl & 2 == 0
            if singleStep && c.guestPendingDebugExceptions & GuestPendingDebugExceptions.bs == 0 {
                v.record(
                    field: .guestPendingDebugExceptions, value: c.guestPendingDebugExceptions,
                    expected: "bit 14 (BS) set (RFLAGS.TF is 1, DEBUGCTL.BTF is 0)")
            }
        },
        EntryRule(
            "guest.pending-debug.bs-without-tf", "27.3.1.5", .guestState,
            "With blocking by STI or MOV SS, or in HLT: BS (bit 14) is 0 if RFLAGS.TF is 0 or IA32_DEBUGCTL.BTF is 1"
        ) { c, v in
            guard EntryRule.pendingDebugSingleStepChecksApply(c) else { return }
            let singleStep = c.guestRFLAGS & RFLAGS.tf.rawValue != 0 && c.guestDebugCtl & 2 == 0
            if !singleStep && c.guestPendingDebugExceptions & GuestPendingDebugExceptions.bs != 0 {
                v.record(
                    field: .guestPendingDebugExceptions, value: c.guestPendingDebugExceptions,
                    expected: "bit 14 (BS) clear (RFLAGS.TF is 0 or DEBUGCTL.BTF is 1)")
            }
        },
        EntryRule(
            "guest.pending-debug.rtm", "27.3.1.5", .guestState,
            """
            If RTM (bit 16) is 1: bits 11:0, 15:13 and 63:17 are 0, bit 12 is 1, the processor supports RTM and \
            blocking by MOV SS is 0
            """
        ) { c, v in
            let pending = c.guestPendingDebugExceptions
            guard pending & GuestPendingDebugExceptions.rtm != 0 else { return }
            let mustBeZero: UInt64 = 0xFFF | 0xE000 | ~UInt64(0x1_FFFF)
            if pending & mustBeZero != 0 || pending & GuestPendingDebugExceptions.enabledBreakpoint == 0 {
                v.record(
                    field: .guestPendingDebugExceptions, value: pending,
                    expected: "bits 11:0, 15:13, 63:17 clear and bit 12 set (RTM is 1)")
            }
            if !c.features.supportsRTM {
                v.record(
                    field: .guestPendingDebugExceptions, value: pending,
                    expected: "bit 16 (RTM) clear (no RTM: CPUID.(7,0):EBX[11] is 0)")
            }
            if c.guestInterruptibility & GuestInterruptibility.blockingByMovSS != 0 {
                v.record(
                    field: .guestInterruptibilityState, value: c.guestInterruptibility,
                    expected: "bit 1 (blocking by MOV SS) clear (pending RTM debug exception)")
            }
        },
        // VMCS link pointer: checked if it is not FFFFFFFF_FFFFFFFFH.
        EntryRule(
            "guest.vmcs-link.address", "27.3.1.5", .guestState,
            """
            A VMCS link pointer other than FFFFFFFF_FFFFFFFFH is 4-KByte aligned and within the physical-address \
            width
            """,
            qualification: EntryFailureQualification.vmcsLinkPointer
        ) { c, v in
            guard c.vmcsLinkPointer != ~0 else { return }
            if let problem = c.pageAddressProblem(c.vmcsLinkPointer) {
                v.record(field: .vmcsLinkPointer, value: c.vmcsLinkPointer, expected: problem)
            }
        },
        EntryRule(
            "guest.vmcs-link.revision", "27.3.1.5", .guestState,
            "Bits 30:0 of the 4 bytes the VMCS link pointer references hold the processor's VMCS revision identifier",
            qualification: EntryFailureQualification.vmcsLinkPointer
        ) { c, v in
            guard c.vmcsLinkPointer != ~0, c.pageAddressProblem(c.vmcsLinkPointer) == nil else { return }
            let header = c.readPhysical64(c.vmcsLinkPointer) & 0xFFFF_FFFF
            let revision = UInt64(c.capabilities.basic.revisionIdentifier)
            if header & 0x7FFF_FFFF != revision {
                v.record(
                    EntryViolation(
                        field: .vmcsLinkPointer, value: header,
                        expected: String(text: "revision identifier \(hex: revision) in bits 30:0 (IA32_VMX_BASIC)"),
                        memoryAddress: c.vmcsLinkPointer))
            }
        },
        EntryRule(
            "guest.vmcs-link.shadow-indicator", "27.3.1.5", .guestState,
            "Bit 31 of the 4 bytes the VMCS link pointer references equals the \"VMCS shadowing\" control",
            qualification: EntryFailureQualification.vmcsLinkPointer
        ) { c, v in
            guard c.vmcsLinkPointer != ~0, c.pageAddressProblem(c.vmcsLinkPointer) == nil else { return }
            let header = c.readPhysical64(c.vmcsLinkPointer) & 0xFFFF_FFFF
            let shadowing = c.secondary.contains(.vmcsShadowing)
            if (header & 0x8000_0000 != 0) != shadowing {
                v.record(
                    EntryViolation(
                        field: .vmcsLinkPointer, value: header,
                        expected: shadowing
                            ? "bit 31 set (a shadow VMCS: VMCS shadowing is 1)"
                            : "bit 31 clear (not a shadow VMCS: VMCS shadowing is 0)",
                        memoryAddress: c.vmcsLinkPointer))
            }
        },
        EntryRule(
            "guest.vmcs-link.not-current-vmcs", "27.3.1.5", .guestState,
            "Outside SMM (or with \"entry to SMM\"), the VMCS link pointer is not the current-VMCS pointer",
            qualification: EntryFailureQualification.vmcsLinkPointer
        ) { c, v in
            guard c.vmcsLinkPointer != ~0, !c.processorInSMM || c.entryControls.contains(.entryToSMM) else { return }
            if c.vmcsLinkPointer == c.currentVMCSPointer {
                v.record(
                    field: .vmcsLinkPointer, value: c.vmcsLinkPointer,
                    expected: String(text: "not the current-VMCS pointer \(hex: c.currentVMCSPointer)"))
            }
        },
        EntryRule(
            "guest.vmcs-link.not-executive-vmcs", "27.3.1.5", .guestState,
            "In SMM with \"entry to SMM\" 0, the VMCS link pointer differs from the executive-VMCS pointer",
            qualification: EntryFailureQualification.vmcsLinkPointer
        ) { c, v in
            guard c.vmcsLinkPointer != ~0, c.processorInSMM, !c.entryControls.contains(.entryToSMM) else { return }
            if c.vmcsLinkPointer == c.executiveVMCSPointer {
                v.record(
                    field: .vmcsLinkPointer, value: c.vmcsLinkPointer,
                    expected: String(text: "not the executive-VMCS pointer \(hex: c.executiveVMCSPointer)"))
            }
        }
    ]
}

extension EntryRule {
    /// SDM 27.3.1.5: the BS checks apply if blocking by STI or by MOV SS is indicated or the
    /// activity state is HLT.
    static func pendingDebugSingleStepChecksApply(_ c: EntryCheckContext) -> Bool {
        c.guestInterruptibility & (GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS) != 0
            || c.guestActivityState == GuestActivityState.hlt
    }
}
