// Allowed 0- and 1-settings of the control fields (SDM A.3-A.5) and the algorithm that turns
// wanted controls into a valid value (SDM 32.5.1).
import Testing
@testable import VMX

@Suite("Allowed settings and the adjust algorithm")
struct ControlsAllowedSettingsTests {
    @Test("A 32-bit control MSR: allowed-0 low, allowed-1 high")
    func decode32() {
        let pin = AllowedSettings<PinBasedControls>(msr: 0x0000_003F_0000_0016)
        #expect(pin.mustBeOne.rawValue == 0x16)
        #expect(pin.mayBeOne.rawValue == 0x3F)
        #expect(pin.state(ofBit: 0) == .allowed)
        #expect(pin.state(ofBit: 1) == .forcedToOne)
        #expect(pin.state(ofBit: 3) == .allowed)
        #expect(pin.state(ofBit: 6) == .notAllowed)  // no VMX-preemption timer
        #expect(pin.state(ofBit: 31) == .notAllowed)
        #expect(pin.allowsOne([.externalInterruptExiting, .nmiExiting, .virtualNMIs]))
        #expect(!pin.allowsOne(.activateVMXPreemptionTimer))
        #expect(pin.allowsZero([.nmiExiting]))
        #expect(!pin.allowsZero(PinBasedControls(rawValue: 0x2)))
        #expect(ControlBitState.allowed.description == "allowed")
        #expect(ControlBitState.notAllowed.description == "not allowed")
        #expect(ControlBitState.forcedToOne.description == "forced to 1")
    }

    @Test("Monitor trap flag: allowed-1 high word 0xfff9fffe allows it, 0xf7f9fffe does not")
    func monitorTrapFlag() {
        let icelake = AllowedSettings<PrimaryProcessorBasedControls>(msr: 0xFFF9_FFFE_0401_E172)
        let others = AllowedSettings<PrimaryProcessorBasedControls>(msr: 0xF7F9_FFFE_0401_E172)
        #expect(icelake.state(ofBit: 27) == .allowed)
        #expect(others.state(ofBit: 27) == .notAllowed)
        #expect(others.state(ofBit: 15) == .forcedToOne)  // CR3-load exiting, default1
        #expect(others.state(ofBit: 17) == .notAllowed)
        #expect(others.state(ofBit: 31) == .allowed)
    }

    @Test("A 64-bit allowed-1 MSR has no allowed-0 settings")
    func decode64() {
        let tertiary = AllowedSettings<TertiaryProcessorBasedControls>(allowed1: 0x8000_0000_0000_0010)
        #expect(tertiary.mustBeOne.isEmpty)
        #expect(tertiary.mayBeOne.rawValue == 0x8000_0000_0000_0010)
        #expect(tertiary.state(ofBit: 4) == .allowed)
        #expect(tertiary.state(ofBit: 63) == .allowed)
        #expect(tertiary.state(ofBit: 0) == .notAllowed)
        #expect(AllowedSettings<VMFunctionControls>.none.state(ofBit: 0) == .notAllowed)
    }

