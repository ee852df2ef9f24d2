// The default control set-up (ControlSetup) computed from every captured capability fixture:
// the exact values the kernel printed for each Bochs model ("VMCS: controls: ..." in the boot
// logs), the allowed 0/1-settings respected, what was given up, and the derived choices.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct ControlSetupTests {
    static func setup(_ name: String) throws -> ControlSetup {
        let caps = try #require(try CapabilityProfile.load(named: name).vmxCapabilities)
        return ControlSetup(capabilities: caps)
    }

    /// (pin-based, primary, secondary, VM-exit, VM-entry) as Bochs 2.7 got them.
    static let bochsValues: [(String, UInt32, UInt32, UInt32, UInt32, UInt32)] = [
        ("broadwell_ult", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF),
        ("bx_generic", 0x1F, 0x9618_61F2, 0x08, 0x0003_EFFF, 0x11FF),
        ("core2_penryn_t9600", 0x1F, 0x9618_61F2, 0x00, 0x0003_EFFF, 0x11FF),
        ("corei3_cnl", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF),
        ("corei5_arrandale_m520", 0x5F, 0x9618_61F2, 0xAA, 0x007F_EFFF, 0xD1FF),
        ("corei5_lynnfield_750", 0x5F, 0x9618_61F2, 0x2A, 0x007F_EFFF, 0xD1FF),
        ("corei7_haswell_4770", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF),
        ("corei7_icelake_u", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF),
        ("corei7_ivy_bridge_3770k", 0x5F, 0x9618_61F2, 0xAA, 0x007F_EFFF, 0xD1FF),
        ("corei7_sandy_bridge_2600k", 0x5F, 0x9618_61F2, 0xAA, 0x007F_EFFF, 0xD1FF),
        ("corei7_skylake_x", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF),
        ("tigerlake", 0x5F, 0x9618_61F2, 0x10AA, 0x007F_EFFF, 0xD1FF)
    ]

    @Test("the set-up matches what the kernel computed in Bochs", arguments: bochsValues.indices)
    func matchesBochs(index: Int) throws {
        let (name, pin, primary, secondary, exit, entry) = Self.bochsValues[index]
        let s = try Self.setup(name)
        #expect(s.pinBased.rawValue == pin, "\(name)")
        #expect(s.primary.rawValue == primary, "\(name)")
        #expect(s.secondary.rawValue == secondary, "\(name)")
        #expect(s.exit.rawValue == exit, "\(name)")
        #expect(s.entryBase.rawValue == entry, "\(name)")
    }

    @Test(
        "every fixture: the values pass the allowed settings and carry what is required",
        arguments: CapabilityProfile.availableNames())
    func respectsAllowedSettings(name: String) throws {
        guard let caps = try CapabilityProfile.load(named: name).vmxCapabilities else { return }
        let s = ControlSetup(capabilities: caps)
        if name == "intel-under-nested-kvm" {
            // Captured from a 32-bit guest hypervisor under KVM, which did not offer a 64-bit host.
            #expect(
                s.missingRequired == [
                    ControlSetup.GivenUpControls(field: "VM-exit controls", names: ["Host address-space size"])
                ])
            return
        }
        #expect(s.hasAllRequired, "\(name)")
        #expect(caps.pinBasedControls.permits(s.pinBased))
        #expect(caps.primaryProcessorBasedControls.permits(s.primary))
        if s.usesSecondaryControls { #expect(caps.secondaryProcessorBasedControls.permits(s.secondary)) }
        #expect(caps.exitControls.permits(s.exit))
        #expect(caps.entryControls.permits(s.entry(ia32eMode: true)))
        #expect(caps.entryControls.permits(s.entry(ia32eMode: false)))
        #expect(s.pinBased.isSuperset(of: ControlSetup.requiredPinBased))
        #expect(s.primary.isSuperset(of: ControlSetup.requiredPrimary))
        #expect(s.exit.contains(.hostAddressSpaceSize))
        // Unrestricted guest only with EPT (SDM 27.2.1.1); the preemption-timer value saved
        // only with the timer; EFER/PAT loaded on entry only when the exit loads them back.
        #expect(!s.usesUnrestrictedGuest || s.usesEPT)
        #expect(!s.savesPreemptionTimer || s.usesPreemptionTimer)
        #expect(!s.entryBase.contains(.loadIA32EFER) || s.exit.contains(.loadIA32EFER))
        #expect(!s.entryBase.contains(.ia32eModeGuest))
    }

    @Test func penrynGivesUpTheTimerEPTAndTheEFERSwitch() throws {
        let s = try Self.setup("core2_penryn_t9600")
        #expect(!s.usesPreemptionTimer && !s.usesEPT && !s.usesVPID && !s.usesUnrestrictedGuest)
        #expect(!s.switchesEFER && !s.switchesPAT)
        #expect(s.acknowledgesInterruptOnExit)
        #expect(!s.allowsMonitorTrapFlag)
        #expect(s.inveptType == nil && s.invvpidType == nil)
        let fields = s.givenUp.map(\.field)
        #expect(
            fields == [
                "pin-based VM-execution controls", "secondary processor-based VM-execution controls",
                "secondary processor-based VM-execution controls (without usable EPT)", "VM-exit controls",
                "VM-entry controls"
            ])
        #expect(s.givenUp[0].names == ["Activate VMX-preemption timer"])
        #expect(s.givenUp[2].names == ["Enable EPT", "Unrestricted guest"])
        #expect(s.givenUp[3].names == ["Save IA32_PAT", "Load IA32_PAT", "Save IA32_EFER", "Load IA32_EFER"])
    }

    @Test func skylakeHasEverythingButTheMonitorTrapFlag() throws {
        let s = try Self.setup("corei7_skylake_x")
        #expect(s.usesPreemptionTimer && s.savesPreemptionTimer && s.usesEPT && s.usesVPID && s.usesUnrestrictedGuest)
        #expect(s.switchesEFER && s.switchesPAT && s.enablesRDTSCP && s.enablesINVPCID)
        #expect(!s.exitsOnCR3Load && !s.exitsOnCR3Store)
        #expect(s.eptMemoryType == 6 && s.allows2MBEPTPages)
        #expect(s.inveptType == .singleContext && s.invvpidType == .singleContext)
        #expect(!s.allowsMonitorTrapFlag && s.allowsInterruptWindowExiting && s.allowsIA32eModeGuest)
        #expect(s.givenUp.isEmpty)
        #expect(s.entry(ia32eMode: true).rawValue == 0xD3FF)
    }

    @Test func lynnfieldHasEPTWithoutUnrestrictedGuest() throws {
        let s = try Self.setup("corei5_lynnfield_750")
        #expect(s.usesEPT && !s.usesUnrestrictedGuest)
        #expect(s.givenUp.map(\.names) == [["Unrestricted guest", "Enable INVPCID"]])
    }

    @Test func icelakeAndTigerlakeAllowTheMonitorTrapFlag() throws {
        #expect(try Self.setup("corei7_icelake_u").allowsMonitorTrapFlag)
        #expect(try Self.setup("tigerlake").allowsMonitorTrapFlag)
        #expect(try Self.setup("tigerlake").usesMonitorTrapFlag == false, "only a probe turns it on")
    }

    @Test func theTimerIsGivenUpWhenExitsCannotSaveItsValue() throws {
        // Given a CPU with the VMX-preemption timer whose VM-exit controls cannot save its
        // value (exit allowed-1 bit 22 cleared): the budget would restart at every VM entry.
        var caps = try #require(try CapabilityProfile.load(named: "corei7_skylake_x").vmxCapabilities)
        caps.ia32VMXTrueExitCtls! &= ~(UInt64(1) << (32 + 22))
        let s = ControlSetup(capabilities: caps)
        #expect(!s.usesPreemptionTimer)
        #expect(!s.savesPreemptionTimer)
        #expect(
            s.givenUp.contains(
                ControlSetup.GivenUpControls(
                    field: "pin-based VM-execution controls (the VM-exit controls cannot save the timer's value)",
                    names: ["Activate VMX-preemption timer"])), "\(s.givenUp)")
        #expect(s.hasAllRequired)
    }

    @Test func missingRequiredControlsAreNamed() throws {
        // Given a CPU whose HLT exiting may not be 1 (primary allowed-1 bit 7 cleared)
        var caps = try #require(try CapabilityProfile.load(named: "corei7_skylake_x").vmxCapabilities)
        caps.ia32VMXTrueProcbasedCtls! &= ~(UInt64(1) << (32 + 7))
        let s = ControlSetup(capabilities: caps)
        #expect(!s.hasAllRequired)
        #expect(s.missingRequired.count == 1)
        #expect(s.missingRequired[0].field == "primary processor-based VM-execution controls")
        #expect(s.missingRequired[0].names == ["HLT exiting"])
    }
}
