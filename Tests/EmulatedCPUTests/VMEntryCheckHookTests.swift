// VMLAUNCH runs the shared rule list (Sources/VMX/EntryChecks) on the current VMCS: the
// outcome is the first failing rule's, and the whole report is kept for diagnostics.
import Testing
import VMX
import EmulatedCPU

@Suite("VM-entry checks on VMLAUNCH")
struct VMEntryCheckHookTests {
    @Test(
        "a VMCS left all zero fails the controls first: VMfailValid(7), named by its rule", arguments: Profiles.vmxNames
    )
    func zeroVMCSFailsTheControls(profileName: String) throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.named(profileName))
        #expect(cpu.vmlaunch() == .vmFail(.valid(.entryWithInvalidControlFields)))
        expectVMfailValid(cpu, .entryWithInvalidControlFields)
        let report = try #require(cpu.lastEntryCheckReport)
        // Every profile forces some pin-based bits to 1 (the default1 bits 1, 2, 4; SDM A.3.1).
        #expect(report.firstFailure?.rule.identifier == "controls.pin.reserved")
        #expect(report.failures.count > 1)
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
    }
}
