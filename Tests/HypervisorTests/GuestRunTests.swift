// Whole runs of the test guests through the hypervisor on the emulated CPU, one per Bochs
// model's profile (with and without EPT, unrestricted guest, the VMX-preemption timer and the
// monitor trap flag, as each model offers them), judged by the boot tests' own expected lines
// for that model (Tests/boot/expectations.py; GuestRunSupport). Where Bochs 2.7 departs from
// the SDM the emulated CPU follows the SDM, and the expected lines are adjusted here, each
// adjustment explained (docs/EMULATED-CPU.md, "Where the emulated CPU and Bochs differ").
import Testing
import VMX
import EmulatedCPU
import Hypervisor

@Suite struct GuestRunTests {
    /// Every Bochs model with long mode and VMX that has a captured profile.
    static let bochsModels: [String] = {
        let output =
            (try? GuestRunSupport.run([
                "python3", "-c",
                "import sys; sys.path.insert(0, 'Tests/boot'); import expectations as e; print(' '.join(sorted(e.VMX)))"
            ])) ?? ""
        return output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }()

    @Test(arguments: bochsModels)
    func guestsRunAsInBochs(model: String) throws {
        let run = try GuestRunSupport.runHypervisor(profile: model)
        let bochs = try #require(try GuestRunSupport.expectedLines(model: model))
        let expected = Self.adjusted(bochs, capabilities: try #require(run.cpu.capabilities))
        if let missing = GuestRunSupport.firstMissing(expected, in: run.lines) {
            Issue.record(
                """
                \(model): expected line not found: \"\(missing.line)\"\n--- log \
                ---\n\(run.lines.joined(separator: "\n"))
                """
            )
        }
        #expect(run.succeeded)
        #expect(run.cpu.guestExecutionProblems.isEmpty, "\(run.cpu.guestExecutionProblems)")
    }

    /// Each guest's memory, EPT tables and VMCS go back to the arena when it stops: twenty
    /// guests one after the other all get the same host memory, and a guest of the largest
    /// size (30 MiB of the arena's 32) still fits after them.
    @Test func guestsReuseTheArena() throws {
        let hello = try #require(try GuestRunSupport.images.get().first { $0.name == "hello64" })
        var images: [GuestRunSupport.Image] = []
        for index in 0..<20 {
            images.append(
                GuestRunSupport.Image(
                    name: "hello64.bin", commandLine: "guest name=g\(index) mode=long load=0x10000",
                    bytes: hello.bytes, isBuiltIn: false))
        }
        images.append(
            GuestRunSupport.Image(
                name: "hello64.bin", commandLine: "guest name=big mode=long load=0x10000 memory=30",
                bytes: hello.bytes, isBuiltIn: false))
        let run = try GuestRunSupport.runHypervisor(profile: "corei7_skylake_x", images: images)
        let starts = run.lines.filter { $0.hasPrefix("guest g") && $0.contains(", entry 0x10000, ") }
        #expect(starts.count == 20)
        #expect(
            Set(starts.map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") }).count == 1,
            "every guest gets the same memory: \(starts)")
        #expect(
            run.lines.filter { $0.hasPrefix("guest g") && $0.hasSuffix("stopped: halted (HLT) (82 VM exits)") }.count
                == 20)
        #expect(
            run.lines.contains {
                $0.hasPrefix("guest big: 64-bit mode, entry 0x10000, 30 MiB at guest-physical 0x0 (host 0x1200000)")
            },
            "\(run.lines.joined(separator: "\n"))")
        #expect(run.lines.contains("guest big stopped: halted (HLT) (82 VM exits)"))
        #expect(run.succeeded)
    }

    /// The Bochs lines, changed where Bochs 2.7 and the SDM disagree.
    static func adjusted(_ lines: [String], capabilities: VMXCapabilities) -> [String] {
        var lines = lines
        // Bochs 2.7 delivers no MTF VM exit after VM entry on the two models that allow the
        // monitor trap flag; the SDM (26.7.2) says one is pending after the first instruction,
        // and the emulated CPU delivers it: the hypervisor single-steps with the MTF there.
        if capabilities.primaryProcessorBasedControls.allowsOne(.monitorTrapFlag) {
            lines = lines.map { line in
                if line.hasPrefix("VMCS: monitor trap flag allowed, but the probe") {
                    return "VMCS: monitor trap flag allowed, and its VM exits arrive (probe): single steps use it"
                }
                return line.replacingOccurrences(
                    of: "single-stepping 4 instructions with RFLAGS.TF and #DB exiting",
                    with: "single-stepping 4 instructions with the monitor trap flag")
            }
        }
        // Without INVEPT (no EPT, or EPT_VPID_CAP[20] = 0) the instruction does not exist:
        // #UD, which has priority over the VM exit (SDM 26.1.1, 31.3 INVEPT "#UD ... if the
        // logical processor does not support EPT"). Bochs exits with reason 50 instead. The
        // guest sees #UD either way; the hypervisor sees one VM exit fewer.
        if !capabilities.hasINVEPT {
            lines.removeAll { $0.hasPrefix("guest bad64: 50 (INVEPT)") }
            lines = lines.map {
                $0 == "guest bad64 stopped: halted (HLT) (53 VM exits)"
                    ? "guest bad64 stopped: halted (HLT) (52 VM exits)" : $0
            }
        }
        return lines
    }
}
