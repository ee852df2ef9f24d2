// One test per way of breaking each check on the host-state area (SDM 27.2.2-27.2.4): each
// must fail VM entry with VMfailValid(8) and be reported first.
import Testing
@testable import VMX

extension EntryCheckCase {
    static let hostState: [EntryCheckCase] = [
        // 27.2.2
        .init("host.cr0.fixed", "CR0.NE cleared", error8) { $0.clear(.hostCR0, bits: 1 << 5) },
        .init("host.cr0.fixed", "bit 32 set", error8) { $0.set(.hostCR0, bits: 1 << 32) },
        .init("host.cr4.fixed", "CR4.VMXE cleared", error8) { $0.clear(.hostCR4, bits: 1 << 13) },
        .init("host.cr4.fixed", "bit 15 set", error8) { $0.set(.hostCR4, bits: 1 << 15) },
        .init("host.cr4.cet-needs-wp", "CR4.CET with CR0.WP clear", error8) {
            $0.set(.hostCR4, bits: 1 << 23)
            $0.clear(.hostCR0, bits: 1 << 16)
        },
        .init("host.cr3.width", "bit 39 set", error8) { $0[.hostCR3] = 1 << 39 | 0x1000 },
        .init("host.sysenter-esp.canonical", "non-canonical", error8) {
            $0[.hostIA32SysenterESP] = 0x0000_8000_0000_0000
        },
        .init("host.sysenter-eip.canonical", "non-canonical", error8) {
            $0[.hostIA32SysenterEIP] = 0xFFFF_7FFF_FFFF_FFFF
        },
        .init("host.cet.s-cet", "reserved bit 6", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostIA32SCET] = 1 << 6
        },
        .init("host.cet.s-cet", "SUPPRESS and TRACKER", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostIA32SCET] = 0xC00
        },
        .init("host.cet.s-cet", "legacy-bitmap base not canonical", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostIA32SCET] = 0x0000_8000_0000_0000
        },
        .init("host.cet.ssp.alignment", "SSP bit 0", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostSSP] = 0x1001
        },
        .init("host.cet.interrupt-ssp-table.canonical", "non-canonical", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostIA32InterruptSSPTableAddr] = 0x0001_0000_0000_0000
        },
        .init("host.perf-global-ctrl.reserved", "bit 4 (no fifth counter)", error8) {
            $0[.hostIA32PerfGlobalCtrl] = 1 << 4
        },
        .init("host.pat.memory-types", "byte 0 = 2", error8) { $0[.hostIA32PAT] = 0x0007_0406_0007_0402 },
        .init("host.pat.memory-types", "byte 7 = 8", error8) { $0[.hostIA32PAT] = 0x0807_0406_0007_0406 },
        .init("host.efer.reserved", "bit 1 set", error8) { $0.set(.hostIA32EFER, bits: 1 << 1) },
        .init("host.efer.lma-lme", "LME clear with a 64-bit host", error8) { $0[.hostIA32EFER] = 0x401 },
        .init("host.pkrs.reserved", "bit 32 set", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 29)
            $0[.hostIA32PKRS] = 1 << 32
        },
        // 27.2.3
        .init("host.selectors.rpl-ti", "CS RPL 3", error8) { $0[.hostCSSelector] = 0x0B },
        .init("host.selectors.rpl-ti", "TR TI set", error8) { $0[.hostTRSelector] = 0x1C },
        .init("host.selectors.rpl-ti", "FS RPL 1", error8) { $0[.hostFSSelector] = 0x21 },
        .init("host.cs.nonzero", "CS 0000H", error8) { $0[.hostCSSelector] = 0 },
        .init("host.tr.nonzero", "TR 0000H", error8) { $0[.hostTRSelector] = 0 },
        .init("host.ss.nonzero-unless-64-bit-host", "SS 0000H with a 32-bit host", error8) {
            $0.make32BitHostAndGuest()
            $0[.hostSSSelector] = 0
        },
        .init("host.bases.canonical", "GS base non-canonical", error8) { $0[.hostGSBase] = 0x0000_8000_0000_0000 },
        .init("host.bases.canonical", "TR base non-canonical", error8) { $0[.hostTRBase] = 0x7FFF_0000_0000_0000 },
        .init("host.bases.canonical", "IDTR base non-canonical", error8) { $0[.hostIDTRBase] = 0x0001_0000_0000_0000 },
        // 27.2.4
        .init("host.address-space.outside-ia32e-mode", "64-bit host and guest controls outside IA-32e mode", error8) {
            $0.processorInIA32eMode = false
        },
        .init("host.address-space.inside-ia32e-mode", "32-bit host from IA-32e mode", error8) {
            $0.make32BitHostAndGuest()
            $0.processorInIA32eMode = true
        },
        .init(
            "host.address-space.32-bit-host-no-ia32e-guest", "IA-32e guest under a 32-bit host", error8,
            alsoFailing: ["host.address-space.outside-ia32e-mode"]
        ) {
            $0.make32BitHostAndGuest()
            $0.set(.vmEntryControls, bits: 1 << 9)
            $0[.guestIA32EFER] = 0xD01
        },
        .init("host.address-space.32-bit-host-pcide", "CR4.PCIDE with a 32-bit host", error8) {
            $0.make32BitHostAndGuest()
            $0.set(.hostCR4, bits: 1 << 17)
        },
        .init("host.address-space.32-bit-host-rip", "RIP bit 32 with a 32-bit host", error8) {
            $0.make32BitHostAndGuest()
            $0[.hostRIP] = 1 << 32
        },
        .init("host.address-space.32-bit-host-ssp", "SSP bit 32 with a 32-bit host", error8) {
            $0.make32BitHostAndGuest()
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostSSP] = 1 << 32
        },
        .init("host.address-space.64-bit-host-pae", "CR4.PAE clear with a 64-bit host", error8) {
            $0.clear(.hostCR4, bits: 1 << 5)
        },
        .init("host.address-space.64-bit-host-rip", "RIP non-canonical", error8) {
            $0[.hostRIP] = 0x0000_8000_0000_0000
        },
        .init("host.address-space.64-bit-host-ssp", "SSP non-canonical", error8) {
            $0.set(.primaryVMExitControls, bits: 1 << 28)
            $0[.hostSSP] = 0x0000_8000_0000_0000
        }
    ]
}

