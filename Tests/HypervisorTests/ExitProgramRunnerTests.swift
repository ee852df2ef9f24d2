// Exit programs on the emulated CPU (Sources/Hypervisor/Scenarios/ExitProgramRunner.swift): the
// recorder's line per VM exit, with the exit-information fields before the handler and RIP,
// RSP, RFLAGS after it, the stop line, and bad input.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct ExitProgramRunnerTests {
    /// Runs `files` (name, text) as exit programs on a fresh emulated CPU; returns the console
    /// lines that begin with a file's name.
    func run(
        _ files: [(String, String)], profile: String = "corei7_skylake_x", imageChecksum: (() -> UInt64)? = nil,
        expectHealthy: Bool = true, runLines: Bool = false
    ) throws -> [String] {
        let (healthy, lines) = try ScenarioRunnerSupport.withFiles(files, profile: profile) {
            cpu, programs, host, arena in
            runExitPrograms(
                programs, capabilities: VMXCapabilities.read(from: cpu), host: host, options: .linesOnly,
                imageChecksum: imageChecksum, arena: &arena, cpu: cpu)
        }
        #expect(healthy == expectHealthy)
        return lines.filter { line in
            files.contains { line.hasPrefix($0.0 + ":") } || (runLines && line.hasPrefix("exit-programs:"))
        }
    }

    /// The image checksums a run sees, one per call: before the first program, then after each.
    final class ImageChecksums {
        var values: [UInt64]
        var calls = 0
        init(_ values: [UInt64]) { self.values = values }
        func next() -> UInt64 {
            defer { calls += 1 }
            return values[min(calls, values.count - 1)]
        }
    }

    @Test func withoutEPTAProgramThatChangedTheKernelImageStopsTheRun() throws {
        // core2_penryn_t9600 has no EPT: the guest's memory is host memory, so the kernel's
        // image is checked after each program. The second program "changed" it: the run stops
        // there, naming it, and the third never runs.
        let shutDown = "#%code b802000000 31db 0f01c1\n"
        let sums = ImageChecksums([7, 7, 8])
        let lines = try run(
            [("a.scn", shutDown), ("b.scn", shutDown), ("c.scn", shutDown)], profile: "core2_penryn_t9600",
            imageChecksum: sums.next, expectHealthy: false, runLines: true)
        #expect(
            lines == [
                "a.scn: exit 0 reason 18 qual 0x0 length 0x3 info 0x0 linear 0x0 physical 0x0 idt 0x0 idterr 0x0 "
                    + "intr 0x0 intrerr 0x0 at 0x10007 rip 0x1000a rsp 0x1f0000 rflags 0x46",
                "a.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 1 exits",
                "b.scn: exit 0 reason 18 qual 0x0 length 0x3 info 0x0 linear 0x0 physical 0x0 idt 0x0 idterr 0x0 "
                    + "intr 0x0 intrerr 0x0 at 0x10007 rip 0x1000a rsp 0x1f0000 rflags 0x46",
                "b.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 1 exits",
                "exit-programs: stopped: b.scn changed the kernel's code or read-only data"
            ])
        #expect(sums.calls == 3)
        // With EPT the guest cannot reach host memory: the image is not looked at.
        let withEPT = ImageChecksums([7, 8])
        let all = try run(
            [("a.scn", shutDown), ("b.scn", shutDown)], imageChecksum: withEPT.next, runLines: true)
        #expect(all.last == "b.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 1 exits")
        #expect(withEPT.calls == 0)
    }

    @Test func cpuidOutAndTheShutDownHypercall() throws {
        // mov eax, 0; cpuid; out 80H, al; mov eax, 2; xor ebx, ebx; vmcall
        let program = "# CPUID, OUT, SHUT_DOWN\n#%code b800000000 0fa2 e680 b802000000 31db 0f01c1\n"
        let fields = "info 0x0 linear 0x0 physical 0x0 idt 0x0 idterr 0x0 intr 0x0 intrerr 0x0"
        let stack = "rsp 0x1f0000 rflags"
        #expect(
            try run([("p.scn", program)]) == [
                "p.scn: exit 0 reason 10 qual 0x0 length 0x2 \(fields) at 0x10005 rip 0x10007 \(stack) 0x2",
                // OUT 80H, AL: port 80H in bits 31:16, immediate operand (bit 6), 1 byte, out.
                "p.scn: exit 1 reason 30 qual 0x800040 length 0x2 \(fields) at 0x10007 rip 0x10009 \(stack) 0x2",
                "p.scn: exit 2 reason 18 qual 0x0 length 0x3 \(fields) at 0x10010 rip 0x10013 \(stack) 0x46",
                "p.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 3 exits"
            ])
    }

    @Test func controlsComeFromTheOverrides() throws {
        // RDTSC exiting (primary bit 12) set over the default controls: RDTSC exits (reason 16)
        // and, having no handler, stops the guest.
        let setup = try run([("default.scn", "#%code 0f31 b802000000 31db 0f01c1\n")])
        #expect(
            setup.last == "default.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 1 exits")
        let cpu = EmulatedCPU(profile: try CapabilityProfile.load(named: "corei7_skylake_x"), memorySize: 16 << 20)
        let primary = ControlSetup(capabilities: VMXCapabilities.read(from: cpu)).primary.rawValue | 1 << 12
        let lines = try run([("rdtsc.scn", "0x4002 = \(hex(primary))\n#%code 0f31 b802000000 31db 0f01c1\n")])
        #expect(lines.first?.hasPrefix("rdtsc.scn: exit 0 reason 16 qual 0x0 length 0x2 ") == true)
        #expect(lines.last == "rdtsc.scn: stopped: unexpected VM exit, reason 16 (RDTSC) after 1 exits")
    }

    @Test func theInterruptWindowHandlerEndsAnOverriddenInterruptWindow() throws {
        // Interrupt-window exiting (primary bit 2) and RFLAGS.IF from the overrides: the window
        // is open before the first instruction (SDM 26.7.5); the handler turns the control off
        // (it works from the virtual CPU's copy of the controls, which must be the overridden
        // ones), so the guest goes on to its SHUT_DOWN hypercall after one window exit.
        let cpu = EmulatedCPU(profile: try CapabilityProfile.load(named: "corei7_skylake_x"), memorySize: 16 << 20)
        let primary = ControlSetup(capabilities: VMXCapabilities.read(from: cpu)).primary.rawValue | 1 << 2
        let program = "0x4002 = \(hex(primary))\n0x6820 = 0x202\n#%code 90 b802000000 31db 0f01c1\n"
        let lines = try run([("window.scn", program)])
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("window.scn: exit 0 reason 7 qual 0x0 length 0x0 ") == true)
        #expect(lines.first?.hasSuffix("at 0x10000 rip 0x10000 rsp 0x1f0000 rflags 0x202") == true)
        #expect(lines[1].hasPrefix("window.scn: exit 1 reason 18 ") == true)
        #expect(lines.last == "window.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 2 exits")
    }

    @Test func badCodeIsReportedAndTheNextProgramRuns() throws {
        let lines = try run([("odd.scn", "#%code 0fa\n"), ("good.scn", "#%code b802000000 31db 0f01c1\n")])
        #expect(lines.first == "odd.scn: error: no valid #%code lines (hexadecimal bytes, at most a page)")
        #expect(lines.last == "good.scn: stopped: shut down by the guest (hypercall SHUT_DOWN, code 0) after 1 exits")
    }
}
