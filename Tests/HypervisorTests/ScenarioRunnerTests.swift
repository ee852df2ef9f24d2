// The scenario runner (Sources/Hypervisor/Scenarios/ScenarioRunner.swift) on the emulated CPU,
// as vmx-entry-check runs it: the OUTCOME line, write-failed, the explanation lines and bad
// input that reports its line while the next file still runs, on several capability profiles.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

enum ScenarioRunnerSupport {
    /// A fresh emulated CPU with `profile` in VMX root operation, with `files` (name, text) in
    /// its memory and its console lines collected; then `body` runs on it.
    static func withFiles<Result>(
        _ files: [(String, String)], profile: String,
        _ body: (EmulatedCPU, [ScenarioFile], HostState, inout PageArena) throws -> Result
    ) throws -> (Result, [String]) {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: profile), memorySize: 64 << 20,
            faultReporter: recordIssue)
        let output = GuestRunSupport.Lines()
        cpu.consoleHandler = { output.lines.append($0) }
        var arena = PageArena()
        _ = try enableVMX(on: cpu, arena: &arena, quiet: true)
        var address: UInt64 = 0x40_0000
        var scenarioFiles: [ScenarioFile] = []
        for (name, text) in files {
            let bytes = Array(text.utf8)
            for (offset, byte) in bytes.enumerated() { cpu.memory.write8(address + UInt64(offset), byte) }
            scenarioFiles.append(ScenarioFile(name: name, address: address, size: UInt64(bytes.count)))
            address = (address + UInt64(bytes.count) + 0xFFF) & ~0xFFF
        }
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let result = try body(cpu, scenarioFiles, host, &arena)
        return (result, output.lines)
    }

    /// Runs `files` (name, text) on a fresh emulated CPU with `profile`; returns the console lines.
    static func run(
        _ files: [(String, String)], profile: String, options: ScenarioRunOptions = .linesOnly,
        expectHealthy: Bool = true
    ) throws -> [String] {
        let (healthy, lines) = try withFiles(files, profile: profile) { cpu, scenarioFiles, host, arena in
            runScenarios(
                scenarioFiles, capabilities: VMXCapabilities.read(from: cpu), host: host,
                options: options, arena: &arena, cpu: cpu)
        }
        #expect(healthy == expectHealthy)
        return lines
    }

    /// The `NAME: OUTCOME` lines only.
    static func outcomes(_ lines: [String]) -> [String] { lines.filter { !$0.hasPrefix("  ") } }
}

@Suite struct ScenarioRunnerTests {
    static let profiles = ["corei7_skylake_x", "corei5_lynnfield_750", "core2_penryn_t9600", "corei7_icelake_u"]

    @Test(arguments: profiles)
    func defaultSetUpSucceedsWithoutExplanation(profile: String) throws {
        let lines = try ScenarioRunnerSupport.run([("default", "# nothing\n\n")], profile: profile)
        let expected1: [String] = ["default: success"]
        #expect(lines == expected1)
    }

