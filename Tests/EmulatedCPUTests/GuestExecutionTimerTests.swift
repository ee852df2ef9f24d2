// Time-driven VM exits on the emulated CPU, with time counted in guest instructions (one TSC
// cycle each): the VMX-preemption timer (SDM 26.5.1), the monitor trap flag (26.7.2), the
// interrupt and NMI windows (26.7.5, 26.7.6), and the host timer's external interrupt (26.2,
// 28.2.2), in the active and the HLT activity states.
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionTimerTests {
    static let endlessLoop = "jmp $"

    @Test func preemptionTimerStopsAnEndlessLoop() throws {
        var guest = try GuestMachine(code: try assemble(Self.endlessLoop))
        try guest.set(
            .pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.activateVMXPreemptionTimer.rawValue))
        try guest.set(.primaryVMExitControls, adding: UInt64(VMExitControls.saveVMXPreemptionTimerValue.rawValue))
        try guest.write(.vmxPreemptionTimerValue, 100)
        let rate = guest.cpu.capabilities!.misc.preemptionTimerRate
        #expect(try guest.run(launch: true) == .preemptionTimerExpired)
        // The timer counts down once per 2^rate TSC cycles: 100 << rate instructions.
        #expect(guest.cpu.guestInstructionsRetired == UInt64(100) << UInt64(rate))
        #expect(guest.cpu.readTimestampCounter() == UInt64(100) << UInt64(rate))
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
        #expect(try guest.read(.vmxPreemptionTimerValue) == 0)
        #expect(try guest.read(.exitQualification) == 0)
    }

    @Test func preemptionTimerOfZeroExitsBeforeTheFirstInstruction() throws {
        var guest = try GuestMachine(code: try assemble("nop\ncpuid"))
        try guest.set(
            .pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.activateVMXPreemptionTimer.rawValue))
        try guest.write(.vmxPreemptionTimerValue, 0)
        #expect(try guest.run(launch: true) == .preemptionTimerExpired)
        #expect(guest.cpu.guestInstructionsRetired == 0)
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
    }

    @Test func monitorTrapFlagSingleSteps() throws {
        var guest = try GuestMachine(code: try assemble("nop\nmov eax, 1\nadd eax, 2\ncpuid"))
        try guest.setPrimary(.monitorTrapFlag)
        #expect(try guest.run(launch: true) == .monitorTrapFlag)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 1)
        #expect(try guest.run(launch: false) == .monitorTrapFlag)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 6)
        #expect(guest.registers.rax == 1)
        #expect(try guest.run(launch: false) == .monitorTrapFlag)
        #expect(guest.registers.rax == 3)
        // CPUID exits itself: no MTF exit for it.
        #expect(try guest.run(launch: false) == .cpuid)
        #expect(guest.cpu.guestInstructionsRetired == 3)
    }

    @Test func monitorTrapFlagAfterAnEmulatedInstructionAndAfterInjection() throws {
        var guest = try GuestMachine(code: try assemble("mov rax, cr0\nnop"))
        guest.setInterruptGate(0x30, handler: 0x11000)
        guest.writeGuest(0x11000, [0x90])
        try guest.setPrimary(.monitorTrapFlag)
        #expect(try guest.run(launch: true) == .monitorTrapFlag)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 3)
        // An injected event: the MTF exit comes before the handler's first instruction.
        try guest.write(.guestRFLAGS, 0x202)
        try guest.write(
            .vmEntryInterruptionInformation,
            UInt64(VMEntryInterruptionInformation(vector: 0x30, type: .externalInterrupt).rawValue))
        #expect(try guest.run(launch: false) == .monitorTrapFlag)
        #expect(try guest.read(.guestRIP) == 0x11000)
    }

    @Test func interruptWindowOpensAfterSTIBlocking() throws {
        var guest = try GuestMachine(code: try assemble("nop\nsti\nnop\nnop"))
        try guest.setPrimary(.interruptWindowExiting)
        #expect(try guest.run(launch: true) == .interruptWindow)
        // STI sets IF; the instruction after it is still blocked (blocking by STI).
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 3)
        #expect(try guest.read(.guestRFLAGS) & 0x200 != 0)
        #expect(try guest.read(.guestInterruptibilityState) == 0)
    }

    /// IRETQ to the next instruction with the same RSP, RFLAGS, CS (08H) and SS (10H); LEA is
    /// 7 bytes, PUSH RCX 1, IRETQ 2.
    static let iretToNext = """
        mov rax, rsp
        push 0x10
        push rax
        pushfq
        push 0x8
        lea rcx, [rel $ + 10]
        push rcx
        iretq
        """

    @Test func iretEndsVirtualNMIBlockingAndTheNMIWindowOpens() throws {
        var guest = try GuestMachine(code: try assemble(Self.iretToNext + "\nnop"))
        let pin = PinBasedControls([.nmiExiting, .virtualNMIs])
        try guest.set(.pinBasedVMExecutionControls, adding: UInt64(pin.rawValue))
        try guest.setPrimary(.nmiWindowExiting)
        try guest.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)
        #expect(try guest.run(launch: true) == .nmiWindow)
        // Right after the IRETQ (19 bytes of code), before the NOP.
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 19)
        #expect(try guest.read(.guestRSP) == GuestMachine.stackTop)
        #expect(try guest.read(.guestInterruptibilityState) == 0)
    }

    @Test func withNMIExitingAndNoVirtualNMIsIRETLeavesBlockingByNMI() throws {
        // SDM 26.3: "If the 'NMI exiting' VM-execution control is 1 and the 'virtual NMIs'
        // control is 0, IRET does not affect blocking of NMIs."
        var guest = try GuestMachine(code: try assemble(Self.iretToNext + "\ncpuid"))
        try guest.set(.pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.nmiExiting.rawValue))
        try guest.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestInterruptibilityState) == GuestInterruptibility.blockingByNMI)
        // Without "NMI exiting" IRET unblocks NMIs, as outside VMX non-root operation.
        var plain = try GuestMachine(code: try assemble(Self.iretToNext + "\ncpuid"))
        try plain.set(.pinBasedVMExecutionControls, removing: UInt64(PinBasedControls.nmiExiting.rawValue))
        try plain.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)
        #expect(try plain.run(launch: true) == .cpuid)
        #expect(try plain.read(.guestInterruptibilityState) == 0)
    }

    @Test func exitRightAfterSTISavesBlockingBySTI() throws {
        var guest = try GuestMachine(code: try assemble("sti\ncpuid"))
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestInterruptibilityState) == 1)
    }

    @Test func hostTimerInterruptExitsWithItsVector() throws {
        var guest = try GuestMachine(code: try assemble(Self.endlessLoop))
        try guest.set(.pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.externalInterruptExiting.rawValue))
        try guest.set(.primaryVMExitControls, adding: UInt64(VMExitControls.acknowledgeInterruptOnExit.rawValue))
        let vector = guest.cpu.armHostTimer(cycles: 500)
        #expect(vector == 0x20)
        #expect(!guest.cpu.hostTimerExpired())
        #expect(try guest.run(launch: true) == .externalInterrupt)
        #expect(guest.cpu.guestInstructionsRetired == 500)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0020)
        #expect(guest.cpu.hostTimerExpired())
        guest.cpu.disarmHostTimer()
        #expect(!guest.cpu.hostTimerExpired())
    }

    @Test func hostTimerWithoutAcknowledgeLeavesTheInterruptPending() throws {
        var guest = try GuestMachine(code: try assemble(Self.endlessLoop))
        try guest.set(.pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.externalInterruptExiting.rawValue))
        _ = guest.cpu.armHostTimer(cycles: 10)
        #expect(try guest.run(launch: true) == .externalInterrupt)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0)
        // Still pending: the next entry exits at once, until the host ends the interrupt.
        #expect(try guest.run(launch: false) == .externalInterrupt)
        #expect(guest.cpu.guestInstructionsRetired == 10)
        guest.cpu.endHostInterrupt(vector: 0x20)
        _ = guest.cpu.armHostTimer(cycles: 5)
        #expect(try guest.run(launch: false) == .externalInterrupt)
        #expect(guest.cpu.guestInstructionsRetired == 15)
    }

    @Test func haltedGuestWakesForTheHostTimer() throws {
        // HLT without HLT exiting: the guest waits; with external-interrupt exiting the timer's
        // interrupt exits, saving the HLT activity state.
        var guest = try GuestMachine(code: try assemble("hlt\ncpuid"))
        try guest.clearPrimary(.hltExiting)
        try guest.set(.pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.externalInterruptExiting.rawValue))
        try guest.set(.primaryVMExitControls, adding: UInt64(VMExitControls.acknowledgeInterruptOnExit.rawValue))
        _ = guest.cpu.armHostTimer(cycles: 1000)
        #expect(try guest.run(launch: true) == .externalInterrupt)
        #expect(try guest.read(.guestActivityState) == 1)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 1)
        #expect(guest.cpu.readTimestampCounter() == 1000)
        // Resumed active, the guest runs on.
        try guest.write(.guestActivityState, 0)
        #expect(try guest.run(launch: false) == .cpuid)
    }

    @Test func haltedGuestTakesTheInterruptThroughItsIDT() throws {
        var guest = try GuestMachine(code: try assemble("sti\nhlt\nnop"))
        try guest.clearPrimary(.hltExiting)
        guest.setInterruptGate(0x20, handler: 0x11000)
        guest.writeGuest(0x11000, [0x0F, 0xA2])
        _ = guest.cpu.armHostTimer(cycles: 100)
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestRIP) == 0x11000)
        // The interrupt returns to the instruction after HLT.
        #expect(guest.readGuest64(try guest.read(.guestRSP)) == GuestMachine.code + 2)
        #expect(try guest.read(.guestActivityState) == 0)
    }

    @Test func preemptionTimerEndsTheHLTState() throws {
        var guest = try GuestMachine(code: try assemble("hlt"))
        try guest.clearPrimary(.hltExiting)
        try guest.set(
            .pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.activateVMXPreemptionTimer.rawValue))
        try guest.write(.vmxPreemptionTimerValue, 3)
        #expect(try guest.run(launch: true) == .preemptionTimerExpired)
        #expect(try guest.read(.guestActivityState) == 1)
        let rate = guest.cpu.capabilities!.misc.preemptionTimerRate
        #expect(guest.cpu.readTimestampCounter() == UInt64(3) << UInt64(rate))
    }

    @Test func singleStepWithTheTrapFlagAndDebugExceptionExits() throws {
        // Without the monitor trap flag: RFLAGS.TF and #DB in the exception bitmap (the
        // hypervisor's fallback). The exit comes after each instruction, BS in the qualification.
        var guest = try GuestMachine(code: try assemble("nop\nmov rax, cr0\nnop"))
        try guest.write(.guestRFLAGS, 0x102)
        try guest.write(.exceptionBitmap, 1 << 1)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0301)
        #expect(try guest.read(.exitQualification) & (1 << 14) != 0)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 1)
        #expect(try guest.run(launch: false) == .exceptionOrNMI)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 4)
        #expect(try guest.read(.exitQualification) & (1 << 14) != 0)
    }
}
