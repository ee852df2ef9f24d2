// A guest's budget bounds everything done on its behalf (docs/GUESTS.md, "Time budget"): the
// hostile user images of the boot tests (guests/printflood.asm, bpflood.asm, msrsweep.asm,
// portsweep.asm) run on the emulated CPU with a small budget; the TSC around each is read by
// another guest (guests/tsc.asm), not taken from the hypervisor's account; their lines are
// bounded per kind and the rest summarised. A budget above what the VMX-preemption timer counts
// in one arming is re-armed until it is spent.
import Foundation
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct ContainmentTests {
    static let hostile = ["printflood", "bpflood", "msrsweep", "portsweep"]
    static let budget: UInt64 = 2_000_000

    static func images() throws -> [GuestRunSupport.Image] {
        func flat(_ name: String) throws -> [UInt8] {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(
                "swiftvmx-contain-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            let guests = GuestRunSupport.repository.appendingPathComponent("guests")
            let output = work.appendingPathComponent(name + ".bin")
            _ = try GuestRunSupport.run([
                "nasm", "-f", "bin", "-w+all", "-I", guests.path + "/", "-o", output.path,
                guests.appendingPathComponent(name + ".asm").path
            ])
            return [UInt8](try Data(contentsOf: output))
        }
        let tsc = try flat("tsc")
        var images: [GuestRunSupport.Image] = []
        for (index, name) in hostile.enumerated() {
            images.append(
                .init(
                    name: "m", commandLine: "guest name=tsc-\(index) mode=long load=0x10000", bytes: tsc,
                    isBuiltIn: false))
            images.append(
                .init(
                    name: "m", commandLine: "guest name=\(name) mode=long load=0x10000 budget=\(budget)",
                    bytes: try flat(name), isBuiltIn: false))
        }
        images.append(
            .init(
                name: "m", commandLine: "guest name=tsc-\(hostile.count) mode=long load=0x10000", bytes: tsc,
                isBuiltIn: false))
        return images
    }

    @Test func hostileGuestsCostTheirBudgetAndBoundedLines() throws {
        let run = try GuestRunSupport.runHypervisor(profile: "corei7_skylake_x", images: try Self.images())
        #expect(run.succeeded)
        var readings: [UInt64] = []
        for index in 0...Self.hostile.count {
            let prefix = "[tsc-\(index)] tsc 0x"
            let line = try #require(run.lines.first { $0.hasPrefix(prefix) }, "\(run.lines.joined(separator: "\n"))")
            readings.append(try #require(UInt64(line.dropFirst(prefix.count), radix: 16)))
        }
        for (index, name) in Self.hostile.enumerated() {
            let cost = readings[index + 1] &- readings[index]
            // The guest's budget, plus building and reporting it and the next probe: far less
            // than 10 M cycles (Tests/boot/run.py holds Bochs to budget + 10 M).
            #expect(cost <= Self.budget + 10_000_000, "\(name) cost \(cost) TSC cycles for a budget of \(Self.budget)")
            let lines = run.lines.filter { $0.hasPrefix("guest \(name)") || $0.hasPrefix("[\(name)]") }
            #expect(lines.count <= 64 + 4, "\(name): \(lines.count) lines")
            #expect(
                lines.last == nil
                    || lines.last!.contains(
                        "stopped: time budget of \(Self.budget) TSC cycles exhausted (VMX-preemption timer)"),
                "\(lines.suffix(3))")
        }
        let summaries = run.lines.filter { $0.contains(": ... and ") }
        for (name, noun) in [
            ("printflood", "PRINT lines"), ("bpflood", "exceptions reflected"),
            ("msrsweep", "refused MSR accesses"), ("portsweep", "refused port accesses")
        ] {
            #expect(
                summaries.contains {
                    $0.hasPrefix("guest \(name): ... and ") && $0.hasSuffix(" more \(noun) (not logged)")
                },
                "\(summaries)")
        }
        #expect(run.lines.contains { $0.hasSuffix(" refused MSR accesses not logged") })
        #expect(run.lines.contains { $0.hasSuffix(" refused port accesses not logged") })
    }

    /// The VMX-preemption timer is 32 bits wide: a budget above 2^32 - 1 ticks is armed in
    /// parts, and the stop comes only when the whole of it is spent.
    @Test func aBudgetAboveOneArmingIsReArmedUntilSpent() throws {
        let (vcpu, _) = try DiagnosticsEntryFailureTests.guest(profile: "corei7_skylake_x")
        let cpu = vcpu.cpu
        #expect(vcpu.setup.usesPreemptionTimer)
        let rate = UInt64(vcpu.setup.preemptionTimerRate)
        let oneArming = UInt64(UInt32.max) << rate
        vcpu.budgetCycles = 3 * oneArming
        vcpu.armBudget()
        #expect(vcpu.read(.vmxPreemptionTimerValue) == UInt64(UInt32.max))
        vcpu.launched = true
        var exit = ExitContext(reason: ExitReason(rawValue: 52), qualification: 0, rip: 0)
        cpu.guestExecution.timestampCounter &+= oneArming  // the first arming expires
        guard case .resume = handlePreemptionTimerExpired(vcpu, &exit) else {
            Issue.record("stopped after one arming"); return
        }
        vcpu.armBudget()
        #expect(vcpu.read(.vmxPreemptionTimerValue) == UInt64(UInt32.max))
        cpu.guestExecution.timestampCounter &+= oneArming + oneArming / 2
        guard case .resume = handlePreemptionTimerExpired(vcpu, &exit) else {
            Issue.record("stopped after 2.5 armings"); return
        }
        vcpu.armBudget()
        let rest = 3 * oneArming - oneArming - (oneArming + oneArming / 2)
        #expect(vcpu.read(.vmxPreemptionTimerValue) == rest >> rate)
        cpu.guestExecution.timestampCounter &+= rest
        guard case .stop(.budgetExhausted(let cycles, true)) = handlePreemptionTimerExpired(vcpu, &exit) else {
            Issue.record("not stopped when the budget was spent"); return
        }
        #expect(cycles == 3 * oneArming)
    }

    /// Where the VMX-preemption timer saves its value on VM exit, one arming covers 16 VM
    /// entries (the timer keeps counting the guest's own time in between); a logged line, string
    /// I/O or an early expiry makes the next entry arm it, charging the host's time at once.
    @Test func theTimerIsArmedEverySixteenthEntryOrAfterHeavyWork() throws {
        let (vcpu, _) = try DiagnosticsEntryFailureTests.guest(profile: "corei7_skylake_x")
        #expect(vcpu.setup.savesPreemptionTimer)
        vcpu.budgetCycles = 1_000_000
        vcpu.armBudget()
        #expect(vcpu.entriesBeforeArming == 16)
        vcpu.log(.print, "a line")
        #expect(vcpu.entriesBeforeArming == 0)
        vcpu.armBudget()
        vcpu.launched = true
        var exit = ExitContext(reason: ExitReason(rawValue: 52), qualification: 0, rip: 0)
        guard case .resume = handlePreemptionTimerExpired(vcpu, &exit) else { Issue.record("stopped early"); return }
        #expect(vcpu.entriesBeforeArming == 0)
    }
}
