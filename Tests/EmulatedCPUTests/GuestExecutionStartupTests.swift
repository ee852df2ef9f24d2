// The wait-for-SIPI activity state and the INIT and SIPI VM exits on the emulated CPU alone
// (EmulatedCPU+InterProcessorInterrupts, GuestExecution.startupEventAfterEntry), without the
// hypervisor's code: SDM 26.2 (INIT and SIPI in VMX non-root operation), 27.7.2 (what each
// activity state blocks), 28.2.1 (the SIPI's vector in the exit qualification), 28.3.4 (the
// activity state saved), 27.3.1.5 (IA32_VMX_MISC[8]).
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionStartupTests {
    /// A real-mode guest at 1000:0000 (unrestricted guest) that halts with HLT exiting; RIP
    /// stays at its HLT.
    static func realModeGuest(profile: CapabilityProfile? = nil) throws -> GuestMachine {
        try GuestMachine(profile: profile, kind: .realMode, code: [0xF4])
    }

    /// What the hypervisor does with a SIPI exit, as far as these tests need: the guest starts
    /// active at vector << 12 (SDM Vol. 3A 9.4.4.1), nothing blocked.
    static func start(_ guest: GuestMachine, vector: UInt8) throws {
        try guest.write(.guestActivityState, GuestActivityState.active)
        try guest.write(.guestInterruptibilityState, 0)
        try guest.write(.guestCSSelector, UInt64(vector) << 8)
        try guest.write(.guestCSBase, UInt64(vector) << 12)
        try guest.write(.guestRIP, 0)
    }

    @Test func aSIPIToAGuestInWaitForSIPIExitsWithItsVector() throws {
        var guest = try Self.realModeGuest()
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        try guest.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)
        #expect(guest.cpu.waitsForSIPI)
        #expect(guest.cpu.receive(.startup(vector: 0x10), from: 0) == .startupLatched)
        #expect(!guest.cpu.waitsForSIPI)
        #expect(try guest.run(launch: true) == .startupIPI)
        #expect(try guest.read(.exitQualification) == 0x10)
        // Saved as they were before the VM exit (SDM 28.3.4 with 28.1): the guest was waiting,
        // and nothing unblocked NMIs. (Bochs 2.7 saves activity state 0 with blocking by SMI
        // and NMI set.)
        #expect(try guest.read(.guestActivityState) == GuestActivityState.waitForSIPI)
        #expect(try guest.read(.guestInterruptibilityState) == GuestInterruptibility.blockingByNMI)
        #expect(try guest.read(.guestRIP) == 0)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0)
        #expect(guest.cpu.guestInstructionsRetired == 0)
        #expect(guest.cpu.latchedStartupVector == nil)
        #expect(guest.cpu.vmxOperation == .root)
        // Started at the vector, the guest runs real-mode code there.
        try Self.start(guest, vector: 0x10)
        #expect(try guest.run(launch: false) == .hlt)
        #expect(try guest.read(.guestCSSelector) == 0x1000)
        #expect(try guest.read(.guestRIP) == 0)
        #expect(guest.cpu.guestExecutionProblems.isEmpty)
    }

    /// The VMX-preemption timer causes no VM exit in wait-for-SIPI (SDM 26.5.1), not even with
    /// the value 0 that would exit before the first instruction of an active guest.
    @Test func thePreemptionTimerDoesNotEndWaitForSIPI() throws {
        var guest = try Self.realModeGuest()
        try guest.set(
            .pinBasedVMExecutionControls, adding: UInt64(PinBasedControls.activateVMXPreemptionTimer.rawValue))
        try guest.write(.vmxPreemptionTimerValue, 0)
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        guest.cpu.receive(.startup(vector: 0x10), from: 0)
        #expect(try guest.run(launch: true) == .startupIPI)
        try Self.start(guest, vector: 0x10)
        #expect(try guest.run(launch: false) == .preemptionTimerExpired)
    }

    /// With no SIPI latched, VM entry into wait-for-SIPI would never return: the emulated CPU
    /// reports it and stops with its emulation-limit exit (FFFFH) instead of hanging.
    @Test func waitForSIPIWithNoSIPIEndsWithAProblemNotAHang() throws {
        var guest = try Self.realModeGuest()
        var problems: [String] = []
        guest.cpu.faultReporter = { problems.append($0) }
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        #expect(try guest.run(launch: true) == ExitReason(rawValue: 0xFFFF))
        #expect(
            problems == [
                """
                guest execution on the emulated CPU (synthetic-full): the guest waits for SIPI (activity state 3) \
                and no SIPI has arrived: nothing runs while a processor waits inside VM entry (EmulatedMachine \
                enters a waiting processor only after its SIPI)
                """
            ])
        #expect(guest.cpu.guestInstructionsRetired == 0)
    }

    @Test func anINITExitsAnActiveGuestBeforeItsFirstInstruction() throws {
        var guest = try Self.realModeGuest()
        #expect(guest.cpu.receive(.initSignal, from: 1) == .initPending)
        #expect(guest.cpu.initSignalPending)
        #expect(try guest.run(launch: true) == .initSignal)
        #expect(try guest.read(.exitQualification) == 0)
        #expect(try guest.read(.guestActivityState) == GuestActivityState.active)
        #expect(try guest.read(.guestRIP) == 0)
        #expect(guest.cpu.guestInstructionsRetired == 0)
        #expect(!guest.cpu.initSignalPending)
        // Taken once: the next VM entry runs the guest.
        #expect(try guest.run(launch: false) == .hlt)
    }

    /// An INIT wakes the HLT state with a VM exit that saves HLT (SDM 28.1: the return to the
    /// active state comes after the VM exit).
    @Test func anINITExitsAHaltedGuestSavingTheHLTState() throws {
        var guest = try Self.realModeGuest()
        try guest.write(.guestActivityState, GuestActivityState.hlt)
        guest.cpu.receive(.initSignal, from: 1)
        #expect(try guest.run(launch: true) == .initSignal)
        #expect(try guest.read(.guestActivityState) == GuestActivityState.hlt)
    }

    /// INIT is blocked in wait-for-SIPI (SDM 26.2, 27.7.2): dropped, as KVM does; the next SIPI
    /// starts the guest.
    @Test func anINITInWaitForSIPIIsDroppedAndTheNextSIPIStartsTheGuest() throws {
        var guest = try Self.realModeGuest()
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        #expect(guest.cpu.receive(.initSignal, from: 0) == .initDroppedInWaitForSIPI)
        #expect(!guest.cpu.initSignalPending)
        #expect(guest.cpu.receive(.startup(vector: 0x10), from: 0) == .startupLatched)
        #expect(try guest.run(launch: true) == .startupIPI)
        try Self.start(guest, vector: 0x10)
        #expect(try guest.run(launch: false) == .hlt)
    }

    /// An INIT held pending in root operation is dropped by the VM entry into wait-for-SIPI
    /// that comes before a SIPI can be taken.
    @Test func anINITHeldPendingIsDroppedByTheEntryIntoWaitForSIPI() throws {
        var guest = try Self.realModeGuest()
        #expect(guest.cpu.receive(.initSignal, from: 0) == .initPending)
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        #expect(guest.cpu.receive(.startup(vector: 0x10), from: 0) == .startupLatched)
        #expect(!guest.cpu.initSignalPending)
        #expect(try guest.run(launch: true) == .startupIPI)
        try Self.start(guest, vector: 0x10)
        #expect(try guest.run(launch: false) == .hlt)
    }

    /// An INIT that arrives after the SIPI (the processor is on its way out of wait-for-SIPI,
    /// into root operation) is held pending and exits once the guest started.
    @Test func anINITAfterTheSIPIExitsOnceTheGuestStarted() throws {
        var guest = try Self.realModeGuest()
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        guest.cpu.receive(.startup(vector: 0x10), from: 0)
        #expect(guest.cpu.receive(.initSignal, from: 0) == .initPending)
        #expect(try guest.run(launch: true) == .startupIPI)
        try Self.start(guest, vector: 0x10)
        #expect(try guest.run(launch: false) == .initSignal)
        #expect(try guest.read(.guestCSSelector) == 0x1000)
        #expect(try guest.read(.guestRIP) == 0)
    }

    /// A SIPI to a processor not in wait-for-SIPI is discarded without a VM exit (SDM 26.2).
    @Test func aSIPIToAnActiveGuestIsDiscarded() throws {
        var guest = try Self.realModeGuest()
        #expect(guest.cpu.receive(.startup(vector: 0x20), from: 0) == .startupDiscarded)
        #expect(guest.cpu.latchedStartupVector == nil)
        #expect(try guest.run(launch: true) == .hlt)
        #expect(try guest.read(.guestRIP) == 0)
        #expect(
            guest.cpu.receivedInterProcessorInterrupts.map { "\($0.ipi) from \($0.source): \($0.delivery)" } == [
                "startup(vector: 32) from 0: startupDiscarded"
            ])
    }

    @Test func outsideVMXOperationINITAndSIPIAreNotModelled() throws {
        let cpu = EmulatedCPU(profile: try Profiles.synthetic(), memorySize: 1 << 20, faultReporter: recordIssue)
        #expect(cpu.receive(.initSignal, from: 0) == .notModelled)
        #expect(cpu.receive(.startup(vector: 1), from: 0) == .notModelled)
        #expect(cpu.receive(.nmi, from: 0) == .notModelled)
        #expect(!cpu.initSignalPending)
    }

    /// Activity state 3 needs IA32_VMX_MISC[8]: without it VM entry fails with reason 33
    /// (SDM 27.3.1.5, rule guest.activity-state.supported), qualification 0.
    @Test func withoutIA32VMXMISCBit8WaitForSIPIFailsVMEntry() throws {
        let misc = MSR.ia32VMXMisc.rawValue
        var guest = try Self.realModeGuest(profile: try Profiles.synthetic(msr: misc, clearing: 1 << 8))
        try guest.write(.guestActivityState, GuestActivityState.waitForSIPI)
        #expect(try guest.run(launch: true) == ExitReason.entryFailureGuestState.asEntryFailure)
        #expect(try guest.read(.exitQualification) == 0)
        #expect(guest.cpu.lastEntryCheckReport?.firstFailure?.rule.identifier == "guest.activity-state.supported")
        #expect(guest.cpu.vmxOperation == .root)
    }
}
