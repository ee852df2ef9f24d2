// SDM 27.3.1.1 "Checks on Guest Control Registers, Debug Registers, and MSRs".
// Failure: VM exit with reason 33 (invalid guest state), exit qualification 0.

extension EntryRules {
    static let guestControlRegistersAndMSRs: [EntryRule] = [
        EntryRule(
            "guest.cr0.fixed", "27.3.1.1", .guestState,
            """
            The guest CR0 field sets no bit to a value not supported in VMX operation (PE and PG exempt with \
            \"unrestricted guest\"; NW and CD never checked)
            """
        ) { c, v in
            // NW (29) and CD (30) are never checked: VM entry does not change them (SDM
            // 27.3.1.1, 27.3.2.1).
            var exempt = ControlRegister0.nw.rawValue | ControlRegister0.cd.rawValue
            if c.unrestrictedGuest { exempt |= ControlRegister0.pe.rawValue | ControlRegister0.pg.rawValue }
            EntryRule.fixedBitViolation(
                c.guestCR0, c.capabilities.cr0Fixed, exempt: exempt, register: "CR0",
                names: ControlRegister0.self, field: .guestCR0, into: &v)
        },
        EntryRule(
            "guest.cr0.pg-needs-pe", "27.3.1.1", .guestState,
            "If guest CR0.PG (bit 31) is 1, guest CR0.PE (bit 0) is 1"
        ) { c, v in
            if c.guestCR0PG && !c.guestCR0PE {
                v.record(field: .guestCR0, value: c.guestCR0, expected: "CR0.PE set (CR0.PG is 1)")
            }
        },
        EntryRule(
            "guest.cr4.fixed", "27.3.1.1", .guestState,
            "The guest CR4 field sets no bit to a value not supported in VMX operation (IA32_VMX_CR4_FIXED0/1)"
        ) { c, v in
            EntryRule.fixedBitViolation(
                c.guestCR4, c.capabilities.cr4Fixed, register: "CR4",
                names: ControlRegister4.self, field: .guestCR4, into: &v)
        },
        EntryRule(
            "guest.cr4.cet-needs-wp", "27.3.1.1", .guestState,
            "If guest CR4.CET (bit 23) is 1, guest CR0.WP (bit 16) is 1"
        ) { c, v in
            if c.guestCR4 & ControlRegister4.cet.rawValue != 0 && c.guestCR0 & ControlRegister0.wp.rawValue == 0 {
                v.record(field: .guestCR0, value: c.guestCR0, expected: "CR0.WP set (guest CR4.CET is 1)")
            }
        },
        EntryRule(
            "guest.debugctl.reserved", "27.3.1.1", .guestState,
            "If \"load debug controls\" is 1, the guest IA32_DEBUGCTL field sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadDebugControls) else { return }
            EntryRule.reservedBitsViolation(
                c.guestDebugCtl, valid: c.features.debugCtlValidBits, field: .guestIA32DebugCtl, into: &v)
        },
        EntryRule(
            "guest.ia32e-mode.paging", "27.3.1.1", .guestState,
            "If \"IA-32e mode guest\" is 1, guest CR0.PG and CR4.PAE are 1"
        ) { c, v in
            guard c.ia32eModeGuest else { return }
            if !c.guestCR0PG {
                v.record(field: .guestCR0, value: c.guestCR0, expected: "CR0.PG set (IA-32e mode guest is 1)")
            }
            if c.guestCR4 & ControlRegister4.pae.rawValue == 0 {
                v.record(field: .guestCR4, value: c.guestCR4, expected: "CR4.PAE set (IA-32e mode guest is 1)")
            }
        },
        EntryRule(
            "guest.cr4.pcide-needs-ia32e-mode", "27.3.1.1", .guestState,
            "If \"IA-32e mode guest\" is 0, guest CR4.PCIDE (bit 17) is 0"
        ) { c, v in
            if !c.ia32eModeGuest && c.guestCR4 & ControlRegister4.pcide.rawValue != 0 {
                v.record(field: .guestCR4, value: c.guestCR4, expected: "CR4.PCIDE clear (IA-32e mode guest is 0)")
            }
        },
        EntryRule(
            "guest.cr3.width", "27.3.1.1", .guestState,
            "The guest CR3 field sets no bit beyond the physical-address width"
        ) { c, v in
            if !c.fitsPhysicalAddressWidth(c.guestCR3) {
                v.record(
                    field: .guestCR3, value: c.guestCR3,
                    expected: EntryCheckContext.widthExpectation(c.physicalAddressWidth))
            }
        },
        EntryRule(
            "guest.dr7.upper-bits", "27.3.1.1", .guestState,
            "If \"load debug controls\" is 1, bits 63:32 of the guest DR7 field are 0"
        ) { c, v in
            if c.entryControls.contains(.loadDebugControls) && c.guestDR7 >> 32 != 0 {
                v.record(field: .guestDR7, value: c.guestDR7, expected: "bits 63:32 clear")
            }
        },
        EntryRule(
            "guest.sysenter-esp.canonical", "27.3.1.1", .guestState,
            "The guest IA32_SYSENTER_ESP field holds a canonical address"
        ) { c, v in
            if !c.isCanonical(c.guestSysenterESP) {
                v.record(field: .guestIA32SysenterESP, value: c.guestSysenterESP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.sysenter-eip.canonical", "27.3.1.1", .guestState,
            "The guest IA32_SYSENTER_EIP field holds a canonical address"
        ) { c, v in
            if !c.isCanonical(c.guestSysenterEIP) {
                v.record(field: .guestIA32SysenterEIP, value: c.guestSysenterEIP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.cet.s-cet", "27.3.1.1", .guestState,
            "If \"load CET state\" is 1, the guest IA32_S_CET field is canonical and sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadCETState) else { return }
            if let problem = EntryRule.sCETProblem(c.guestSCET, c) {
                v.record(field: .guestIA32SCET, value: c.guestSCET, expected: problem)
            }
        },
        EntryRule(
            "guest.cet.ssp.alignment", "27.3.1.1", .guestState,
            "If \"load CET state\" is 1, bits 1:0 of the guest SSP field are 0"
        ) { c, v in
            if c.entryControls.contains(.loadCETState) && c.guestSSP & 3 != 0 {
                v.record(field: .guestSSP, value: c.guestSSP, expected: "bits 1:0 clear (4-byte aligned)")
            }
        },
        EntryRule(
            "guest.cet.interrupt-ssp-table.canonical", "27.3.1.1", .guestState,
            "If \"load CET state\" is 1, the guest IA32_INTERRUPT_SSP_TABLE_ADDR field is canonical"
        ) { c, v in
            if c.entryControls.contains(.loadCETState) && !c.isCanonical(c.guestInterruptSSPTableAddress) {
                v.record(
                    field: .guestIA32InterruptSSPTableAddr, value: c.guestInterruptSSPTableAddress,
                    expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.perf-global-ctrl.reserved", "27.3.1.1", .guestState,
            "If \"load IA32_PERF_GLOBAL_CTRL\" is 1, the guest IA32_PERF_GLOBAL_CTRL field sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadIA32PerfGlobalCtrl) else { return }
            EntryRule.reservedBitsViolation(
                c.guestPerfGlobalCtrl, valid: c.features.perfGlobalCtrlValidBits, field: .guestIA32PerfGlobalCtrl,
                into: &v)
        },
        EntryRule(
            "guest.pat.memory-types", "27.3.1.1", .guestState,
            "If \"load IA32_PAT\" is 1, each byte of the guest IA32_PAT field is 0, 1, 4, 5, 6 or 7"
        ) { c, v in
            if c.entryControls.contains(.loadIA32PAT), let problem = EntryRule.patProblem(c.guestPAT) {
                v.record(field: .guestIA32PAT, value: c.guestPAT, expected: problem)
            }
        },
        EntryRule(
            "guest.efer.reserved", "27.3.1.1", .guestState,
            "If \"load IA32_EFER\" is 1, the guest IA32_EFER field sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadIA32EFER) else { return }
            EntryRule.reservedBitsViolation(
                c.guestEFER, valid: c.features.eferValidBits, field: .guestIA32EFER, into: &v)
        },
        EntryRule(
            "guest.efer.lma", "27.3.1.1", .guestState,
            "If \"load IA32_EFER\" is 1, guest IA32_EFER.LMA (bit 10) equals \"IA-32e mode guest\""
        ) { c, v in
            guard c.entryControls.contains(.loadIA32EFER) else { return }
            if (c.guestEFER & (1 << 10) != 0) != c.ia32eModeGuest {
                v.record(
                    field: .guestIA32EFER, value: c.guestEFER,
                    expected: "LMA (bit 10) = " + (c.ia32eModeGuest ? "1" : "0") + " (IA-32e mode guest)")
            }
        },
        EntryRule(
            "guest.efer.lme", "27.3.1.1", .guestState,
            "If \"load IA32_EFER\" is 1 and guest CR0.PG is 1, guest IA32_EFER.LME (bit 8) equals LMA (bit 10)"
        ) { c, v in
            guard c.entryControls.contains(.loadIA32EFER), c.guestCR0PG else { return }
            let lma = c.guestEFER & (1 << 10) != 0
            if (c.guestEFER & (1 << 8) != 0) != lma {
                v.record(
                    field: .guestIA32EFER, value: c.guestEFER,
                    expected: "LME (bit 8) = LMA (bit 10) = " + (lma ? "1" : "0") + " (CR0.PG is 1)")
            }
        },
        EntryRule(
            "guest.bndcfgs.reserved", "27.3.1.1", .guestState,
            "If \"load IA32_BNDCFGS\" is 1, reserved bits 11:2 of the guest IA32_BNDCFGS field are 0"
        ) { c, v in
            if c.entryControls.contains(.loadIA32BNDCFGS) && c.guestBNDCFGS & 0xFFC != 0 {
                v.record(field: .guestIA32BNDCFGS, value: c.guestBNDCFGS, expected: "bits 11:2 clear")
            }
        },
        EntryRule(
            "guest.bndcfgs.canonical", "27.3.1.1", .guestState,
            """
            If \"load IA32_BNDCFGS\" is 1, the linear address in bits 63:12 of the guest IA32_BNDCFGS field is \
            canonical
            """
        ) { c, v in
            if c.entryControls.contains(.loadIA32BNDCFGS) && !c.isCanonical(c.guestBNDCFGS & ~0xFFF) {
                v.record(
                    field: .guestIA32BNDCFGS, value: c.guestBNDCFGS,
                    expected: "bits 63:12 " + c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.rtit-ctl.reserved", "27.3.1.1", .guestState,
            "If \"load IA32_RTIT_CTL\" is 1, the guest IA32_RTIT_CTL field sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadIA32RTITCtl) else { return }
            EntryRule.reservedBitsViolation(
                c.guestRTITCtl, valid: c.features.rtitCtlValidBits, field: .guestIA32RTITCtl, into: &v)
        },
        EntryRule(
            "guest.lbr-ctl.reserved", "27.3.1.1", .guestState,
            "If \"load guest IA32_LBR_CTL\" is 1, the guest IA32_LBR_CTL field sets no reserved bit"
        ) { c, v in
            guard c.entryControls.contains(.loadGuestIA32LBRCtl) else { return }
            EntryRule.reservedBitsViolation(
                c.guestLBRCtl, valid: c.features.lbrCtlValidBits, field: .guestIA32LBRCtl, into: &v)
        },
        EntryRule(
            "guest.pkrs.reserved", "27.3.1.1", .guestState,
            "If \"load PKRS\" is 1, bits 63:32 of the guest IA32_PKRS field are 0"
        ) { c, v in
            if c.entryControls.contains(.loadPKRS) && c.guestPKRS >> 32 != 0 {
                v.record(field: .guestIA32PKRS, value: c.guestPKRS, expected: "bits 63:32 clear")
            }
        },
        EntryRule(
            "guest.uinv.reserved", "27.3.1.1", .guestState,
            "If \"load UINV\" is 1, bits 15:8 of the guest UINV field are 0"
        ) { c, v in
            if c.entryControls.contains(.loadUINV) && c.guestUINV & 0xFF00 != 0 {
                v.record(field: .guestUINV, value: c.guestUINV, expected: "bits 15:8 clear")
            }
        }
    ]
}
