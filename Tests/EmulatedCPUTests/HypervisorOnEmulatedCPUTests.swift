// The hypervisor's own enable code against the emulated CPU, for every profile: it must reach
// VMX root operation without a single fault (the default fault policy fails the test on any)
// and leave it again.
import Testing
import VMX
@testable import Hypervisor
import EmulatedCPU

@Suite("Hypervisor enable code on the emulated CPU")
struct HypervisorOnEmulatedCPUTests {
    @Test("enableVMX and disableVMX run fault-free on every profile", arguments: Profiles.vmxNames)
    func enableAndDisable(profileName: String) throws {
        let cpu = EmulatedCPU(profile: try Profiles.named(profileName), faultReporter: recordIssue)
        #expect(cpu.faultPolicy == .report)
        // Firmware that left IA32_FEATURE_CONTROL unlocked: the enable code locks it.
        cpu.ia32FeatureControl = 0
        var arena = PageArena()
        let root = try enableVMX(on: cpu, arena: &arena, quiet: false)
        #expect(cpu.vmxOperation == .root)
        #expect(cpu.vmxonPointer == root.vmxonRegion)
        #expect(cpu.ia32FeatureControl & FeatureControl.lock.rawValue != 0)
        #expect(Int(root.physicalAddressWidth) == cpu.physicalAddressWidth)
        try disableVMX(root, on: cpu, quiet: false)
        #expect(cpu.vmxOperation == .outside)
        #expect(cpu.cr4 & ControlRegister4.vmxe.rawValue == 0)
        #expect(cpu.lastFault == nil)
        #expect(cpu.consoleLines.first == "VMX: supported (CPUID.1:ECX.VMX[bit 5] = 1)")
        #expect(cpu.consoleLines.last == "VMX: VMXOFF succeeded, CR4.VMXE cleared")
    }
}

@Suite("Fixture capture on the emulated CPU")
struct FixtureCaptureOnEmulatedCPUTests {
    @Test(
        "capturing the emulated CPU reproduces its profile: CPUID, MSRs and the VMREAD field set",
        arguments: Profiles.vmxNames)
    func roundTrip(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let cpu = EmulatedCPU(profile: profile, faultReporter: recordIssue)
        var arena = PageArena()
        let root = try enableVMX(on: cpu, arena: &arena, quiet: true)
        // The capture runs after the enable code, which locks IA32_FEATURE_CONTROL.
        let featureControl = cpu.ia32FeatureControl
        let captured = captureFixture(
            cpu: cpu, capabilities: try #require(profile.vmxCapabilities),
            arena: &arena, operation: root)
        #expect(captured)
        // What tools/capture-fixtures does: a model line, then the FIXTURE records.
        let records = cpu.consoleLines.filter { $0.hasPrefix("FIXTURE ") }.map {
            String($0.dropFirst("FIXTURE ".count))
        }
        let text = (["model " + profile.model] + records).joined(separator: "\n")
        let recaptured = try CapabilityProfile.parse(text, name: profileName)
        #expect(recaptured.model == profile.model)
        for leaf in recaptured.cpuidLeaves {
            #expect(leaf.result == cpu.cpuid(leaf: leaf.leaf, subleaf: leaf.subleaf), "leaf \(hex(leaf.leaf))")
        }
        var expectedMSRs = profile.msrs
        expectedMSRs[MSR.ia32FeatureControl.rawValue] = featureControl
        #expect(recaptured.msrs == expectedMSRs)
        // VMREAD accepts the high half of every supported 64-bit field as well.
        var expectedFields = Set(profile.vmcsFields.map(\.rawValue))
        for field in profile.vmcsFields { if let high = field.high { expectedFields.insert(high.rawValue) } }
        #expect(Set(recaptured.vmcsFields.map(\.rawValue)) == expectedFields)
    }
}
