// One test per way of breaking each check on the guest-state area (SDM 27.3.1): each must
// fail VM entry with basic exit reason 33 and the exact exit qualification, and be reported
// first.
import Testing
@testable import VMX

extension EntryCheckCase {
    static let guestRegisters: [EntryCheckCase] = [
        // 27.3.1.1
        .init("guest.cr0.fixed", "CR0.NE cleared", guest()) { $0.clear(.guestCR0, bits: 1 << 5) },
        .init("guest.cr0.fixed", "bit 32 set", guest()) { $0.set(.guestCR0, bits: 1 << 32) },
        .init("guest.cr0.fixed", "CR0.PE cleared without unrestricted guest", guest()) {
            $0.disableEPT()
            $0.makeRealModeGuest()
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
        },
        .init("guest.cr0.pg-needs-pe", "PG without PE under unrestricted guest", guest()) {
            $0.clear(.guestCR0, bits: 1 << 0)
        },
        .init("guest.cr4.fixed", "CR4.VMXE cleared", guest()) { $0.clear(.guestCR4, bits: 1 << 13) },
        .init("guest.cr4.fixed", "bit 15 set", guest()) { $0.set(.guestCR4, bits: 1 << 15) },
        .init("guest.cr4.cet-needs-wp", "CR4.CET with CR0.WP clear", guest()) {
            $0.set(.guestCR4, bits: 1 << 23)
            $0.clear(.guestCR0, bits: 1 << 16)
        },
        .init("guest.debugctl.reserved", "bit 2 set", guest()) { $0[.guestIA32DebugCtl] = 1 << 2 },
        .init("guest.ia32e-mode.paging", "CR0.PG clear", guest()) { $0.clear(.guestCR0, bits: 1 << 31) },
        .init("guest.ia32e-mode.paging", "CR4.PAE clear", guest()) { $0.clear(.guestCR4, bits: 1 << 5) },
        .init("guest.cr4.pcide-needs-ia32e-mode", "PCIDE in a 32-bit guest", guest()) {
            $0.make32BitGuest()
            $0.set(.guestCR4, bits: 1 << 17)
        },
        .init("guest.cr3.width", "bit 39 set", guest()) { $0[.guestCR3] = 1 << 39 | 0x2000 },
        .init("guest.dr7.upper-bits", "bit 32 set", guest()) { $0[.guestDR7] = 1 << 32 | 0x400 },
        .init("guest.sysenter-esp.canonical", "non-canonical", guest()) {
            $0[.guestIA32SysenterESP] = 0x0000_8000_0000_0000
        },
        .init("guest.sysenter-eip.canonical", "non-canonical", guest()) {
            $0[.guestIA32SysenterEIP] = 0x8000_0000_0000_0000
        },
        .init("guest.cet.s-cet", "reserved bit 7", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 20)
            $0[.guestIA32SCET] = 1 << 7
        },
        .init("guest.cet.ssp.alignment", "SSP bit 1", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 20)
            $0[.guestSSP] = 0x2002
        },
        .init("guest.cet.interrupt-ssp-table.canonical", "non-canonical", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 20)
            $0[.guestIA32InterruptSSPTableAddr] = 0x0000_8000_0000_0000
        },
        .init("guest.perf-global-ctrl.reserved", "bit 5 set", guest()) { $0[.guestIA32PerfGlobalCtrl] = 1 << 5 },
        .init("guest.pat.memory-types", "byte 0 = 3", guest()) { $0[.guestIA32PAT] = 0x0007_0406_0007_0403 },
        .init("guest.efer.reserved", "bit 2 set", guest()) { $0.set(.guestIA32EFER, bits: 1 << 2) },
        .init("guest.efer.lma", "LMA clear in an IA-32e guest", guest()) { $0[.guestIA32EFER] = 0x001 },
        .init("guest.efer.lme", "LME clear with LMA and CR0.PG", guest()) { $0[.guestIA32EFER] = 0x401 },
        .init("guest.bndcfgs.reserved", "bit 2 set", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 16)
            $0[.guestIA32BNDCFGS] = 1 << 2
        },
        .init("guest.bndcfgs.canonical", "base non-canonical", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 16)
            $0[.guestIA32BNDCFGS] = 0x0000_8000_0000_0001
        },
        .init("guest.rtit-ctl.reserved", "bit 4 set", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 18)
            $0[.guestIA32RTITCtl] = 1 << 4
        },
        .init("guest.lbr-ctl.reserved", "bit 10 set", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 21)
            $0[.guestIA32LBRCtl] = 1 << 10
        },
        .init("guest.pkrs.reserved", "bit 32 set", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 22)
            $0[.guestIA32PKRS] = 1 << 32
        },
        .init("guest.uinv.reserved", "bit 8 set", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 19)
            $0[.guestUINV] = 0x1F0
        }
    ]

    static let guestSegments: [EntryCheckCase] = [
        // 27.3.1.2: selectors
        .init("guest.tr.selector-ti", "TI set", guest()) { $0[.guestTRSelector] = 0x1C },
        .init("guest.ldtr.selector-ti", "usable LDTR with TI set", guest()) {
            $0[.guestLDTRSelector] = 0x2C
            $0[.guestLDTRAccessRights] = 0x82
        },
        .init("guest.ss.rpl-equals-cs-rpl", "SS.RPL 3, CS.RPL 0", guest()) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
            $0[.guestSSSelector] = 0x13
            $0[.guestSSAccessRights] = 0xC0F3
            $0[.guestCSAccessRights] = 0xA0FB
        },
        // bases
        .init("guest.v8086.base", "DS base not selector << 4", guest()) {
            $0.makeVirtual8086Guest()
            $0[.guestDSBase] = 0x1301
        },
        .init("guest.segment-base.canonical", "FS base non-canonical", guest()) {
            $0[.guestFSBase] = 0x0000_8000_0000_0000
        },
        .init("guest.segment-base.canonical", "TR base non-canonical", guest()) {
            $0[.guestTRBase] = 0x1000_0000_0000_0000
        },
        .init("guest.segment-base.canonical", "usable LDTR base non-canonical", guest()) {
            $0[.guestLDTRAccessRights] = 0x82
            $0[.guestLDTRBase] = 0x0000_8000_0000_0000
        },
        .init("guest.segment-base.upper-bits", "CS base bit 32", guest()) { $0[.guestCSBase] = 1 << 32 },
        .init("guest.segment-base.upper-bits", "DS base bit 40", guest()) { $0[.guestDSBase] = 1 << 40 },
        // limits
        .init("guest.v8086.limit", "ES limit FFFEH", guest()) {
            $0.makeVirtual8086Guest()
            $0[.guestESLimit] = 0xFFFE
        },
        // access rights
        .init("guest.v8086.access-rights", "SS access rights F2H", guest()) {
            $0.makeVirtual8086Guest()
            $0[.guestSSAccessRights] = 0xF2
        },
        .init("guest.cs.type", "type 10 (not accessed)", guest()) { $0[.guestCSAccessRights] = 0xA09A },
        .init("guest.cs.type", "type 3 without unrestricted guest", guest()) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
            $0[.guestCSAccessRights] = 0xC093
        },
        .init("guest.ss.type", "type 11 (code)", guest()) { $0[.guestSSAccessRights] = 0xC09B },
        .init("guest.data-segments.accessed", "DS type 2", guest()) { $0[.guestDSAccessRights] = 0xC092 },
        .init("guest.data-segments.code-readable", "ES execute-only code", guest()) {
            $0[.guestESAccessRights] = 0xC099
        },
        .init("guest.segments.s", "FS system segment", guest()) { $0[.guestFSAccessRights] = 0xC083 },
        .init("guest.segments.s", "CS system segment", guest()) { $0[.guestCSAccessRights] = 0xA08B },
        .init("guest.cs.dpl", "non-conforming CS.DPL 3, SS.DPL 0", guest()) { $0[.guestCSAccessRights] = 0xA0FB },
        .init("guest.cs.dpl", "conforming CS.DPL 3 above SS.DPL 0", guest()) { $0[.guestCSAccessRights] = 0xA0FF },
        .init("guest.cs.dpl", "type 3 with DPL 1", guest()) {
            $0[.guestCSAccessRights] = 0xC0B3
            $0[.guestSSAccessRights] = 0xC093
        },
        .init("guest.ss.dpl-equals-rpl", "SS.DPL 3 with RPL 0", guest()) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
            $0[.guestSSAccessRights] = 0xC0F3
            $0[.guestCSAccessRights] = 0xA0FB
        },
        .init("guest.ss.dpl-zero", "SS.DPL 3 with CS type 3", guest()) {
            $0[.guestCSAccessRights] = 0xC093
            $0[.guestSSAccessRights] = 0xC0F3
        },
        .init("guest.ss.dpl-zero", "SS.DPL 3 in real mode", guest()) {
            $0.makeRealModeGuest()
            $0[.guestSSAccessRights] = 0xF3
            $0[.guestCSAccessRights] = 0xFF  // conforming code, DPL 3 <= SS.DPL 3
        },
        .init("guest.data-segments.dpl", "DS.DPL 0 below RPL 3", guest()) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
            $0[.guestDSSelector] = 0x13
        },
        .init("guest.segments.present", "GS not present", guest()) { $0[.guestGSAccessRights] = 0xC013 },
        .init("guest.segments.present", "CS not present", guest()) { $0[.guestCSAccessRights] = 0xA01B },
        .init("guest.segments.reserved", "DS bit 8", guest()) { $0[.guestDSAccessRights] = 0xC193 },
        .init("guest.segments.reserved", "CS bit 17", guest()) { $0[.guestCSAccessRights] = 0x2_A09B },
        .init("guest.cs.db-with-l", "L and D/B both set", guest()) { $0[.guestCSAccessRights] = 0xE09B },
        .init("guest.segments.granularity", "G with limit bits 11:0 not all 1", guest()) { $0[.guestDSLimit] = 0x1000 },
        .init("guest.segments.granularity", "byte granularity with limit above 1 MiB", guest()) {
            $0[.guestSSLimit] = 0x10_0000
            $0[.guestSSAccessRights] = 0x4093
        },
        // TR
        .init("guest.tr.type", "16-bit busy TSS in an IA-32e guest", guest()) { $0[.guestTRAccessRights] = 0x83 },
        .init("guest.tr.type", "available TSS", guest()) { $0[.guestTRAccessRights] = 0x89 },
        .init("guest.tr.s", "S set", guest()) { $0[.guestTRAccessRights] = 0x9B },
        .init("guest.tr.present", "not present", guest()) { $0[.guestTRAccessRights] = 0x0B },
        .init("guest.tr.reserved", "bit 17", guest()) { $0[.guestTRAccessRights] = 0x2_008B },
        .init("guest.tr.granularity", "G with limit 67H", guest()) { $0[.guestTRAccessRights] = 0x808B },
        .init("guest.tr.usable", "unusable", guest()) { $0[.guestTRAccessRights] = 0x1_008B },
        // LDTR
        .init("guest.ldtr.type", "type 3", guest()) { $0[.guestLDTRAccessRights] = 0x83 },
        .init("guest.ldtr.s", "S set", guest()) { $0[.guestLDTRAccessRights] = 0x92 },
        .init("guest.ldtr.present", "not present", guest()) { $0[.guestLDTRAccessRights] = 0x02 },
        .init("guest.ldtr.reserved", "bit 9", guest()) { $0[.guestLDTRAccessRights] = 0x282 },
        .init("guest.ldtr.granularity", "G with limit 10H", guest()) {
            $0[.guestLDTRAccessRights] = 0x8082
            $0[.guestLDTRLimit] = 0x10
        },
        // 27.3.1.3
        .init("guest.gdtr-idtr.base", "GDTR base non-canonical", guest()) {
            $0[.guestGDTRBase] = 0x0000_8000_0000_0000
        },
        .init("guest.gdtr-idtr.limit", "IDTR limit 10000H", guest()) { $0[.guestIDTRLimit] = 0x1_0000 }
    ]

    static let guestRIPRFLAGSAndNonRegisterState: [EntryCheckCase] = [
        // 27.3.1.4
        .init("guest.rip.upper-bits", "RIP bit 32 in a 32-bit guest", guest()) {
            $0.make32BitGuest()
            $0[.guestRIP] = 1 << 32
        },
        .init("guest.rip.upper-bits", "RIP bit 32 in compatibility mode", guest()) {
            $0[.guestCSAccessRights] = 0xC09B
            $0[.guestRIP] = 1 << 32
        },
        .init("guest.rip.canonical", "RIP non-canonical in 64-bit mode", guest()) {
            $0[.guestRIP] = 0x0000_8000_0000_0000
        },
        .init("guest.rflags.reserved", "bit 22 set", guest()) { $0.set(.guestRFLAGS, bits: 1 << 22) },
        .init("guest.rflags.reserved", "bit 1 clear", guest()) { $0[.guestRFLAGS] = 0x200 },
        .init("guest.rflags.vm", "VM in real mode", guest()) {
            $0.makeVirtual8086Guest()
            $0[.guestCR0] = 0x30
            $0[.guestIA32EFER] = 0
        },
        .init(
            "guest.rflags.vm", "VM in an IA-32e guest", guest(),
            alsoFailing: ["guest.v8086.base", "guest.v8086.limit", "guest.v8086.access-rights"]
        ) {
            $0.set(.guestRFLAGS, bits: 1 << 17)
        },
        .init("guest.rflags.if-for-external-interrupt", "injecting an external interrupt with IF 0", guest()) {
            $0[.guestRFLAGS] = 0x2
            $0.inject(0x20, .externalInterrupt)
        },
        .init("guest.cet.ssp.address", "SSP non-canonical in 64-bit mode", guest()) {
            $0.set(.vmEntryControls, bits: 1 << 20)
            $0[.guestSSP] = 0x0000_8000_0000_0000
        },
        .init("guest.cet.ssp.address", "SSP bit 32 in a 32-bit guest", guest()) {
            $0.make32BitGuest()
            $0.set(.vmEntryControls, bits: 1 << 20)
            $0[.guestSSP] = 1 << 32
        },
        // 27.3.1.5: activity state
        .init("guest.activity-state.supported", "state 4", guest()) { $0[.guestActivityState] = 4 },
        .init("guest.activity-state.supported", "HLT not in IA32_VMX_MISC", guest()) {
            $0.capabilities.ia32VMXMisc &= ~(1 << 6)
            $0[.guestActivityState] = GuestActivityState.hlt
        },
        .init("guest.activity-state.hlt-needs-ss-dpl-0", "HLT with SS.DPL 3", guest()) {
            $0[.guestActivityState] = GuestActivityState.hlt
            $0[.guestSSAccessRights] = 0xC0F3
            $0[.guestCSAccessRights] = 0xA0FB
        },
        .init("guest.activity-state.active-when-blocking", "HLT with blocking by STI", guest()) {
            $0[.guestActivityState] = GuestActivityState.hlt
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySTI
        },
        .init("guest.activity-state.injection", "HLT with #GP injected", guest()) {
            $0[.guestActivityState] = GuestActivityState.hlt
            $0.inject(13, .hardwareException, errorCode: 0)
        },
        .init("guest.activity-state.injection", "shutdown with an external interrupt", guest()) {
            $0[.guestActivityState] = GuestActivityState.shutdown
            $0.inject(0x20, .externalInterrupt)
        },
        .init("guest.activity-state.injection", "wait-for-SIPI with an NMI", guest()) {
            $0[.guestActivityState] = GuestActivityState.waitForSIPI
            $0.inject(2, .nonMaskableInterrupt)
        },
        .init("guest.activity-state.no-wait-for-sipi-with-entry-to-smm", "wait-for-SIPI with entry to SMM", guest()) {
            $0.processorInSMM = true
            $0.set(.vmEntryControls, bits: 1 << 10)
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySMI
            $0[.guestActivityState] = GuestActivityState.waitForSIPI
        },
        // interruptibility state
        .init("guest.interruptibility.reserved", "bit 5", guest()) { $0[.guestInterruptibilityState] = 1 << 5 },
        .init("guest.interruptibility.sti-and-mov-ss", "both", guest()) { $0[.guestInterruptibilityState] = 3 },
        .init("guest.interruptibility.sti-needs-if", "STI with IF 0", guest()) {
            $0[.guestRFLAGS] = 0x2
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySTI
        },
        .init("guest.interruptibility.external-interrupt-injection", "external interrupt with MOV SS", guest()) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingByMovSS
            $0.inject(0x20, .externalInterrupt)
        },
        .init("guest.interruptibility.nmi-injection-mov-ss", "NMI with MOV SS", guest()) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingByMovSS
            $0.inject(2, .nonMaskableInterrupt)
        },
        .init("guest.interruptibility.smi-outside-smm", "SMI blocking outside SMM", guest()) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySMI
        },
        .init("guest.interruptibility.smi-with-entry-to-smm", "entry to SMM without SMI blocking", guest()) {
            $0.processorInSMM = true
            $0.set(.vmEntryControls, bits: 1 << 10)
        },
        .init("guest.interruptibility.nmi-injection-sti", "NMI with STI blocking", guest(3)) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySTI
            $0.inject(2, .nonMaskableInterrupt)
        },
        .init("guest.interruptibility.virtual-nmi-injection", "virtual NMI with NMI blocking", guest()) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingByNMI
            $0.inject(2, .nonMaskableInterrupt)
        },
        .init("guest.interruptibility.enclave", "enclave interruption with MOV SS", guest()) {
            $0[.guestInterruptibilityState] =
                GuestInterruptibility.enclaveInterruption | GuestInterruptibility.blockingByMovSS
        },
        .init("guest.interruptibility.enclave", "enclave interruption without SGX", guest()) {
            $0.features.supportsSGX = false
            $0[.guestInterruptibilityState] = GuestInterruptibility.enclaveInterruption
        },
        // pending debug exceptions
        .init("guest.pending-debug.reserved", "bit 4", guest()) { $0[.guestPendingDebugExceptions] = 1 << 4 },
        .init("guest.pending-debug.reserved", "bit 13", guest()) { $0[.guestPendingDebugExceptions] = 1 << 13 },
        .init("guest.pending-debug.bs-with-tf", "STI blocking, TF set, BS clear", guest()) {
            $0[.guestRFLAGS] = 0x302
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingBySTI
        },
        .init("guest.pending-debug.bs-without-tf", "MOV SS blocking, BS without TF", guest()) {
            $0[.guestInterruptibilityState] = GuestInterruptibility.blockingByMovSS
            $0[.guestPendingDebugExceptions] = GuestPendingDebugExceptions.bs
        },
        .init("guest.pending-debug.bs-without-tf", "HLT, TF with BTF, BS set", guest()) {
            $0[.guestActivityState] = GuestActivityState.hlt
            $0[.guestRFLAGS] = 0x302
            $0[.guestIA32DebugCtl] = 2
            $0[.guestPendingDebugExceptions] = GuestPendingDebugExceptions.bs
        },
        .init("guest.pending-debug.rtm", "RTM without bit 12", guest()) {
            $0[.guestPendingDebugExceptions] = GuestPendingDebugExceptions.rtm
        },
        .init("guest.pending-debug.rtm", "RTM without RTM support", guest()) {
            $0.features.supportsRTM = false
            $0[.guestPendingDebugExceptions] =
                GuestPendingDebugExceptions.rtm | GuestPendingDebugExceptions.enabledBreakpoint
        },
        // VMCS link pointer
        .init("guest.vmcs-link.address", "not 4-KByte aligned", guest(4)) { $0[.vmcsLinkPointer] = 0x40008 },
        .init("guest.vmcs-link.address", "beyond the physical-address width", guest(4)) {
            $0[.vmcsLinkPointer] = 1 << 39
        },
        .init("guest.vmcs-link.revision", "wrong revision identifier", guest(4)) {
            $0[.vmcsLinkPointer] = 0x40000
            $0.poke(0x40000, 0x8000_0013)
        },
        .init("guest.vmcs-link.shadow-indicator", "not a shadow VMCS while shadowing", guest(4)) {
            $0[.vmcsLinkPointer] = 0x40000
            $0.poke(0x40000, 0x12)
        },
        .init("guest.vmcs-link.shadow-indicator", "a shadow VMCS without shadowing", guest(4)) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 14)
            $0[.vmcsLinkPointer] = 0x40000
            $0.poke(0x40000, 0x8000_0012)
        },
        .init("guest.vmcs-link.not-current-vmcs", "link pointer = current VMCS", guest(4)) {
            $0[.vmcsLinkPointer] = EntryCheckFixture.currentVMCS
            $0.poke(EntryCheckFixture.currentVMCS, 0x8000_0012)
        },
        .init("guest.vmcs-link.not-executive-vmcs", "in SMM, link pointer = executive VMCS", guest(4)) {
            $0.processorInSMM = true
            $0[.executiveVMCSPointer] = 0x40000
            $0[.vmcsLinkPointer] = 0x40000
            $0.poke(0x40000, 0x8000_0012)
        },
        // 27.3.1.6
        .init("guest.pdpte.reserved", "PDPTE0 field bit 1 with EPT", guest(2)) {
            $0.make32BitGuest()
            $0[.guestPDPTE0] = 0x5001 | 1 << 1
        },
        .init("guest.pdpte.reserved", "PDPTE3 field bit 63 with EPT", guest(2)) {
            $0.make32BitGuest()
            $0[.guestPDPTE3] = 1 << 63 | 0x5001
        },
        .init("guest.pdpte.reserved", "PDPTE1 in memory bit 5 without EPT", guest(2)) {
            $0.disableEPT()
            $0.make32BitGuest()
            $0.poke(0x2008, 0x3001 | 1 << 5)
        }
    ]

    static let guestState: [EntryCheckCase] = guestRegisters + guestSegments + guestRIPRFLAGSAndNonRegisterState
}