    @Test("Adjust: forced-1 bits kept, wanted bits granted, impossible desired bits given up")
    func adjustPrimary() {
        let penryn = AllowedSettings<PrimaryProcessorBasedControls>(msr: 0xF7F9_FFFE_0401_E172)
        let result = penryn.adjust(
            required: [.hltExiting, .useMSRBitmaps, .activateSecondaryControls],
            desired: [.monitorTrapFlag, .useTSCOffsetting, .activateTertiaryControls])
        #expect(result.value.rawValue == 0x0401_E172 | 0x80 | 0x1000_0000 | 0x8000_0000 | 0x8)
        #expect(result.givenUp == [.monitorTrapFlag, .activateTertiaryControls])
        #expect(result.missingRequired.isEmpty)
        #expect(result.hasAllRequired)
        // Forced: the default1 bits (CR3-load/-store exiting among them).
        #expect(result.forced.rawValue == 0x0401_E172)
        #expect(
            result.forced.names == [
                "bit 1", "bit 4", "bit 5", "bit 6", "bit 8", "bit 13", "bit 14",
                "CR3-load exiting", "CR3-store exiting", "bit 26"
            ])
        #expect(penryn.permits(result.value))
    }

    @Test("Adjust with a TRUE MSR: named default1 controls stay 0 unless asked for")
    func adjustTrue() {
        let trueSettings = AllowedSettings<PrimaryProcessorBasedControls>(msr: 0xFFF9_FFFE_0400_6172)
        let result = trueSettings.adjust(required: [.hltExiting], desired: [.cr3LoadExiting])
        #expect(result.value.rawValue == 0x0400_6172 | 0x80 | 0x8000)
        #expect(!result.value.contains(.cr3StoreExiting))
        #expect(result.givenUp.isEmpty)
        #expect(trueSettings.permits(result.value))

        let exit = AllowedSettings<VMExitControls>(msr: 0x807F_FFFF_0003_6DFB)
        let exitResult = exit.adjust(required: [.hostAddressSpaceSize], desired: [.loadIA32EFER])
        #expect(exitResult.value.rawValue == 0x0003_6DFB | 0x200 | 0x20_0000)
        #expect(!exitResult.value.contains(.saveDebugControls))
    }

    @Test("Adjust: a default1 bit of unknown meaning keeps its 1 when the TRUE MSR frees it")
    func unknownDefaultOne() {
        // Bit 1 of the pin-based controls freed (allowed-0 0x14): SDM 32.5.1 sets it to 1.
        let pin = AllowedSettings<PinBasedControls>(msr: 0x0000_007F_0000_0014)
        let result = pin.adjust(required: [.externalInterruptExiting])
        #expect(result.value.rawValue == 0x17)
        #expect(result.forced.rawValue == 0x16)
    }

    @Test("Adjust: a required control that is not allowed is reported, not set")
    func missingRequired() {
        let penrynSecondary = AllowedSettings<SecondaryProcessorBasedControls>(msr: 0x0000_0041_0000_0000)
        let result = penrynSecondary.adjust(
            required: [.enableEPT, .unrestrictedGuest, .wbinvdExiting], desired: [.enableVPID, .enableRDTSCP])
        #expect(result.value == .wbinvdExiting)
        #expect(result.missingRequired == [.enableEPT, .unrestrictedGuest])
        #expect(!result.hasAllRequired)
        #expect(result.missingRequired.names == ["Enable EPT", "Unrestricted guest"])
        #expect(result.givenUp == [.enableRDTSCP, .enableVPID])
        #expect(result.forced.isEmpty)
        #expect(penrynSecondary.permits(result.value))

        let noTimer = AllowedSettings<PinBasedControls>(msr: 0x0000_003F_0000_0016)
        let timer = noTimer.adjust(required: [.activateVMXPreemptionTimer])
        #expect(timer.missingRequired == .activateVMXPreemptionTimer)
        #expect(timer.value.rawValue == 0x16)
        // Required and desired at once counts as required only.
        let both = noTimer.adjust(required: .activateVMXPreemptionTimer, desired: .activateVMXPreemptionTimer)
        #expect(both.givenUp.isEmpty)
        #expect(both.missingRequired == .activateVMXPreemptionTimer)
    }

    @Test("Adjust on 64-bit fields and on a field whose MSR does not exist")
    func adjust64() {
        let tertiary = AllowedSettings<TertiaryProcessorBasedControls>(allowed1: 0x0000_0100_0000_0011)
        let result = tertiary.adjust(required: [], desired: [.ipiVirtualization, .enableHLAT])
        #expect(result.value == .ipiVirtualization)
        #expect(result.givenUp == .enableHLAT)
        let none = AllowedSettings<SecondaryVMExitControls>.none.adjust(required: .loadFRED)
        #expect(none.value.isEmpty)
        #expect(none.missingRequired == .loadFRED)
    }

    @Test("violations(of:) and permits(_:)")
    func violations() {
        let entry = AllowedSettings<VMEntryControls>(msr: 0x0000_1FFF_0000_11FF)
        #expect(entry.permits(VMEntryControls(rawValue: 0x11FF)))
        #expect(entry.permits(VMEntryControls(rawValue: 0x13FF)))  // IA-32e mode guest
        #expect(entry.violations(of: VMEntryControls(rawValue: 0x11FB)) == .loadDebugControls)
        #expect(entry.violations(of: VMEntryControls(rawValue: 0x91FF)) == .loadIA32EFER)
        #expect(!entry.permits(VMEntryControls(rawValue: 0)))
    }
}
