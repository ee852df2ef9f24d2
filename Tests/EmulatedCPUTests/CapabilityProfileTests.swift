// The capability fixtures (docs/FIXTURES.md): every one present parses and is consistent, the
// synthetic one offers what it claims, and malformed input fails with one line naming the line.
import Foundation
import Testing
import VMX
import EmulatedCPU

@Suite("Capability profiles")
struct CapabilityProfileTests {
    @Test("at least the synthetic profile and one captured real CPU are present")
    func fixturesPresent() throws {
        let names = CapabilityProfile.availableNames()
        #expect(names.contains("synthetic-full"))
        let profiles = try CapabilityProfile.loadAll()
        #expect(profiles.contains { !$0.isSynthetic }, "a profile of a real CPU")
        #expect(profiles.filter(\.isSynthetic).map(\.name) == ["synthetic-full"])
    }

    @Test(
        "every fixture parses, has the required CPUID leaves and lists only well-formed encodings",
        arguments: CapabilityProfile.availableNames())
    func fixture(name: String) throws {
        let profile = try CapabilityProfile.load(named: name)
        #expect(profile.name == name)
        #expect(!profile.model.isEmpty)
        for leaf: UInt32 in [0, 1, 7, 0x8000_0000, 0x8000_0001, 0x8000_0008] {
            #expect(profile.cpuid(leaf: leaf, subleaf: 0) != nil, "leaf \(hex(leaf))")
        }
        guard let caps = profile.vmxCapabilities else { return }
        #expect(caps.isConsistent)
        #expect(profile.msrs[MSR.ia32FeatureControl.rawValue] != nil)
        #expect(!profile.vmcsFields.isEmpty)
        // IA32_VMX_VMCS_ENUM is not checked against the captured set: processors have reported a
        // lower index than they accept (KVM's nested VMX did), and the set is what counts.
        #expect(profile.vmcsFields.allSatisfy { $0.isWellFormed })
        // Fields every VMX processor has: the ones any VMCS set-up writes.
        for field in [
            VMCSField.pinBasedVMExecutionControls, .primaryProcessorBasedVMExecutionControls, .vmInstructionError,
            .exitReason, .exitQualification, .guestCR0, .guestRIP, .hostCR0, .hostRIP, .vmcsLinkPointer
        ] {
            #expect(profile.vmcsFields.contains(field), "\(field.name!)")
        }
    }