@Suite struct EntryCheckGuestStateTests {
    @Test(arguments: EntryCheckCase.guestRegisters)
    func brokenRegisterRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test(arguments: EntryCheckCase.guestSegments)
    func brokenSegmentRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test(arguments: EntryCheckCase.guestRIPRFLAGSAndNonRegisterState)
    func brokenRIPRFLAGSOrNonRegisterRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test func validAlternativeGuestsPass() {
        var realMode = TestVMCS.baseline
        realMode.makeRealModeGuest()
        #expect(realMode.check().failures.map(\.description) == [])
        var protected32 = TestVMCS.baseline
        protected32.make32BitGuest()
        #expect(protected32.check().failures.map(\.description) == [])
        var v8086 = TestVMCS.baseline
        v8086.makeVirtual8086Guest()
        #expect(v8086.check().failures.map(\.description) == [])
        var withoutEPT = TestVMCS.baseline
        withoutEPT.disableEPT()
        withoutEPT.make32BitGuest()
        withoutEPT.poke(0x2000, 0x3001)
        #expect(withoutEPT.check().failures.map(\.description) == [])
    }

    @Test func cr0NWAndCDAreNeverCheckedForTheGuest() {
        // A processor whose IA32_VMX_CR0_FIXED1 forbids CD and NW: the guest CR0 field may
        // still set them (VM entry leaves them unchanged), the host CR0 field may not.
        var vmcs = TestVMCS.baseline
        vmcs.capabilities.ia32VMXCR0Fixed1 = 0x9FFF_FFFF
        vmcs.set(.guestCR0, bits: 1 << 30 | 1 << 29)
        #expect(vmcs.check().succeeds)
        vmcs.set(.hostCR0, bits: 1 << 30)
        #expect(vmcs.check().failures.map(\.rule.identifier) == ["host.cr0.fixed"])
    }

