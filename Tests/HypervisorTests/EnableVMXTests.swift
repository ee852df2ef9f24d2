// The VMX enable sequence (SDM 24.6-24.8, 31.3 VMXON) against a scripted processor:
// each failure path names its condition; the success path leaves the CPU as the SDM requires.
import Testing
import VMX
@testable import Hypervisor

@Suite struct EnableVMXTests {
    func enable(_ cpu: FakeProcessor) throws(VMXEnableError) -> (VMXRootOperation, [String]) {
        var arena = PageArena()
        let operation = try enableVMX(on: cpu, arena: &arena, quiet: false)
        return (operation, cpu.consoleLines)
    }

    @Test func succeedsAndLeavesCPUInVMXRootOperation() throws {
        // Given a VMX-capable CPU whose firmware locked IA32_FEATURE_CONTROL with VMXON enabled
        let cpu = FakeProcessor.vmxCapable()
        // When the hypervisor enables VMX
        let (operation, lines) = try enable(cpu)
        // Then CR0.NE was set (FIXED0 bit 5), CR4.VMXE is set, the region holds the revision id
        #expect(cpu.cr0 == 0x8000_0031)
        #expect(cpu.cr4 == 0x2020)
        #expect(operation.vmxonRegion == PhysicalLayout.arenaBase)
        #expect(cpu.readPhysical32(operation.vmxonRegion) == 1)
        #expect(cpu.vmxonCalls == [PhysicalLayout.arenaBase])
        #expect(operation.physicalAddressWidth == 0x28)
        #expect(lines.last == "VMX: VMXON succeeded: in VMX root operation")
        #expect(lines.first == "VMX: supported (CPUID.1:ECX.VMX[bit 5] = 1)")
    }

    @Test func failsWithoutCPUIDVMXBit() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.leaves[1 << 32]!.ecx = 0
        #expect(throws: VMXEnableError.vmxNotSupported) { try enable(cpu) }
        #expect(VMXEnableError.vmxNotSupported.description == "VMX not supported: CPUID.1:ECX.VMX[bit 5] = 0")
        #expect(cpu.msrReads.isEmpty, "no VMX MSR may be read when CPUID denies VMX")
    }

    @Test func reportsFirmwareThatLockedVMXOff() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.msrs[MSR.ia32FeatureControl.rawValue] = 0x1
        #expect(throws: VMXEnableError.disabledByFirmware(featureControl: 1)) { try enable(cpu) }
        #expect(
            VMXEnableError.disabledByFirmware(featureControl: 1).description
                == """
                VMX disabled by firmware: IA32_FEATURE_CONTROL = 0x1 is locked (bit 0) with \"enable VMX outside \
                SMX\" (bit 2) clear
                """
        )
    }

    @Test func locksAnUnlockedFeatureControl() throws {
        let cpu = FakeProcessor.vmxCapable()
        cpu.msrs[MSR.ia32FeatureControl.rawValue] = 0
        _ = try enable(cpu)
        #expect(cpu.msrs[MSR.ia32FeatureControl.rawValue] == 0x5)
    }

    @Test func enablesInsideSMXOnlyWhenSMXExists() throws {
        let cpu = FakeProcessor.vmxCapable()
        cpu.msrs[MSR.ia32FeatureControl.rawValue] = 0
        cpu.leaves[1 << 32]!.ecx |= 1 << 6
        _ = try enable(cpu)
        #expect(cpu.msrs[MSR.ia32FeatureControl.rawValue] == 0x7)
    }

    @Test func reportsAFeatureControlThatIgnoresWrites() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.msrs[MSR.ia32FeatureControl.rawValue] = 0
        cpu.featureControlReadOnly = true
        #expect(throws: VMXEnableError.featureControlNotWritable(wrote: 5, readBack: 0)) { try enable(cpu) }
    }

    @Test func namesTheCR0BitTheKernelCannotTake() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.stuckCR0 = 1 << 5
        let error = VMXEnableError.controlRegisterBitNotAccepted(register: .cr0, bit: 5, required: true)
        #expect(throws: error) { try enable(cpu) }
        #expect(
            error.description == "CR0.NE must be 1 in VMX operation (IA32_VMX_CR0_FIXED0) but the kernel cannot set it")
    }

    @Test func namesTheCR4BitThatMustBeZero() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.cr4 |= 1 << 22  // PKE, outside FIXED1 0x3727FF
        cpu.stuckCR4 = 1 << 22
        let error = VMXEnableError.controlRegisterBitNotAccepted(register: .cr4, bit: 22, required: false)
        #expect(throws: error) { try enable(cpu) }
    }

    @Test func placesTheVMXONRegionBelow4GiBWhenBasicBit48IsSet() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.msrs[MSR.ia32VMXBasic.rawValue]! |= 1 << 48
        var above = PageArena(base: 0x1_0000_0000, end: 0x1_0001_0000)
        #expect(throws: VMXEnableError.noMemoryForVMXONRegion(size: 0x400, limit: 1 << 32)) {
            try enableVMX(on: cpu, arena: &above, quiet: true)
        }
        // The last page below 4 GiB is still good.
        var below = PageArena(base: 0xFFFF_F000, end: 0x1_0001_0000)
        #expect((try? enableVMX(on: cpu, arena: &below, quiet: true))?.vmxonRegion == 0xFFFF_F000)
    }

    @Test func reportsVMXONFailure() {
        let cpu = FakeProcessor.vmxCapable()
        cpu.vmxonOutcome = .invalid
        #expect(throws: VMXEnableError.vmxonFailed(.invalid)) { try enable(cpu) }
        #expect(VMXEnableError.vmxonFailed(.invalid).description == "VMXON failed: VMfailInvalid (CF = 1)")
        #expect(
            VMXEnableError.vmxonFailed(.valid(.vmxonInVMXRoot)).description
                == "VMXON failed: VMfailValid (ZF = 1), VM-instruction error 15: VMXON executed in VMX root operation")
    }

    @Test func disableLeavesVMXAndClearsCR4VMXE() throws {
        let cpu = FakeProcessor.vmxCapable()
        let (operation, _) = try enable(cpu)
        cpu.consoleLines = []
        try disableVMX(operation, on: cpu, quiet: false)
        #expect(cpu.vmxoffCalls == 1)
        #expect(cpu.cr4 & (1 << 13) == 0)
        #expect(cpu.consoleLines == ["VMX: VMXOFF succeeded, CR4.VMXE cleared"])
    }
}
