// One test per way of breaking each check on the VMX controls (SDM 27.2.1): each must fail
// VM entry with VMfailValid(7) and be reported first.
import Testing
@testable import VMX

extension EntryCheckCase {
    static let controls: [EntryCheckCase] = [
        // 27.2.1.1
        .init("controls.pin.reserved", "default1 bit 1 cleared", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 1)
        },
        .init("controls.pin.reserved", "bit 8 set, not allowed", error7) {
            $0.set(.pinBasedVMExecutionControls, bits: 1 << 8)
        },
        .init("controls.primary.reserved", "default1 bit 1 cleared", error7) {
            $0.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 1)
        },
        .init("controls.primary.reserved", "bit 18 set, not allowed", error7) {
            $0.set(.primaryProcessorBasedVMExecutionControls, bits: 1 << 18)
        },
        .init("controls.secondary.reserved", "bit 29 set, not allowed", error7) {
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 29)
        },
        .init("controls.tertiary.reserved", "bit 5 set, not allowed", error7) {
            $0[.tertiaryProcessorBasedVMExecutionControls] = 1 << 5
        },
        .init("controls.tertiary.reserved", "bit 40 set, not allowed", error7) {
            $0[.tertiaryProcessorBasedVMExecutionControls] = 1 << 40
        },
        .init("controls.cr3-target-count", "5 targets, 4 supported", error7) { $0[.cr3TargetCount] = 5 },
        .init("controls.io-bitmap-a.address", "not 4-KByte aligned", error7) { $0[.ioBitmapAAddress] = 0x10008 },
        .init("controls.io-bitmap-a.address", "beyond the physical-address width", error7) {
            $0[.ioBitmapAAddress] = 1 << 39
        },
        .init("controls.io-bitmap-b.address", "not 4-KByte aligned", error7) { $0[.ioBitmapBAddress] = 0x11800 },
        .init("controls.io-bitmap-b.address", "beyond the physical-address width", error7) {
            $0[.ioBitmapBAddress] = 1 << 63
        },
        .init("controls.msr-bitmaps.address", "not 4-KByte aligned", error7) { $0[.msrBitmapsAddress] = 0x12001 },
        .init("controls.msr-bitmaps.address", "beyond the physical-address width", error7) {
            $0[.msrBitmapsAddress] = 0x80_0001_2000
        },
        .init("controls.virtual-apic.address", "not 4-KByte aligned", error7) { $0[.virtualAPICAddress] = 0x13080 },
        .init("controls.tpr-threshold.reserved", "bits 31:4 set without virtual-interrupt delivery", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 7)
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 9)
            $0[.tprThreshold] = 0x10
        },
        .init("controls.tpr-threshold.vtpr", "threshold 5 above VTPR[7:4] = 4", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 7)
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 0 | 1 << 9)
            $0[.tprThreshold] = 5
            $0.poke(0x13080, 0x40)
        },
        .init(
            "controls.apic-virtualization.needs-tpr-shadow", "APIC-register virtualization and VID without TPR shadow",
            error7
        ) {
            $0.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 21)
        },
        .init("controls.apic-virtualization.needs-tpr-shadow", "virtualize x2APIC mode without TPR shadow", error7) {
            $0.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 21)
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 7)
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 0 | 1 << 8 | 1 << 9)
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 4)
        },
        .init("controls.nmi.virtual-nmis-need-nmi-exiting", "virtual NMIs without NMI exiting", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 3)
        },
        .init("controls.nmi.nmi-window-needs-virtual-nmis", "NMI-window exiting without virtual NMIs", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 5)
            $0.set(.primaryProcessorBasedVMExecutionControls, bits: 1 << 22)
        },
        .init("controls.apic-access.address", "not 4-KByte aligned", error7) { $0[.apicAccessAddress] = 0x14100 },
        .init("controls.x2apic-mode.excludes-apic-access", "virtualize x2APIC mode with APIC accesses", error7) {
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 4)
        },
        .init(
            "controls.virtual-interrupt-delivery.needs-external-interrupt-exiting",
            "VID without external-interrupt exiting", error7
        ) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 0)
        },
        .init("controls.posted-interrupts.need-virtual-interrupt-delivery", "posted interrupts without VID", error7) {
            $0.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 9)
        },
        .init(
            "controls.posted-interrupts.need-acknowledge-interrupt-on-exit",
            "posted interrupts without acknowledge on exit", error7
        ) {
            $0.clear(.primaryVMExitControls, bits: 1 << 15)
        },
        .init("controls.posted-interrupts.notification-vector", "vector 1F2H", error7) {
            $0[.postedInterruptNotificationVector] = 0x1F2
        },
        .init("controls.posted-interrupts.descriptor-address", "not 64-byte aligned", error7) {
            $0[.postedInterruptDescriptorAddress] = 0x15048
        },
        .init("controls.posted-interrupts.descriptor-address", "beyond the physical-address width", error7) {
            $0[.postedInterruptDescriptorAddress] = 1 << 40
        },
        .init("controls.vpid.nonzero", "VPID 0", error7) { $0[.virtualProcessorIdentifier] = 0 },
        .init("controls.eptp.memory-type", "type 1 (WC)", error7) { $0[.eptPointer] = 0x16000 | 1 | 3 << 3 },
        .init("controls.eptp.memory-type", "WB not in IA32_VMX_EPT_VPID_CAP", error7) {
            $0.capabilities.ia32VMXEPTVPIDCap! &= ~(1 << 14)
        },
        .init("controls.eptp.walk-length", "page-walk length 3", error7) { $0[.eptPointer] = 0x16000 | 6 | 2 << 3 },
        .init("controls.eptp.walk-length", "page-walk length 5 not supported", error7) {
            $0.capabilities.ia32VMXEPTVPIDCap! &= ~(1 << 7)
            $0[.eptPointer] = 0x16000 | 6 | 4 << 3
        },
        .init("controls.eptp.accessed-dirty", "A/D enabled, not supported", error7) {
            $0.capabilities.ia32VMXEPTVPIDCap! &= ~(1 << 21)
        },
        .init("controls.eptp.supervisor-shadow-stack", "bit 7 set, not supported", error7) {
            $0.capabilities.ia32VMXEPTVPIDCap! &= ~(1 << 23)
            $0.set(.eptPointer, bits: 1 << 7)
        },
        .init("controls.eptp.reserved", "bit 8 set", error7) { $0.set(.eptPointer, bits: 1 << 8) },
        .init("controls.eptp.reserved", "bit 39 set", error7) { $0.set(.eptPointer, bits: 1 << 39) },
        .init("controls.pml.needs-ept", "PML without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 17)
        },
        .init("controls.pml.address", "not 4-KByte aligned", error7) { $0[.pmlAddress] = 0x17010 },
        .init("controls.unrestricted-guest.needs-ept", "unrestricted guest without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 7)
        },
        .init("controls.mode-based-execute.needs-ept", "mode-based execute without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 22)
        },
        .init("controls.sub-page-permissions.needs-ept", "sub-page permissions without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 23)
        },
        .init("controls.sub-page-permissions.spptp", "SPPTP not 4-KByte aligned", error7) {
            $0[.subPagePermissionTablePointer] = 0x1C004
        },
        .init("controls.vm-functions.reserved", "VM function 1 not allowed", error7) { $0[.vmFunctionControls] = 0b11 },
        .init("controls.eptp-switching.needs-ept", "EPTP switching without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 13)
        },
        .init("controls.eptp-switching.eptp-list-address", "not 4-KByte aligned", error7) {
            $0[.eptpListAddress] = 0x18008
        },
        .init("controls.vmcs-shadowing.vmread-bitmap-address", "not 4-KByte aligned", error7) {
            $0[.vmreadBitmapAddress] = 0x19001
        },
        .init("controls.vmcs-shadowing.vmwrite-bitmap-address", "beyond the physical-address width", error7) {
            $0[.vmwriteBitmapAddress] = 1 << 45
        },
        .init("controls.ept-violation-ve.information-address", "not 4-KByte aligned", error7) {
            $0[.virtualizationExceptionInformationAddress] = 0x1B800
        },
        .init("controls.intel-pt-guest-physical.dependencies", "without load/clear IA32_RTIT_CTL", error7) {
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 24)
        },
        .init("controls.intel-pt-guest-physical.dependencies", "without EPT", error7) {
            $0.disableEPT()
            $0.set(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 24)
            $0.set(.vmEntryControls, bits: 1 << 18)
            $0.set(.primaryVMExitControls, bits: 1 << 25)
        },
        // 27.2.1.2
        .init("controls.exit.reserved", "default1 bit 0 cleared", error7) {
            $0.clear(.primaryVMExitControls, bits: 1 << 0)
        },
        .init("controls.exit.reserved", "bit 24 set, not allowed", error7) {
            $0.set(.primaryVMExitControls, bits: 1 << 24)
        },
        .init("controls.exit-secondary.reserved", "secondary exit bit 2 set, not allowed", error7) {
            $0.set(.primaryVMExitControls, bits: 1 << 31)
            $0[.secondaryVMExitControls] = 1 << 2
        },
        .init("controls.exit.save-preemption-timer-needs-timer", "save timer value without the timer", error7) {
            $0.clear(.pinBasedVMExecutionControls, bits: 1 << 6)
        },
        .init("controls.exit-msr-store.address", "not 16-byte aligned", error7) {
            $0[.vmExitMSRStoreCount] = 1
            $0[.vmExitMSRStoreAddress] = 0x30008
        },
        .init("controls.exit-msr-store.address", "last byte beyond the physical-address width", error7) {
            $0[.vmExitMSRStoreCount] = 2
            $0[.vmExitMSRStoreAddress] = (1 << 39) - 16
        },
        .init("controls.exit-msr-load.address", "beyond the physical-address width", error7) {
            $0[.vmExitMSRLoadCount] = 1
            $0[.vmExitMSRLoadAddress] = 1 << 39
        },
        // 27.2.1.3
        .init("controls.entry.reserved", "default1 bit 0 cleared", error7) { $0.clear(.vmEntryControls, bits: 1 << 0) },
        .init("controls.entry.reserved", "bit 17 set, not allowed", error7) { $0.set(.vmEntryControls, bits: 1 << 17) },
        .init("controls.event-injection.type", "type 1 (reserved)", error7) { $0.inject(0x20, .reserved) },
        .init("controls.event-injection.type", "other event without the monitor trap flag", error7) {
            $0.capabilities.ia32VMXProcbasedCtls &= ~(1 << (32 + 27))
            $0.capabilities.ia32VMXTrueProcbasedCtls! &= ~(1 << (32 + 27))
            $0.inject(0, .otherEvent)
        },
        .init("controls.event-injection.vector", "NMI with vector 3", error7) { $0.inject(3, .nonMaskableInterrupt) },
        .init("controls.event-injection.vector", "hardware exception vector 32", error7) {
            $0.inject(32, .hardwareException)
        },
        .init("controls.event-injection.vector", "other event with vector 1", error7) { $0.inject(1, .otherEvent) },
        .init("controls.event-injection.deliver-error-code", "#GP without an error code", error7) {
            $0.inject(13, .hardwareException)
        },
        .init("controls.event-injection.deliver-error-code", "#UD with an error code", error7) {
            $0.inject(6, .hardwareException, errorCode: 0)
        },
        .init("controls.event-injection.deliver-error-code", "external interrupt with an error code", error7) {
            $0.inject(0x30, .externalInterrupt, errorCode: 0)
        },
        .init("controls.event-injection.deliver-error-code", "#GP with an error code in real mode", error7) {
            $0.makeRealModeGuest()
            $0.inject(13, .hardwareException, errorCode: 0)
        },
        .init("controls.event-injection.reserved", "bit 12 set", error7) {
            $0.inject(6, .hardwareException)
            $0.set(.vmEntryInterruptionInformation, bits: 1 << 12)
        },
        .init("controls.event-injection.error-code", "error code bit 16 set", error7) {
            $0.inject(13, .hardwareException, errorCode: 0x1_0000)
        },
        .init("controls.event-injection.instruction-length", "software interrupt, length 0", error7) {
            $0.inject(0x80, .softwareInterrupt, length: 0)
        },
        .init("controls.event-injection.instruction-length", "software exception, length 16", error7) {
            $0.inject(3, .softwareException, length: 16)
        },
        .init("controls.entry-msr-load.address", "not 16-byte aligned", error7) {
            $0[.vmEntryMSRLoadCount] = 1
            $0[.vmEntryMSRLoadAddress] = 0x30004
        },
        .init("controls.entry.smm-controls-outside-smm", "deactivate dual-monitor treatment outside SMM", error7) {
            $0.set(.vmEntryControls, bits: 1 << 11)
        },
        .init(
            "controls.entry.smm-controls-outside-smm", "entry to SMM outside SMM", error7,
            alsoFailing: ["guest.interruptibility.smi-with-entry-to-smm"]
        ) {
            $0.set(.vmEntryControls, bits: 1 << 10)
        },
        .init("controls.entry.smm-and-deactivate-dual-monitor", "both in SMM", error7) {
            $0.processorInSMM = true
            $0.set(.vmEntryControls, bits: 1 << 10 | 1 << 11)
            $0[.guestInterruptibilityState] = 1 << 2
        }
    ]
}