    @Test func unusableSegmentsAreNotChecked() {
        var vmcs = TestVMCS.baseline
        vmcs[.guestDSAccessRights] = 0x1_0000 | 0xF00  // reserved bits, but unusable
        vmcs[.guestDSBase] = 1 << 40
        vmcs[.guestLDTRBase] = 0x0000_8000_0000_0000
        vmcs[.guestLDTRSelector] = 0x2C
        #expect(vmcs.check().failures.map(\.description) == [])
    }

    @Test func notPresentPDPTEsAreNotChecked() {
        var vmcs = TestVMCS.baseline
        vmcs.make32BitGuest()
        vmcs[.guestPDPTE2] = 0xFFFF_FFFF_FFFF_FFFE
        #expect(vmcs.check().succeeds)
    }

    @Test func nmiWithSTIBlockingIsAllowedWhenTheProcessorDoesNotRequireIt() {
        var vmcs = TestVMCS.baseline
        vmcs.features.requiresNoBlockingBySTIForNMIInjection = false
        vmcs[.guestInterruptibilityState] = GuestInterruptibility.blockingBySTI
        vmcs.inject(2, .nonMaskableInterrupt)
        #expect(vmcs.check().succeeds)
    }

    @Test func validLinkPointerToAShadowVMCSPasses() {
        var vmcs = TestVMCS.baseline
        vmcs[.vmcsLinkPointer] = 0x40000
        vmcs.poke(0x40000, 0x8000_0012)
        #expect(vmcs.check().succeeds)
    }

    @Test func firstGuestViolationDecidesTheQualification() {
        // A link-pointer failure (qualification 4) after an RFLAGS failure (0): reason 33, 0.
        var vmcs = TestVMCS.baseline
        vmcs[.vmcsLinkPointer] = 0x40008
        vmcs[.guestRFLAGS] = 0x200
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["guest.rflags.reserved", "guest.vmcs-link.address"])
        #expect(report.outcome == EntryCheckCase.guest(0))
    }

    @Test func pdpteViolationNamesItsMemoryAddress() {
        var vmcs = TestVMCS.baseline
        vmcs.disableEPT()
        vmcs.make32BitGuest()
        vmcs.poke(0x2018, 0x3001 | 1 << 2)
        let failure = vmcs.check().firstFailure
        #expect(failure?.violation.field == .guestCR3)
        #expect(failure?.violation.memoryAddress == 0x2018)
        #expect(failure?.violation.expected == "PDPTE3 bits 2:1, 8:5 and 63:39 clear")
    }
}
