// SDM 27.2.2 "Checks on Host Control Registers, MSRs, and SSP", 27.2.3 "Checks on Host Segment
// and Descriptor-Table Registers" and 27.2.4 "Checks Related to Address-Space Size".
// Failure: VMfailValid(8).

extension EntryRules {
    static let hostControlRegistersAndMSRs: [EntryRule] = [
        EntryRule(
            "host.cr0.fixed", "27.2.2", .hostState,
            "The host CR0 field sets no bit to a value not supported in VMX operation (IA32_VMX_CR0_FIXED0/1)"
        ) { c, v in
            EntryRule.fixedBitViolation(
                c.hostCR0, c.capabilities.cr0Fixed, register: "CR0",
                names: ControlRegister0.self, field: .hostCR0, into: &v)
        },
        EntryRule(
            "host.cr4.fixed", "27.2.2", .hostState,
            "The host CR4 field sets no bit to a value not supported in VMX operation (IA32_VMX_CR4_FIXED0/1)"
        ) { c, v in
            EntryRule.fixedBitViolation(
                c.hostCR4, c.capabilities.cr4Fixed, register: "CR4",
                names: ControlRegister4.self, field: .hostCR4, into: &v)
        },
        EntryRule(
            "host.cr4.cet-needs-wp", "27.2.2", .hostState,
            "If host CR4.CET (bit 23) is 1, host CR0.WP (bit 16) is 1"
        ) { c, v in
            if c.hostCR4 & ControlRegister4.cet.rawValue != 0 && c.hostCR0 & ControlRegister0.wp.rawValue == 0 {
                v.record(field: .hostCR0, value: c.hostCR0, expected: "CR0.WP set (host CR4.CET is 1)")
            }
        },
        EntryRule(
            "host.cr3.width", "27.2.2", .hostState,
            "The host CR3 field sets no bit beyond the physical-address width"
        ) { c, v in
            if !c.fitsPhysicalAddressWidth(c.hostCR3) {
                v.record(
                    field: .hostCR3, value: c.hostCR3,
                    expected: EntryCheckContext.widthExpectation(c.physicalAddressWidth))
            }
        },
        EntryRule(
            "host.sysenter-esp.canonical", "27.2.2", .hostState,
            "The host IA32_SYSENTER_ESP field holds a canonical address"
        ) { c, v in
            if !c.isCanonical(c.hostSysenterESP) {
                v.record(field: .hostIA32SysenterESP, value: c.hostSysenterESP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "host.sysenter-eip.canonical", "27.2.2", .hostState,
            "The host IA32_SYSENTER_EIP field holds a canonical address"
        ) { c, v in
            if !c.isCanonical(c.hostSysenterEIP) {
                v.record(field: .hostIA32SysenterEIP, value: c.hostSysenterEIP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "host.cet.s-cet", "27.2.2", .hostState,
            "If \"load CET state\" is 1, the host IA32_S_CET field is canonical and sets no reserved bit"
        ) { c, v in
            guard c.exitControls.contains(.loadCETState) else { return }
            if let problem = EntryRule.sCETProblem(c.hostSCET, c) {
                v.record(field: .hostIA32SCET, value: c.hostSCET, expected: problem)
            }
        },
        EntryRule(
            "host.cet.ssp.alignment", "27.2.2", .hostState,
            "If \"load CET state\" is 1, bits 1:0 of the host SSP field are 0"
        ) { c, v in
            if c.exitControls.contains(.loadCETState) && c.hostSSP & 3 != 0 {
                v.record(field: .hostSSP, value: c.hostSSP, expected: "bits 1:0 clear (4-byte aligned)")
            }
        },
        EntryRule(
            "host.cet.interrupt-ssp-table.canonical", "27.2.2", .hostState,
            "If \"load CET state\" is 1, the host IA32_INTERRUPT_SSP_TABLE_ADDR field is canonical"
        ) { c, v in
            if c.exitControls.contains(.loadCETState) && !c.isCanonical(c.hostInterruptSSPTableAddress) {
                v.record(
                    field: .hostIA32InterruptSSPTableAddr, value: c.hostInterruptSSPTableAddress,
                    expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "host.perf-global-ctrl.reserved", "27.2.2", .hostState,
            "If \"load IA32_PERF_GLOBAL_CTRL\" is 1, the host IA32_PERF_GLOBAL_CTRL field sets no reserved bit"
        ) { c, v in
            guard c.exitControls.contains(.loadIA32PerfGlobalCtrl) else { return }
            EntryRule.reservedBitsViolation(
                c.hostPerfGlobalCtrl, valid: c.features.perfGlobalCtrlValidBits, field: .hostIA32PerfGlobalCtrl,
                into: &v)
        },
        EntryRule(
            "host.pat.memory-types", "27.2.2", .hostState,
            "If \"load IA32_PAT\" is 1, each byte of the host IA32_PAT field is 0, 1, 4, 5, 6 or 7"
        ) { c, v in
            if c.exitControls.contains(.loadIA32PAT), let problem = EntryRule.patProblem(c.hostPAT) {
                v.record(field: .hostIA32PAT, value: c.hostPAT, expected: problem)
            }
        },
        EntryRule(
            "host.efer.reserved", "27.2.2", .hostState,
            "If \"load IA32_EFER\" is 1, the host IA32_EFER field sets no reserved bit"
        ) { c, v in
            guard c.exitControls.contains(.loadIA32EFER) else { return }
            EntryRule.reservedBitsViolation(c.hostEFER, valid: c.features.eferValidBits, field: .hostIA32EFER, into: &v)
        },
        EntryRule(
            "host.efer.lma-lme", "27.2.2", .hostState,
            "If \"load IA32_EFER\" is 1, host IA32_EFER.LMA and LME each equal \"host address-space size\""
        ) { c, v in
            guard c.exitControls.contains(.loadIA32EFER) else { return }
            let lma = c.hostEFER & (1 << 10) != 0
            let lme = c.hostEFER & (1 << 8) != 0
            if lma != c.hostAddressSpaceSize || lme != c.hostAddressSpaceSize {
                let bit = c.hostAddressSpaceSize ? "1" : "0"
                v.record(
                    field: .hostIA32EFER, value: c.hostEFER,
                    expected: "LMA (bit 10) and LME (bit 8) = " + bit + " (host address-space size)")
            }
        },
        EntryRule(
            "host.pkrs.reserved", "27.2.2", .hostState,
            "If \"load PKRS\" is 1, bits 63:32 of the host IA32_PKRS field are 0"
        ) { c, v in
            if c.exitControls.contains(.loadPKRS) && c.hostPKRS >> 32 != 0 {
                v.record(field: .hostIA32PKRS, value: c.hostPKRS, expected: "bits 63:32 clear")
            }
        }
    ]

    static let hostSegmentRegisters: [EntryRule] = [
        EntryRule(
            "host.selectors.rpl-ti", "27.2.3", .hostState,
            "The host selector fields of CS, SS, DS, ES, FS, GS and TR have RPL (bits 1:0) and TI (bit 2) 0"
        ) { c, v in
            func check(_ field: VMCSField, _ selector: UInt64) {
                if selector & 7 != 0 {
                    v.record(field: field, value: selector, expected: "bits 2:0 clear (RPL 0, TI 0)")
                }
            }
            check(.hostCSSelector, c.hostCSSelector)
            check(.hostSSSelector, c.hostSSSelector)
            check(.hostDSSelector, c.hostDSSelector)
            check(.hostESSelector, c.hostESSelector)
            check(.hostFSSelector, c.hostFSSelector)
            check(.hostGSSelector, c.hostGSSelector)
            check(.hostTRSelector, c.hostTRSelector)
        },
        EntryRule("host.cs.nonzero", "27.2.3", .hostState, "The host CS selector is not 0000H") { c, v in
            if c.hostCSSelector & 0xFFFF == 0 {
                v.record(field: .hostCSSelector, value: c.hostCSSelector, expected: "not 0000H")
            }
        },
        EntryRule("host.tr.nonzero", "27.2.3", .hostState, "The host TR selector is not 0000H") { c, v in
            if c.hostTRSelector & 0xFFFF == 0 {
                v.record(field: .hostTRSelector, value: c.hostTRSelector, expected: "not 0000H")
            }
        },
        EntryRule(
            "host.ss.nonzero-unless-64-bit-host", "27.2.3", .hostState,
            "The host SS selector is not 0000H if \"host address-space size\" is 0"
        ) { c, v in
            if !c.hostAddressSpaceSize && c.hostSSSelector & 0xFFFF == 0 {
                v.record(
                    field: .hostSSSelector, value: c.hostSSSelector,
                    expected: "not 0000H (host address-space size is 0)")
            }
        },
        EntryRule(
            "host.bases.canonical", "27.2.3", .hostState,
            "The host FS, GS, GDTR, IDTR and TR base-address fields hold canonical addresses"
        ) { c, v in
            func check(_ field: VMCSField, _ base: UInt64) {
                if !c.isCanonical(base) { v.record(field: field, value: base, expected: c.canonicalExpectation) }
            }
            check(.hostFSBase, c.hostFSBase)
            check(.hostGSBase, c.hostGSBase)
            check(.hostGDTRBase, c.hostGDTRBase)
            check(.hostIDTRBase, c.hostIDTRBase)
            check(.hostTRBase, c.hostTRBase)
        }
    ]

    static let hostAddressSpaceSize: [EntryRule] = [
        EntryRule(
            "host.address-space.outside-ia32e-mode", "27.2.4", .hostState,
            "Outside IA-32e mode (IA32_EFER.LMA = 0), \"IA-32e mode guest\" and \"host address-space size\" are 0"
        ) { c, v in
            guard !c.processorInIA32eMode else { return }
            if c.ia32eModeGuest {
                v.record(
                    field: .vmEntryControls, value: c.entryControls.mask,
                    expected: "IA-32e mode guest clear (processor outside IA-32e mode)")
            }
            if c.hostAddressSpaceSize {
                v.record(
                    field: .primaryVMExitControls, value: c.exitControls.mask,
                    expected: "Host address-space size clear (processor outside IA-32e mode)")
            }
        },
        EntryRule(
            "host.address-space.inside-ia32e-mode", "27.2.4", .hostState,
            "In IA-32e mode (IA32_EFER.LMA = 1), \"host address-space size\" is 1"
        ) { c, v in
            if c.processorInIA32eMode && !c.hostAddressSpaceSize {
                v.record(
                    field: .primaryVMExitControls, value: c.exitControls.mask,
                    expected: "Host address-space size set (processor in IA-32e mode)")
            }
        },
        EntryRule(
            "host.address-space.32-bit-host-no-ia32e-guest", "27.2.4", .hostState,
            "If \"host address-space size\" is 0, \"IA-32e mode guest\" is 0"
        ) { c, v in
            if !c.hostAddressSpaceSize && c.ia32eModeGuest {
                v.record(
                    field: .vmEntryControls, value: c.entryControls.mask,
                    expected: "IA-32e mode guest clear (host address-space size is 0)")
            }
        },
        EntryRule(
            "host.address-space.32-bit-host-pcide", "27.2.4", .hostState,
            "If \"host address-space size\" is 0, host CR4.PCIDE (bit 17) is 0"
        ) { c, v in
            if !c.hostAddressSpaceSize && c.hostCR4 & ControlRegister4.pcide.rawValue != 0 {
                v.record(field: .hostCR4, value: c.hostCR4, expected: "CR4.PCIDE clear (host address-space size is 0)")
            }
        },
        EntryRule(
            "host.address-space.32-bit-host-rip", "27.2.4", .hostState,
            "If \"host address-space size\" is 0, bits 63:32 of the host RIP field are 0"
        ) { c, v in
            if !c.hostAddressSpaceSize && c.hostRIP >> 32 != 0 {
                v.record(field: .hostRIP, value: c.hostRIP, expected: "bits 63:32 clear (host address-space size is 0)")
            }
        },
        EntryRule(
            "host.address-space.32-bit-host-ssp", "27.2.4", .hostState,
            "If \"host address-space size\" is 0 and \"load CET state\" is 1, bits 63:32 of the host SSP field are 0"
        ) { c, v in
            if !c.hostAddressSpaceSize && c.exitControls.contains(.loadCETState) && c.hostSSP >> 32 != 0 {
                v.record(field: .hostSSP, value: c.hostSSP, expected: "bits 63:32 clear (host address-space size is 0)")
            }
        },
        EntryRule(
            "host.address-space.64-bit-host-pae", "27.2.4", .hostState,
            "If \"host address-space size\" is 1, host CR4.PAE (bit 5) is 1"
        ) { c, v in
            if c.hostAddressSpaceSize && c.hostCR4 & ControlRegister4.pae.rawValue == 0 {
                v.record(field: .hostCR4, value: c.hostCR4, expected: "CR4.PAE set (host address-space size is 1)")
            }
        },
        EntryRule(
            "host.address-space.64-bit-host-rip", "27.2.4", .hostState,
            "If \"host address-space size\" is 1, the host RIP field holds a canonical address"
        ) { c, v in
            if c.hostAddressSpaceSize && !c.isCanonical(c.hostRIP) {
                v.record(field: .hostRIP, value: c.hostRIP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "host.address-space.64-bit-host-ssp", "27.2.4", .hostState,
            """
            If \"host address-space size\" is 1 and \"load CET state\" is 1, the host SSP field holds a canonical \
            address
            """
        ) { c, v in
            if c.hostAddressSpaceSize && c.exitControls.contains(.loadCETState) && !c.isCanonical(c.hostSSP) {
                v.record(field: .hostSSP, value: c.hostSSP, expected: c.canonicalExpectation)
            }
        }
    ]
}

extension EntryRule {
    /// What is wrong with an IA32_PAT value, or nil: every byte must be a memory type WRMSR
    /// accepts, 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB) or 7 (UC-) (SDM 27.2.2, 27.3.1.1).
    static func patProblem(_ pat: UInt64) -> String? {
        for index in 0..<8 {
            let type = (pat >> UInt64(index * 8)) & 0xFF
            if type == 2 || type == 3 || type > 7 {
                return String(text: "byte \(index) (now \(hex: type, digits: 2)) one of 0, 1, 4, 5, 6, 7")
            }
        }
        return nil
    }

    /// What is wrong with an IA32_S_CET value, or nil: reserved bits 9:6 clear, SUPPRESS
    /// (bit 10) and TRACKER (bit 11) not both set, and the legacy-bitmap base (bits 63:12)
    /// canonical - the values WRMSR accepts (SDM Vol. 1 17.2.3, 27.2.2, 27.3.1.1).
    static func sCETProblem(_ value: UInt64, _ c: EntryCheckContext) -> String? {
        if value & 0x3C0 != 0 { return "bits 9:6 clear (reserved)" }
        if value & 0xC00 == 0xC00 { return "SUPPRESS (bit 10) and TRACKER (bit 11) not both set" }
        if !c.isCanonical(value & ~0xFFF) { return c.canonicalExpectation }
        return nil
    }
}