    @Test("the synthetic profile offers VMCS shadowing, VM functions, posted interrupts and tertiary controls")
    func syntheticFeatures() throws {
        let profile = try Profiles.synthetic()
        #expect(profile.isSynthetic)
        let caps = try #require(profile.vmxCapabilities)
        #expect(
            caps.secondaryProcessorBasedControls.allowsOne([
                .vmcsShadowing, .enableVMFunctions, .enableEPT, .enableVPID, .unrestrictedGuest
            ]))
        #expect(caps.pinBasedControls.allowsOne([.processPostedInterrupts, .activateVMXPreemptionTimer]))
        #expect(caps.primaryProcessorBasedControls.allowsOne([.activateTertiaryControls, .monitorTrapFlag]))
        #expect(caps.hasProcbasedCtls3 && caps.hasExitCtls2 && caps.hasVMFunc && caps.hasTrueControls)
        #expect(caps.misc.allowsVMWRITEToAnyField)
        // VMCS_ENUM is exactly the highest index listed.
        #expect(caps.vmcsEnum.highestIndex == profile.vmcsFields.map { Int($0.index) }.max())
        #expect(profile.vmcsFields.count == VMCSField.all.count - 1)
        #expect(!profile.vmcsFields.contains(.sharedEPTPointer))
    }

    @Test("the profile of the real CPU under nested KVM is KVM's: revision 11E57ED0H, no CR3-target fields")
    func nestedKVM() throws {
        let profile = try Profiles.named("intel-under-nested-kvm")
        #expect(!profile.isSynthetic)
        let caps = try #require(profile.vmxCapabilities)
        #expect(caps.basic.revisionIdentifier == 0x11E5_7ED0)
        #expect(caps.basic.vmcsRegionSize == 4096)
        #expect(caps.misc.cr3TargetCount == 0)
        #expect(!profile.vmcsFields.contains(.cr3TargetValue0))
        #expect(caps.ia32VMXProcbasedCtls3 == nil && caps.ia32VMXExitCtls2 == nil)
    }

    /// The first line of a valid fixture and `body` after it.
    static func parse(_ body: String) throws(ProfileError) -> CapabilityProfile {
        try CapabilityProfile.parse("# test\nmodel test\n" + body, name: "broken")
    }

    @Test("malformed fixtures fail with one line naming the file, the line and the problem")
    func malformed() throws {
        let cases: [(String, String)] = [
            ("cpuid 1 0 0 0 0 0\nend\n", "broken.fixture:3: '1' is not 8 hexadecimal digits"),
            ("cpuid 00000001 00000000 00000000\nend\n", "broken.fixture:3: 'cpuid' needs LEAF SUBLEAF EAX EBX ECX EDX"),
            ("msr 0000003a 5\nend\n", "broken.fixture:3: value '5' is not 16 hexadecimal digits"),
            ("msr 3a 0000000000000005\nend\n", "broken.fixture:3: address '3a' is not 8 hexadecimal digits"),
            (
                "msr 0000003a 0000000000000005\nmsr 0000003a 0000000000000005\nend\n",
                "broken.fixture:4: MSR 0000003a captured twice"
            ),
            ("vmcs-fields 6800 68\nend\n", "broken.fixture:3: encoding '68' is not 4 hexadecimal digits"),
            ("vmcs-fields 6801\nend\n", "broken.fixture:3: encoding 6801 is not a well-formed VMCS component encoding"),
            ("vmcs-fields 7000\nend\n", "broken.fixture:3: encoding 7000 is not a well-formed VMCS component encoding"),
            ("vmcs-fields 6800 6800\nend\n", "broken.fixture:3: encoding 6800 listed twice"),
            ("vmcs-fields 0x68\nend\n", "broken.fixture:3: encoding '0x68' is not 4 hexadecimal digits"),
            ("frobnicate 1\nend\n", "broken.fixture:3: unknown record 'frobnicate'"),
            ("end\nmsr 0000003a 0000000000000005\n", "broken.fixture:4: record after 'end'"),
            ("model again\nend\n", "broken.fixture:3: second 'model' record"),
            ("msr 0000003a 0000000000000005\n", "broken.fixture: no 'end' record: the capture is truncated"),
            ("end extra\n", "broken.fixture:3: 'end' takes nothing")
        ]
        for (body, message) in cases {
            do {
                _ = try Self.parse(body)
                Issue.record("parsed: \(body)")
            } catch {
                #expect(error.description.hasPrefix(message), "\(error.description)")
                #expect(!error.description.contains("\n"), "one line: \(error.description)")
            }
        }
        #expect(throws: ProfileError("broken.fixture: no 'model' record")) {
            try CapabilityProfile.parse("end\n", name: "broken")
        }
    }

    @Test("a fixture must list exactly the capability MSRs that exist by the SDM's rules")
    func capabilityMSRExistence() throws {
        let synthetic = try Profiles.synthetic()
        let text = try String(
            contentsOf: CapabilityProfile.fixturesDirectory.appendingPathComponent("synthetic-full.fixture"),
            encoding: .utf8)
        // Drop IA32_VMX_VMFUNC although "enable VM functions" may be 1.
        let missing = text.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.hasPrefix("msr 00000491")
        }.joined(separator: "\n")
        #expect(
            throws: ProfileError(
                "synthetic-full.fixture: IA32_VMX_VMFUNC (00000491) exists by SDM Appendix A but has no 'msr' line")
        ) {
            try CapabilityProfile.parse(missing, name: "synthetic-full")
        }
        // List IA32_VMX_EXIT_CTLS2 although the exit control "activate secondary controls" may not be 1.
        let exit = synthetic.msrs[MSR.ia32VMXExitCtls.rawValue]! & ~(UInt64(1) << 63)
        let extra = text.replacingOccurrences(
            of: "msr 00000483 ffffffff00036dff", with: "msr 00000483 " + hexDigits(exit, digits: 16))
        #expect(
            throws: ProfileError(
                """
                synthetic-full.fixture: IA32_VMX_EXIT_CTLS2 (00000493) has an 'msr' line but does not exist by SDM \
                Appendix A
                """
            )
        ) {
            try CapabilityProfile.parse(extra, name: "synthetic-full")
        }
    }

    @Test("loading a fixture that is not there names the ones that are")
    func missingFixture() {
        do {
            _ = try CapabilityProfile.load(named: "no-such-cpu")
            Issue.record("loaded a missing fixture")
        } catch {
            #expect(error.description.hasPrefix("no-such-cpu.fixture: not found in "))
            #expect(error.description.contains("synthetic-full"))
        }
    }
}