@Suite struct EntryCheckHostStateTests {
    @Test(arguments: EntryCheckCase.hostState)
    func brokenRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test func thirtyTwoBitHostAndGuestPass() {
        var vmcs = TestVMCS.baseline
        vmcs.make32BitHostAndGuest()
        #expect(vmcs.check().failures.map(\.description) == [])
    }

    @Test func nullSSIsAllowedForA64BitHost() {
        var vmcs = TestVMCS.baseline
        vmcs[.hostSSSelector] = 0
        #expect(vmcs.check().succeeds)
    }

    @Test func controlFailuresComeBeforeHostFailures() {
        var vmcs = TestVMCS.baseline
        vmcs[.hostCSSelector] = 0
        vmcs[.virtualProcessorIdentifier] = 0
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["controls.vpid.nonzero", "host.cs.nonzero"])
        #expect(report.outcome == EntryCheckCase.error7)
    }

    @Test func fiveLevelPagingWidensCanonical() {
        var vmcs = TestVMCS.baseline
        vmcs[.hostGSBase] = 0x0000_8000_0000_0000
        var input = vmcs.input
        input.linearAddressWidth = 57
        #expect(checkVMEntry(input).succeeds)
    }

    @Test func perfGlobalCtrlValidBitsFromCPUID() {
        // Version 2, 4 general-purpose counters, 3 fixed counters.
        let leaf = CPUIDResult(eax: 0x0730_0402, ebx: 0, ecx: 0, edx: 0x0603)
        #expect(EntryCheckProcessorFeatures.perfGlobalCtrlValidBits(cpuidLeaf0A: leaf) == 0x7_0000_000F)
        #expect(
            EntryCheckProcessorFeatures.perfGlobalCtrlValidBits(
                cpuidLeaf0A: CPUIDResult(eax: 0x0730_0401, ebx: 0, ecx: 0, edx: 0)) == 0)
    }
}