    @Test(arguments: profiles)
    func controlsHostAndGuestFailuresWithTheirRules(profile: String) throws {
        let lines = try ScenarioRunnerSupport.run(
            [
                ("pin", "0x4000 = 0x000000008000005f   # bit 31\n"),
                ("host-cr0", "0x6c00 = 0x0000000080000030\n"),
                ("guest-cr0", "# PG without PE\n0x6800 = 0x0000000080000030\n"),
                ("link", "0x2800 = 0x0000000001001010\n")
            ], profile: profile)
        let expected2: [String] = [
            "pin: vmfail-valid 7", "host-cr0: vmfail-valid 8", "guest-cr0: entry-failure 33 qual 0",
            "link: entry-failure 33 qual 4"
        ]
        #expect(ScenarioRunnerSupport.outcomes(lines) == expected2)
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "  controls.pin.reserved (SDM 27.2.1.1): Pin-based VM-execution controls [0x4000] = 0x8000005f")
            })
        #expect(
            lines.contains { $0.hasPrefix("  host.cr0.fixed (SDM 27.2.2): Host CR0 [0x6c00] = 0x80000030, expected") })
        #expect(
            lines.contains {
                $0.hasPrefix("  guest.vmcs-link.address (SDM 27.3.1.5): VMCS link pointer [0x2800] = 0x1001010")
            })
        // Every explanation line belongs to the file above it and is indented by two spaces.
        #expect(lines.first == "pin: vmfail-valid 7")
    }

    @Test func guestCR0ExplanationNamesTheRule() throws {
        let lines = try ScenarioRunnerSupport.run(
            [("guest-cr0", "0x6800 = 0x0000000080000030\n")], profile: "corei7_skylake_x")
        let expected3: [String] = [
            "guest-cr0: entry-failure 33 qual 0",
            "  guest.cr0.pg-needs-pe (SDM 27.3.1.1): Guest CR0 [0x6800] = 0x80000030, expected CR0.PE set (CR0.PG is 1)"
        ]
        #expect(lines == expected3)
    }

    @Test func msrLoadingReportsTheEntryNumber() throws {
        // One entry at the scenario guest's code page: bits 63:32 are the code bytes, not 0.
        let lines = try ScenarioRunnerSupport.run(
            [("msr", "0x4014 = 0x1\n0x200a = 0x1005000\n")], profile: "corei7_skylake_x")
        let expected4: [String] = ["msr: entry-failure 34 qual 1"]
        #expect(ScenarioRunnerSupport.outcomes(lines) == expected4)
        #expect(lines.contains { $0.hasPrefix("  msr-load.entry.reserved (SDM 27.4)") })
    }

    @Test func writeFailedNamesTheFieldAndTheError() throws {
        let lines = try ScenarioRunnerSupport.run(
            [
                ("hlat", "0x6800 = 0x80010033\n0x2040 = 0x0\n"),
                ("read-only", "0x4402 = 0x0\n")
            ], profile: "corei5_lynnfield_750")
        let expected5: [String] = [
            "hlat: write-failed 0x2040 vmfail-valid 12",
            "  line 2: VMWRITE of Hypervisor-managed linear-address translation pointer (HLATP) [0x2040] = 0x0 failed",
            "read-only: write-failed 0x4402 vmfail-valid 13",
            "  line 1: VMWRITE of Exit reason [0x4402] = 0x0 failed"
        ]
        #expect(lines == expected5)
        let expected6: [String] = [
            "hlat: write-failed 0x2040 vmfail-valid 12",
            "read-only: write-failed 0x4402 vmfail-valid 13"
        ]
        #expect(ScenarioRunnerSupport.outcomes(lines) == expected6)
    }

    @Test func sameFileDiffersByModel() throws {
        let file = [("ug", "0x401e = 0x00000000000000aa\n")]
        let expected7: [String] = ["ug: success"]
        #expect(
            ScenarioRunnerSupport.outcomes(try ScenarioRunnerSupport.run(file, profile: "corei7_skylake_x"))
                == expected7)
        let expected8: [String] = ["ug: vmfail-valid 7"]
        #expect(
            ScenarioRunnerSupport.outcomes(try ScenarioRunnerSupport.run(file, profile: "corei5_lynnfield_750"))
                == expected8)
    }

    @Test(arguments: profiles)
    func badInputReportsItsLineAndTheNextFileRuns(profile: String) throws {
        let lines = try ScenarioRunnerSupport.run(
            [
                ("malformed", "# ok\n0x6800 0x31\n"),
                ("unknown", "0x1234 = 0x0\n"),
                ("wide", "\n0x0800 = 0x10000\n"),
                ("hex", "0x6800 = 0xZZ\n"),
                ("after", "")
            ], profile: profile)
        let expected9: [String] = [
            "malformed: error: line 2: malformed line: expected `0xENCODING = 0xVALUE`",
            "unknown: error: line 1: unknown VMCS field encoding 0x1234",
            "wide: error: line 2: value 0x10000 is wider than the 16-bit field Guest ES selector (0x0800)",
            "hex: error: line 1: malformed value `0xZZ` (at most 16 hex digits)",
            "after: success"
        ]
        #expect(lines == expected9)
    }

    @Test func kernelWorldRefusesHarnessFieldsThatWouldEnter() throws {
        let lines = try ScenarioRunnerSupport.run(
            [
                ("host-fs", "0x6c06 = 0x1000\n"),
                ("host-fs-bad", "0x6c06 = 0x0000800000000000\n"),
                ("exit-ctl", "0x400c = 0x7feffb\n"),
                ("guest", "0x6820 = 0x0\n")
            ], profile: "corei7_skylake_x", options: .bootModules)
        #expect(lines.first == "scenarios: begin")
        #expect(lines.last == "scenarios: end")
        let expected10: [String] = [
            "scenarios: begin", "scenario host-fs: refused", "scenario host-fs-bad: vmfail-valid 8",
            "scenario exit-ctl: refused", "scenario guest: entry-failure 33 qual 0", "scenarios: end"
        ]
        #expect(ScenarioRunnerSupport.outcomes(lines) == expected10)
        #expect(
            lines.contains(
                """
                  line 1 sets Host FS base [0x6c06], which the harness owns (host state: what a VM exit loads, SDM \
                28.5), and the rules predict success: not launched
                """
            ))
    }

    /// Two host-state fields launch only on a predicted control-field failure: the fuzzer's file
    /// that paired host IA32_PERF_GLOBAL_CTRL = 1 (a check Bochs 2.7 skips) with host GS base 1
    /// crashed the kernel at the first VM exit.
    @Test func twoHostStateFieldsLaunchOnlyOnAControlFieldFailure() throws {
        let lines = try ScenarioRunnerSupport.run(
            [
                ("one", "0x2c04 = 0x1\n0x400c = 0x7fffff\n"),
                ("two", "0x2c04 = 0x1\n0x400c = 0x7fffff\n0x6c08 = 0x1\n"),
                ("two-controls", "0x4000 = 0x0\n0x2c04 = 0x1\n0x6c08 = 0x1\n")
            ], profile: "corei5_lynnfield_750", options: .bootModules)
        #expect(
            ScenarioRunnerSupport.outcomes(lines) == [
                "scenarios: begin", "scenario one: vmfail-valid 8", "scenario two: refused",
                "scenario two-controls: vmfail-valid 7", "scenarios: end"
            ])
    }

    /// In the kernel a file's name never begins a line: a name made to look like the final
    /// line stays behind the fixed word.
    @Test func kernelLinesBeginWithTheirWordNotTheFilesName() throws {
        let lines = try ScenarioRunnerSupport.run(
            [("SWIFTVMX EXIT: success", "# nothing\n")],
            profile: "corei7_skylake_x", options: .bootModules)
        #expect(lines == ["scenarios: begin", "scenario SWIFTVMX EXIT: success: success", "scenarios: end"])
    }

    @Test func kernelWorldRefusesGuestsNothingCouldStop() throws {
        let files = [
            ("sipi", "0x4826 = 0x3\n"),  // predicted success: refused
            // Predicted exit 33: refused all the same, as Bochs skips some guest-state checks (a
            // guest IA32_PERF_GLOBAL_CTRL reserved bit with wait-for-SIPI hung a fuzzing boot).
            ("sipi-bad", "0x4826 = 0x3\n0x4824 = 0x1\n"),
            ("sipi-vmfail", "0x4826 = 0x3\n0x4002 = 0x0\n"),  // predicted VMfailValid: launched
            ("rip", "0x681e = 0x10002\n"),  // refused only without the timer
            ("hlt-bad", "0x4826 = 0x1\n0x6822 = 0x4000\n")  // exit 33 predicted
        ]
        let skylake = try ScenarioRunnerSupport.run(files, profile: "corei7_skylake_x", options: .bootModules)
        let expectedSkylake: [String] = [
            "scenarios: begin", "scenario sipi: refused", "scenario sipi-bad: refused",
            "scenario sipi-vmfail: vmfail-valid 7", "scenario rip: success",
            "scenario hlt-bad: entry-failure 33 qual 0", "scenarios: end"
        ]
        #expect(ScenarioRunnerSupport.outcomes(skylake) == expectedSkylake)
        #expect(
            skylake.contains(
                """
                  line 1 sets Guest activity state [0x4826] (wait-for-SIPI: only a SIPI ends it, SDM 26.5.1) and \
                the rules predict success: not launched
                """
            ))
        // Without the VMX-preemption timer only a predicted VMfailValid launches such a file.
        let penryn = try ScenarioRunnerSupport.run(
            files + [("rip-vmfail", "0x681e = 0x10002\n0x4002 = 0x0\n")],
            profile: "core2_penryn_t9600", options: .bootModules)
        let expectedPenryn: [String] = [
            "scenarios: begin", "scenario sipi: refused", "scenario sipi-bad: refused",
            "scenario sipi-vmfail: vmfail-valid 7", "scenario rip: refused", "scenario hlt-bad: refused",
            "scenario rip-vmfail: vmfail-valid 7", "scenarios: end"
        ]
        #expect(ScenarioRunnerSupport.outcomes(penryn) == expectedPenryn)
        #expect(
            penryn.contains(
                """
                  line 1 sets Guest RIP [0x681e] (without the VMX-preemption timer a guest sent elsewhere may \
                never exit) and the rules predict success: not launched
                """
            ))
    }

    /// Memory nothing backs reads as all ones in the rules and in the entry alike (an MSR-load
    /// list there once failed or entered depending on the files before it).
    @Test func msrLoadListBeyondMemoryReadsAllOnes() throws {
        let lines = try ScenarioRunnerSupport.run(
            [("beyond", "0x200a = 0xfffffffff0\n0x4014 = 0x1\n")], profile: "corei7_skylake_x")
        #expect(ScenarioRunnerSupport.outcomes(lines) == ["beyond: entry-failure 34 qual 1"])
        #expect(
            lines.contains(
                """
                  msr-load.entry.reserved (SDM 27.4): VM-entry MSR-load address [0x200a] -> memory at 0xfffffffff0 \
                = 0xffffffffffffffff, expected entry 1: bits 63:32 clear
                """
            ))
    }

    /// The runner's table of MSR-load entries that each fail: one rule per entry.
    @Test func failingMSRLoadEntriesReachEachRule() throws {
        let rules = [
            "msr-load.entry.fs-gs-base", "msr-load.entry.fs-gs-base", "msr-load.entry.x2apic",
            "msr-load.entry.smm-only", "msr-load.entry.reserved", "msr-load.entry.wrmsr-faults"
        ]
        for (index, rule) in rules.enumerated() {
            let file = "0x4014 = 0x2\n0x200a = arena+0x" + String(0x5800 + 16 * index, radix: 16) + "\n"
            let lines = try ScenarioRunnerSupport.run([("entry", file)], profile: "corei7_skylake_x")
            #expect(ScenarioRunnerSupport.outcomes(lines) == ["entry: entry-failure 34 qual 1"])
            #expect(lines.count > 1 && lines[1].hasPrefix("  " + rule + " (SDM 27.4)"))
        }
    }

    func owns(_ encoding: UInt32) -> Bool { ScenarioHarness.ownership(of: VMCSField(rawValue: encoding)) != nil }

    @Test func ownershipOfHarnessFields() {
        #expect(owns(0x6c16))
        #expect(owns(0x2009))  // high half of the VM-exit MSR-load address
        #expect(owns(0x4000))
        #expect(owns(0x482e))
        #expect(!owns(0x6800))
        #expect(!owns(0x4012))
    }
}

