// In the style of kvm-unit-tests' x86/vmx_tests.c: on every captured profile, start from the
// hypervisor's own default set-up (which VM entry accepts) and set each VMX control bit to a
// value its capability MSR does not allow, one file per bit: each must fail VM entry with
// VMfailValid(7), "VM entry with invalid control field(s)" (SDM 27.2.1, A.3-A.5).
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct ControlBitsOnEveryProfileTests {
    /// One scenario per control bit that may not take the value the file gives it.
    static func disallowedBitScenarios(_ caps: VMXCapabilities) -> [(String, String)] {
        let setup = ControlSetup(capabilities: caps)
        var files: [(String, String)] = []
        func add<C: VMXControlField>(_ field: VMCSField, _ name: String, current: UInt64, _ allowed: AllowedSettings<C>)
        {
            for bit in 0..<32 {
                let mask = UInt64(1) << UInt64(bit)
                if allowed.mayBeOne.mask & mask == 0 {
                    files.append(
                        ("\(name)-bit\(bit)-set", "\(hex(field.rawValue, digits: 4)) = \(hex(current | mask))\n"))
                } else if allowed.mustBeOne.mask & mask != 0 {
                    files.append(
                        ("\(name)-bit\(bit)-clear", "\(hex(field.rawValue, digits: 4)) = \(hex(current & ~mask))\n"))
                }
            }
        }
        add(.pinBasedVMExecutionControls, "pin", current: UInt64(setup.pinBased.rawValue), caps.pinBasedControls)
        add(
            .primaryProcessorBasedVMExecutionControls, "primary", current: UInt64(setup.primary.rawValue),
            caps.primaryProcessorBasedControls)
        if setup.primary.contains(.activateSecondaryControls) {
            add(
                .secondaryProcessorBasedVMExecutionControls, "secondary", current: UInt64(setup.secondary.rawValue),
                caps.secondaryProcessorBasedControls)
        }
        add(.primaryVMExitControls, "exit", current: UInt64(setup.exit.rawValue), caps.exitControls)
        add(.vmEntryControls, "entry", current: UInt64(setup.entry(ia32eMode: true).rawValue), caps.entryControls)
        return files
    }

    /// The profiles the default set-up runs on: all but the synthetic one (which allows every
    /// bit) and those whose CPU lacks a control the hypervisor requires.
    static let runnableProfiles = CapabilityProfile.availableNames().filter { name in
        guard name != "synthetic-full", let caps = try? CapabilityProfile.load(named: name).vmxCapabilities else {
            return false
        }
        let setup = ControlSetup(capabilities: caps)
        return setup.hasAllRequired && setup.allowsIA32eModeGuest
    }

    @Test func theNestedKVMDumpCannotHostA64BitHypervisor() throws {
        // Its IA32_VMX_EXIT_CTLS allowed-1 half (0x007ffdff) clears bit 9, "host address-space
        // size": the dump came from a KVM that offers only 32-bit hosts. The runner says so.
        #expect(!Self.runnableProfiles.contains("intel-under-nested-kvm"))
        let lines = try ScenarioRunnerSupport.run(
            [("default", "")], profile: "intel-under-nested-kvm", expectHealthy: false)
        #expect(lines == ["scenarios: this CPU lacks VMX controls the default set-up requires"])
    }

    @Test(arguments: runnableProfiles)
    func everyDisallowedControlBitFailsWithError7(profile: String) throws {
        let caps = try #require(try CapabilityProfile.load(named: profile).vmxCapabilities)
        let files = Self.disallowedBitScenarios(caps)
        #expect(files.count > 32, "a real CPU reserves dozens of control bits")
        let outcomes = ScenarioRunnerSupport.outcomes(try ScenarioRunnerSupport.run(files, profile: profile))
        #expect(outcomes == files.map { "\($0.0): vmfail-valid 7" })
    }
}
