// The kernel's diagnostics of a failed VM entry (Sources/Hypervisor/Diagnostics), run through
// the real run loop (VirtualCPU.run) on the emulated CPU: the decoded error or exit reason,
// every failing rule with SDM section, field, value and expectation, then the VMCS dump.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite(.serialized) struct DiagnosticsEntryFailureTests {
    /// The scenario runner's guest, built by buildGuest on a fresh VMCS, on `profile`.
    static func guest(profile: String) throws -> (VirtualCPU<EmulatedCPU>, GuestRunSupport.Lines) {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: profile), memorySize: 64 << 20,
            faultReporter: recordIssue)
        let output = GuestRunSupport.Lines()
        cpu.consoleHandler = { output.lines.append($0) }
        var arena = PageArena()
        _ = try enableVMX(on: cpu, arena: &arena, quiet: true)
        let capabilities = VMXCapabilities.read(from: cpu)
        let setup = ControlSetup(capabilities: capabilities)
        let pageOrNil = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu)
        let bitmapsOrNil = Bitmaps(arena: &arena, cpu: cpu)
        let codeOrNil = arena.allocate(bytes: 4096, zeroingWith: cpu)
        let page = try #require(pageOrNil), bitmaps = try #require(bitmapsOrNil), code = try #require(codeOrNil)
        for (offset, byte) in ScenarioRunner.guestCode.enumerated() { cpu.memory.write8(code + UInt64(offset), byte) }
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let environment = GuestEnvironment(
            capabilities: capabilities, setup: setup, host: host, bitmaps: bitmaps,
            statistics: ExitStatistics(base: page, cpu: cpu))
        let image = GuestImage(
            name: "diag", address: code, size: UInt64(ScenarioRunner.guestCode.count),
            commandLine: ScenarioRunner.guestOptions + " name=diag", isBuiltIn: true)
        let plan = try image.plan(cpu: cpu)
        let vcpu = try buildGuest(plan: plan, image: image, environment: environment, vpid: 1, arena: &arena, cpu: cpu)
        return (vcpu, output)
    }

    @Test func vmfailValidPrintsTheErrorTheRulesAndTheDump() throws {
        let (vcpu, output) = try Self.guest(profile: "corei5_lynnfield_750")
        try vcpu.cpu.vmwrite(VMCSField.pinBasedVMExecutionControls, 0x8000_005F)
        let stop = vcpu.run()
        #expect(stop == .entryInstructionFailed(.valid(.entryWithInvalidControlFields), launch: true))
        let lines = output.lines
        #expect(
            lines.first == "guest diag: VMLAUNCH failed: VMfailValid, VM-instruction error 7: "
                + VMInstructionError.entryWithInvalidControlFields.description)
        #expect(lines.dropFirst().first == "  the VM-entry rules predict vmfail-valid 7; failing rules:")
        #expect(
            lines.contains {
                $0.hasPrefix(
                    """
                      controls.pin.reserved (SDM 27.2.1.1): Pin-based VM-execution controls [0x4000] = 0x8000005f, \
                    expected
                    """
                )
            })
        #expect(lines.contains("VMCS dump: guest-state area (SDM 25.4)"))
        #expect(lines.contains("  Pin-based VM-execution controls (0x4000) = 0x8000005f"))
        #expect(lines.contains("    [31] bit 31 (reserved)"))
        #expect(lines.contains("    [3] NMI exiting"))
    }

    @Test func entryFailurePrintsReasonQualificationAndRules() throws {
        let (vcpu, output) = try Self.guest(profile: "corei7_skylake_x")
        try vcpu.cpu.vmwrite(VMCSField.vmcsLinkPointer, 0x100_1010)
        let stop = vcpu.run()
        #expect(stop == .entryFailure(ExitReason.entryFailureGuestState.asEntryFailure, qualification: 4))
        let lines = output.lines
        #expect(
            lines.first
                == """
                guest diag: VM-entry failure: exit reason 33 (VM-entry failure due to invalid guest state), exit \
                qualification 4 (invalid VMCS link pointer)
                """
                || lines.first?.hasPrefix("guest diag: VM-entry failure: exit reason 33 (") == true)
        #expect(lines.first?.hasSuffix("exit qualification 4 (invalid VMCS link pointer)") == true)
        #expect(
            lines.contains {
                $0.hasPrefix("  guest.vmcs-link.address (SDM 27.3.1.5): VMCS link pointer [0x2800] = 0x1001010")
            })
        #expect(lines.contains("VMCS dump: VM-exit information fields (SDM 25.9)"))
    }

    @Test func checkEntryPredictsBeforeLaunch() throws {
        let (vcpu, output) = try Self.guest(profile: "corei7_skylake_x")
        EntryDiagnostics.checksBeforeLaunch = true
        defer { EntryDiagnostics.checksBeforeLaunch = false }
        try vcpu.cpu.vmwrite(VMCSField.guestRFLAGS, 0)
        _ = vcpu.run()
        #expect(output.lines.first == "guest diag: check-entry: the VM-entry rules predict entry-failure 33 qual 0")
        #expect(
            output.lines.dropFirst().first?.hasPrefix(
                "  guest.rflags.reserved (SDM 27.3.1.4): Guest RFLAGS [0x6820] = 0x0") == true)
    }
}