@Suite struct EntryCheckControlsTests {
    @Test(arguments: EntryCheckCase.controls)
    func brokenRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test func secondaryControlsAreIgnoredWhenNotActivated() {
        var vmcs = TestVMCS.baseline
        vmcs.clear(.pinBasedVMExecutionControls, bits: 1 << 7)
        vmcs.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 31)
        vmcs[.secondaryProcessorBasedVMExecutionControls] = 0xFFFF_FFFF
        #expect(vmcs.check().failures.map(\.description) == [])
    }

    @Test func tertiaryControlsAreIgnoredWhenNotActivated() {
        var vmcs = TestVMCS.baseline
        vmcs.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 17)
        vmcs[.tertiaryProcessorBasedVMExecutionControls] = ~0
        #expect(vmcs.check().succeeds)
    }

    @Test func withoutTrueControlsTheDefault1BitsMustBeOne() {
        // IA32_VMX_BASIC[55] = 0: the plain MSRs apply, and CR3-load exiting (a default1
        // control) may no longer be 0 (SDM A.2).
        var vmcs = TestVMCS.baseline
        vmcs.capabilities.ia32VMXBasic &= ~(1 << 55)
        vmcs.capabilities.ia32VMXTruePinbasedCtls = nil
        vmcs.capabilities.ia32VMXTrueProcbasedCtls = nil
        vmcs.capabilities.ia32VMXTrueExitCtls = nil
        vmcs.capabilities.ia32VMXTrueEntryCtls = nil
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["controls.primary.reserved", "controls.exit.reserved"])
        #expect(
            report.failures.first?.violation.expected.contains("IA32_VMX_PROCBASED_CTLS allowed 0-settings") == true)
        #expect(report.outcome == EntryCheckCase.error7)
    }

    @Test func vtprAtThresholdPasses() {
        var vmcs = TestVMCS.baseline
        vmcs.clear(.pinBasedVMExecutionControls, bits: 1 << 7)
        vmcs.clear(.secondaryProcessorBasedVMExecutionControls, bits: 1 << 0 | 1 << 9)
        vmcs[.tprThreshold] = 5
        vmcs.poke(0x13080, 0x5F)
        #expect(vmcs.check().succeeds)
    }

    @Test func fiveLevelEPTIsAcceptedWhenSupported() {
        var vmcs = TestVMCS.baseline
        vmcs[.eptPointer] = 0x16000 | 6 | 4 << 3
        #expect(vmcs.check().succeeds)
    }

    @Test func errorCodeRulesAreRelaxedByBasic56() {
        var vmcs = TestVMCS.baseline
        vmcs.capabilities.ia32VMXBasic |= 1 << 56
        vmcs.inject(13, .hardwareException)
        #expect(vmcs.check().succeeds)
        vmcs.inject(6, .hardwareException, errorCode: 0)
        #expect(vmcs.check().succeeds)
        // Still 0 for anything but a hardware exception.
        vmcs.inject(0x30, .externalInterrupt, errorCode: 0)
        #expect(vmcs.check().failures.map(\.rule.identifier) == ["controls.event-injection.deliver-error-code"])
    }

    @Test func zeroInstructionLengthIsAllowedByMisc30() {
        var vmcs = TestVMCS.baseline
        vmcs.capabilities.ia32VMXMisc |= 1 << 30
        vmcs.inject(0x80, .softwareInterrupt, length: 0)
        #expect(vmcs.check().succeeds)
    }

    @Test func validInjectionsPass() {
        var vmcs = TestVMCS.baseline
        vmcs.inject(14, .hardwareException, errorCode: 0x2)
        #expect(vmcs.check().succeeds)
        vmcs.inject(2, .nonMaskableInterrupt)
        #expect(vmcs.check().succeeds)
        vmcs.inject(0x20, .externalInterrupt)
        #expect(vmcs.check().succeeds)
        vmcs.inject(3, .softwareException, length: 1)
        #expect(vmcs.check().succeeds)
        vmcs.inject(0, .otherEvent)
        #expect(vmcs.check().succeeds)
    }

    @Test func reservedViolationsNameTheBitsAndTheMSR() {
        var vmcs = TestVMCS.baseline
        vmcs.set(.pinBasedVMExecutionControls, bits: 1 << 8)
        vmcs.clear(.pinBasedVMExecutionControls, bits: 1 << 1)
        let expected = vmcs.check().failures.map(\.violation.expected)
        #expect(
            expected == [
                "bit 1 set (IA32_VMX_TRUE_PINBASED_CTLS allowed 0-settings 0x16)",
                "bit 8 clear (IA32_VMX_TRUE_PINBASED_CTLS allowed 1-settings 0xff)"
            ])
    }
}
