// The emulated machine (EmulatedMachine.swift, +Scheduler.swift): processors over one memory
// with their own APIC IDs, IPIs routed by APIC ID, and the round-robin scheduler of their
// programs - its order, its end when nothing can run, its step limit.
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct EmulatedMachineTests {
    static func machine(apicIDs: [UInt32] = [0, 1]) throws -> EmulatedMachine {
        EmulatedMachine(
            profile: try Profiles.synthetic(), apicIDs: apicIDs, memorySize: 1 << 20, faultReporter: recordIssue)
    }

    @Test func theProcessorsShareOneMemoryAndHaveTheirOwnAPICIDs() throws {
        let machine = try Self.machine(apicIDs: [0, 4, 6])
        #expect(machine.processors.map(\.localAPICID) == [0, 4, 6])
        #expect(machine.processors.allSatisfy { $0.memory === machine.memory && $0.machine === machine })
        // Only the first is the bootstrap processor (IA32_APIC_BASE[8]).
        let bsp = machine.processors.map { $0.readMSR(.ia32APICBase) & LocalAPIC.bootstrapProcessor != 0 }
        #expect(bsp == [true, false, false])
        machine.processors[0].storePhysical32Atomic(0x8000, 0x1234_5678)
        #expect(machine.processors[2].loadPhysical32Atomic(0x8000) == 0x1234_5678)
        #expect(
            machine.processors[1].compareExchangePhysical32(0x8000, expected: 0x1234_5678, desired: 7) == 0x1234_5678)
        #expect(machine.processors[1].compareExchangePhysical32(0x8000, expected: 0x1234_5678, desired: 9) == 7)
        #expect(machine.processors[0].readPhysical32(0x8000) == 7)
        #expect(machine.processor(apicID: 4) === machine.processors[1])
        #expect(machine.processor(apicID: 5) == nil)
    }

    /// Outside VMX operation INIT and SIPI are not modelled (they would reset or start the
    /// processor itself); an IPI to an APIC ID no processor has reaches no one.
    @Test func ipisGoByAPICID() throws {
        let machine = try Self.machine()
        let sender = machine.processors[0]
        #expect(sender.sendInterProcessorInterrupt(.startup(vector: 8), to: 1))
        #expect(sender.sendInterProcessorInterrupt(.nmi, to: 1))
        #expect(!sender.sendInterProcessorInterrupt(.initSignal, to: 2))
        #expect(
            machine.interProcessorMessages == [
                InterProcessorMessage(source: 0, destination: 1, ipi: .startup(vector: 8), delivery: .notModelled),
                InterProcessorMessage(source: 0, destination: 1, ipi: .nmi, delivery: .notModelled),
                InterProcessorMessage(source: 0, destination: 2, ipi: .initSignal, delivery: .noSuchProcessor)
            ])
        #expect(machine.processors[1].receivedInterProcessorInterrupts.count == 2)
        #expect(sender.sentInterProcessorInterrupts.map(\.apicID) == [1, 1, 2])
    }

    @Test func anEmulatedCPUAloneReachesNoOne() throws {
        let cpu = EmulatedCPU(profile: try Profiles.synthetic(), memorySize: 1 << 20, faultReporter: recordIssue)
        #expect(!cpu.sendInterProcessorInterrupt(.initSignal, to: 0))
        #expect(cpu.sentInterProcessorInterrupts.count == 1)
        #expect(cpu.receivedInterProcessorInterrupts.isEmpty)
    }

    /// Round-robin in the order of the processors: processor 1 spins on a word processor 0
    /// writes in its second step, as a start-up trampoline waits for its go.
    @Test func theSchedulerInterleavesTheProgramsInTurn() throws {
        let machine = try Self.machine()
        let (first, second) = (machine.processors[0], machine.processors[1])
        var firstSteps = 0
        let writer: () -> ProcessorStep = {
            firstSteps += 1
            if firstSteps == 2 { first.storePhysical32Atomic(0x9000, 1) }
            return firstSteps == 3 ? .finished : .ran
        }
        var seen = false
        let reader: () -> ProcessorStep = {
            if seen { return .finished }
            seen = second.loadPhysical32Atomic(0x9000) == 1
            return seen ? .ran : .waiting
        }
        #expect(machine.run([writer, reader]) == .finished(steps: 5))
        #expect(
            machine.schedule.map { "\($0.apicID) \($0.step)" } == [
                "0 ran", "1 waiting", "0 ran", "1 ran", "0 finished", "1 finished"
            ])
    }

    @Test func whenNothingCanRunTheRunEndsWithNoEvent() throws {
        let machine = try Self.machine(apicIDs: [0, 1, 2])
        let outcome = machine.run([{ .finished }, nil, { .waiting }])
        #expect(outcome == .noEvent(waiting: [2]))
        #expect(machine.schedule.map { "\($0.apicID) \($0.step)" } == ["0 finished", "2 waiting", "2 waiting"])
    }

    /// Each processor's engine caches its own translations of guest code: code that another
    /// processor's guest rewrote is translated afresh at the next VM entry (every VM exit marks
    /// the shared memory written). The two guests share the guest memory, EPT and page tables
    /// of GuestMachine's layout, with their own VMXON regions and VMCSs; the paging structures'
    /// accessed and dirty flags are set beforehand, so that no page walk writes memory.
    @Test func codeAnotherProcessorsGuestRewroteIsTranslatedAfresh() throws {
        let machine = EmulatedMachine(
            profile: try Profiles.synthetic(), apicIDs: [0, 1], memorySize: 16 << 20, faultReporter: recordIssue)
        // 10000H: mov eax, 1; hlt. 10006H: mov byte [10001H], 2; hlt.
        let code = try assemble("mov eax, 1\nhlt\nmov byte [0x10001], 2\nhlt")
        var reader = try GuestMachine(code: code, processor: machine.processors[1])
        var writer = try GuestMachine(
            code: code, processor: machine.processors[0], vmxonRegion: 0xC000, vmcsRegion: 0xD000)
        try writer.write(.guestRIP, GuestMachine.code + 6)
        let accessedAndDirty: UInt64 = 0x60
        reader.writeGuest64(0x1000, 0x2000 | 7 | accessedAndDirty)
        reader.writeGuest64(0x2000, 0x3000 | 7 | accessedAndDirty)
        reader.writeGuest64(0x3000, 0x0000_0000 | 0x87 | accessedAndDirty)

        #expect(try reader.run(launch: true) == .hlt)
        #expect(reader.registers.rax == 1)
        #expect(try writer.run(launch: true) == .hlt)
        #expect(machine.memory.read8(GuestMachine.guestBase + GuestMachine.code + 1) == 2)
        try reader.write(.guestRIP, GuestMachine.code)
        #expect(try reader.run(launch: false) == .hlt)
        #expect(reader.registers.rax == 2)
    }

    @Test func theStepLimitEndsARunThatNeverFinishes() throws {
        let machine = try Self.machine()
        #expect(machine.run([{ .ran }, { .ran }], stepLimit: 5) == .stepLimitReached(steps: 5))
        #expect(machine.schedule.count == 5)
    }
}