@Suite struct ScenarioBundleTests {
    @Test func bundleSplitsIntoFilesWithTheirOwnLineNumbers() throws {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), memorySize: 64 << 20,
            faultReporter: recordIssue)
        let text = "#%scenario a.scn\n# first\n0x6800 = 0x1\n#%scenario b.scn\n#%scenario c.scn\n0x6800 0x31\n"
        let bytes = Array(text.utf8)
        for (offset, byte) in bytes.enumerated() { cpu.memory.write8(0x40_0000 + UInt64(offset), byte) }
        let images = [
            GuestImage(name: "hello64", address: 0x50_0000, size: 4, commandLine: "mode=long", isBuiltIn: true),
            GuestImage(
                name: "module 0", address: 0x40_0000, size: UInt64(bytes.count), commandLine: "scenario bundle",
                isBuiltIn: false),
            GuestImage(
                name: "module 1", address: 0x41_0000, size: 0, commandLine: "scenario name=empty.scn", isBuiltIn: false)
        ]
        let files = scenarioFiles(images, cpu: cpu)
        let names = files.map(\.name)
        #expect(names == ["a.scn", "b.scn", "c.scn", "empty.scn"])
        let texts = files.map { readText($0, cpu: cpu) }
        let expected: [String] = ["# first\n0x6800 = 0x1\n", "", "0x6800 0x31\n", ""]
        #expect(texts == expected)
        #expect(throws: ScenarioError(line: 1, message: "malformed line: expected `0xENCODING = 0xVALUE`")) {
            _ = try Scenario(parsing: texts[2])
        }
    }
}
