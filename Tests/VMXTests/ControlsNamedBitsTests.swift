// The control bit sets and their SDM names (SDM 25.6-25.8, A.2).
import Testing
@testable import VMX

/// Checks what every named-bit table must satisfy: ascending, unique, inside the field.
func checkTable<B: NamedBits>(_ type: B.Type, count: Int) {
    let bits = B.namedBits.map(\.bit)
    #expect(bits.count == count)
    #expect(bits == bits.sorted())
    #expect(Set(bits).count == bits.count)
    #expect(bits.allSatisfy { $0 >= 0 && $0 < B.bitWidth })
    #expect(B.namedBits.allSatisfy { !$0.name.isEmpty && $0.name.utf8.count < reportLabelWidth })
}

/// A mask from a list of bit numbers, to state the SDM's lists literally.
func bits(_ list: [Int]) -> UInt64 { list.reduce(0) { $0 | UInt64(1) << UInt64($1) } }

@Suite("VMX control bit sets")
struct ControlsNamedBitsTests {
    @Test("Tables: ascending, unique, inside the field")
    func tables() {
        checkTable(PinBasedControls.self, count: 5)
        checkTable(PrimaryProcessorBasedControls.self, count: 22)
        checkTable(SecondaryProcessorBasedControls.self, count: 31)
        checkTable(TertiaryProcessorBasedControls.self, count: 6)
        checkTable(VMExitControls.self, count: 18)
        checkTable(SecondaryVMExitControls.self, count: 3)
        checkTable(VMEntryControls.self, count: 15)
        checkTable(VMFunctionControls.self, count: 1)
        checkTable(EPTVPIDCapabilities.self, count: 18)
        checkTable(ControlRegister0.self, count: 11)
        checkTable(ControlRegister4.self, count: 25)
        #expect(PinBasedControls.bitWidth == 32)
        #expect(TertiaryProcessorBasedControls.bitWidth == 64)
        #expect(SecondaryVMExitControls.bitWidth == 64)
        #expect(VMFunctionControls.bitWidth == 64)
    }

    @Test("Pin-based controls")
    func pinBased() {
        #expect(PinBasedControls.namedMask == bits([0, 3, 5, 6, 7]))
        #expect(PinBasedControls.externalInterruptExiting.rawValue == 1 << 0)
        #expect(PinBasedControls.activateVMXPreemptionTimer.rawValue == 1 << 6)
        #expect(PinBasedControls.name(ofBit: 6) == "Activate VMX-preemption timer")
        #expect(PinBasedControls.defaultOneBits.mask == bits([1, 2, 4]))
        #expect(PinBasedControls.fieldName == "pin-based VM-execution controls")
    }

    @Test("Primary processor-based controls")
    func primary() {
        #expect(
            PrimaryProcessorBasedControls.namedMask
                == bits([2, 3, 7, 9, 10, 11, 12, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31]))
        #expect(PrimaryProcessorBasedControls.hltExiting.rawValue == 0x80)
        #expect(PrimaryProcessorBasedControls.monitorTrapFlag.rawValue == 1 << 27)
        #expect(PrimaryProcessorBasedControls.activateSecondaryControls.rawValue == 0x8000_0000)
        #expect(PrimaryProcessorBasedControls.activateTertiaryControls.rawValue == 1 << 17)
        #expect(PrimaryProcessorBasedControls.name(ofBit: 7) == "HLT exiting")
        #expect(PrimaryProcessorBasedControls.name(ofBit: 31) == "Activate secondary controls")
        #expect(PrimaryProcessorBasedControls.name(ofBit: 18) == "bit 18")
        #expect(PrimaryProcessorBasedControls.sdmName(ofBit: 18) == nil)
        #expect(PrimaryProcessorBasedControls.defaultOneBits.mask == bits([1, 4, 5, 6, 8, 13, 14, 15, 16, 26]))
        #expect(
            PrimaryProcessorBasedControls([.hltExiting, .useMSRBitmaps]).names == ["HLT exiting", "Use MSR bitmaps"])
    }

    @Test("Secondary and tertiary processor-based controls")
    func secondaryTertiary() {
        #expect(SecondaryProcessorBasedControls.namedMask == bits(Array(0...28) + [30, 31]))
        #expect(SecondaryProcessorBasedControls.enableEPT.rawValue == 1 << 1)
        #expect(SecondaryProcessorBasedControls.enableVPID.rawValue == 1 << 5)
        #expect(SecondaryProcessorBasedControls.unrestrictedGuest.rawValue == 1 << 7)
        #expect(SecondaryProcessorBasedControls.enableVMFunctions.rawValue == 1 << 13)
        #expect(SecondaryProcessorBasedControls.name(ofBit: 7) == "Unrestricted guest")
        #expect(SecondaryProcessorBasedControls.defaultOneBits.isEmpty)
        #expect(TertiaryProcessorBasedControls.namedMask == bits([0, 1, 2, 3, 4, 7]))
        #expect(TertiaryProcessorBasedControls.ipiVirtualization.rawValue == 1 << 4)
        #expect(TertiaryProcessorBasedControls.defaultOneBits.isEmpty)
    }

    @Test("VM-exit, secondary VM-exit, VM-entry and VM-function controls")
    func exitEntry() {
        #expect(VMExitControls.namedMask == bits([2, 9, 12, 15] + Array(18...31)))
        #expect(VMExitControls.hostAddressSpaceSize.rawValue == 1 << 9)
        #expect(VMExitControls.acknowledgeInterruptOnExit.rawValue == 1 << 15)
        #expect(VMExitControls.activateSecondaryControls.rawValue == 1 << 31)
        #expect(VMExitControls.defaultOneBits.mask == bits(Array(0...8) + [10, 11, 13, 14, 16, 17]))
        #expect(SecondaryVMExitControls.namedMask == bits([0, 1, 3]))
        #expect(VMEntryControls.namedMask == bits([2, 9, 10, 11] + Array(13...23)))
        #expect(VMEntryControls.ia32eModeGuest.rawValue == 1 << 9)
        #expect(VMEntryControls.name(ofBit: 9) == "IA-32e mode guest")
        #expect(VMEntryControls.defaultOneBits.mask == bits(Array(0...8) + [12]))
        #expect(VMFunctionControls.eptpSwitching.rawValue == 1)
        #expect(VMFunctionControls.name(ofBit: 0) == "EPTP switching")
    }

    @Test("NamedBit equality compares bit and name")
    func namedBitEquality() {
        #expect(NamedBit(7, "HLT exiting") == PrimaryProcessorBasedControls.namedBits[2])
        #expect(NamedBit(7, "HLT Exiting") != NamedBit(7, "HLT exiting"))
        #expect(NamedBit(8, "HLT exiting") != NamedBit(7, "HLT exiting"))
    }
}
