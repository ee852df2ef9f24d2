// Two emulated processors over one memory (EmulatedMachine), each running the hypervisor's own
// run loop one VM entry at a time (VirtualCPUProgram), interleaved round-robin: the hypervisor
// on processor 0 sends INIT-SIPI-SIPI through its Host seam to processor 1, whose application
// processor's virtual CPU waits for SIPI; the SIPI exit and the start-up handlers run there,
// and the guest ends at the vector. Every run interleaves the same way, so the schedule and the
// fate of each IPI are exact.
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct EmulatedMachineStartupTests {
    /// Boxes what a handler closure changes.
    final class Queue: @unchecked Sendable {
        var ipis: [InterProcessorInterrupt]
        init(_ ipis: [InterProcessorInterrupt]) { self.ipis = ipis }
    }

    /// A machine of two processors like corei7_skylake_x's (APIC IDs 0 and 1, each with half of
    /// the hypervisor arena): on processor 0 the bootstrap processor's guest, CPUID three times
    /// then HLT, whose CPUID exits send `ipis` to APIC ID 1, one per exit, through the Host
    /// seam before the standard handler completes the CPUID; on processor 1 the application
    /// processor's guest, in wait-for-SIPI before either is launched.
    static func machine(sending ipis: [InterProcessorInterrupt]) throws -> (
        EmulatedMachine, bsp: VirtualCPUProgram, ap: VirtualCPUProgram
    ) {
        let machine = try StartupGuestSupport.twoProcessorMachine()
        var arena0 = StartupGuestSupport.arena(half: 0)
        var arena1 = StartupGuestSupport.arena(half: 1)
        let bsp = try StartupGuestSupport.guest(
            on: machine.processors[0], arena: &arena0, name: "bsp", code: [0x0F, 0xA2, 0x0F, 0xA2, 0x0F, 0xA2, 0xF4])
        let ap = try StartupGuestSupport.guest(
            on: machine.processors[1], arena: &arena1, name: "ap", code: StartupGuestSupport.applicationProcessorCode,
            vpid: 2)
        ap.isApplicationProcessor = true
        #expect(loadStartState(ap, startupVector: nil))
        let queue = Queue(ipis)
        bsp.handlers[.cpuid] = { vcpu, exit in
            if !queue.ipis.isEmpty { vcpu.cpu.sendInterProcessorInterrupt(queue.ipis.removeFirst(), to: 1) }
            return handleCPUID(vcpu, &exit)
        }
        return (machine, VirtualCPUProgram(bsp), VirtualCPUProgram(ap))
    }

    static func schedule(_ machine: EmulatedMachine) -> [String] {
        machine.schedule.map { "\($0.apicID) \($0.step)" }
    }

    @Test func theBootstrapProcessorsINITSIPISIPIStartsTheApplicationProcessorAtItsVector() throws {
        let sequence: [InterProcessorInterrupt] = [.initSignal, .startup(vector: 0x10), .startup(vector: 0x10)]
        let (machine, bsp, ap) = try Self.machine(sending: sequence)
        let outcome = machine.run([bsp.step, ap.step])
        #expect(outcome == .finished(steps: 7))
        #expect(
            Self.schedule(machine) == [
                "0 ran", "1 waiting",  // CPUID: INIT, dropped in wait-for-SIPI
                "0 ran", "1 ran",  // CPUID: SIPI, latched; processor 1 takes the SIPI exit
                "0 ran", "1 ran",  // CPUID: SIPI, discarded (processor 1 runs); its CPUID exit
                "0 finished", "1 finished"  // both HLT
            ])
        #expect(
            machine.interProcessorMessages == [
                InterProcessorMessage(source: 0, destination: 1, ipi: .initSignal, delivery: .initDroppedInWaitForSIPI),
                InterProcessorMessage(
                    source: 0, destination: 1, ipi: .startup(vector: 0x10), delivery: .startupLatched),
                InterProcessorMessage(
                    source: 0, destination: 1, ipi: .startup(vector: 0x10), delivery: .startupDiscarded)
            ])
        #expect(bsp.stop == .halted)
        #expect(ap.stop == .halted)
        // Processor 1's guest ran the real-mode code at vector << 12 and halted there.
        #expect(ap.vcpu.read(.guestCSSelector) == 0x1000)
        #expect(ap.vcpu.read(.guestCSBase) == 0x1_0000)
        #expect(ap.vcpu.read(.guestRIP) == 2)
        #expect(ap.vcpu.read(.exitReason) == UInt64(ExitReason.hlt.rawValue))
        let apStatistics = ap.vcpu.statistics
        #expect(apStatistics.count(basicReason: Int(ExitReason.startupIPI.rawValue), cpu: ap.vcpu.cpu) == 1)
        #expect(apStatistics.count(basicReason: Int(ExitReason.initSignal.rawValue), cpu: ap.vcpu.cpu) == 0)
        #expect(bsp.vcpu.read(.guestRIP) == 0x1_0006)
        for cpu in machine.processors { #expect(cpu.guestExecutionProblems.isEmpty) }
    }

    /// The bootstrap processor stops without a SIPI: nothing can wake processor 1 any more,
    /// and the run ends saying so instead of hanging. Processor 1 never entered its guest.
    @Test func withNoSIPIAWaitingProcessorEndsTheRunWithNoEvent() throws {
        let (machine, bsp, ap) = try Self.machine(sending: [.initSignal])
        #expect(machine.run([bsp.step, ap.step]) == .noEvent(waiting: [1]))
        #expect(bsp.stop == .halted)
        #expect(ap.stop == nil)
        #expect(!ap.vcpu.launched)
        #expect(machine.processors[1].waitsForSIPI)
        #expect(machine.processors[1].guestInstructionsRetired == 0)
    }

    /// An INIT to a running application processor: its INIT exit, and the hypervisor returns it
    /// to wait-for-SIPI, where the machine stops stepping it until the next SIPI starts it again.
    @Test func anINITToTheRunningApplicationProcessorReturnsItToWaitForSIPI() throws {
        let (machine, bsp, ap) = try Self.machine(sending: [
            .startup(vector: 0x10), .initSignal, .startup(vector: 0x10)
        ])
        #expect(machine.run([bsp.step, ap.step]) == .finished(steps: 9))
        #expect(
            Self.schedule(machine) == [
                "0 ran", "1 ran",  // SIPI, latched; the SIPI exit
                "0 ran", "1 ran",  // INIT, pending; the INIT exit: back to wait-for-SIPI
                "0 ran", "1 ran",  // SIPI, latched; the SIPI exit
                "0 finished", "1 ran",  // HLT; CPUID
                "1 finished"  // HLT
            ])
        #expect(
            machine.interProcessorMessages.map(\.delivery) == [.startupLatched, .initPending, .startupLatched])
        let counts = [ExitReason.startupIPI, .initSignal, .cpuid, .hlt].map {
            ap.vcpu.statistics.count(basicReason: Int($0.rawValue), cpu: ap.vcpu.cpu)
        }
        #expect(counts == [2, 1, 1, 1])
        #expect(ap.stop == .halted)
    }
}
