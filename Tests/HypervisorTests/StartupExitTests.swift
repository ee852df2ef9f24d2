// INIT and SIPI exits (StartupExits.swift) taken for real: the emulated CPU models the
// wait-for-SIPI activity state and the INIT and SIPI VM exits (docs/EMULATED-CPU.md), and the
// hypervisor's run loop handles them one VM entry at a time (VirtualCPU.step). An application
// processor's virtual CPU waits for SIPI after INIT and starts in real mode at the SIPI's
// vector; the bootstrap processor's INIT ends the guest. Each loaded state is checked against
// the hypervisor's own VM-entry rules (SDM 27.3) and then entered.
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct StartupExitTests {
    /// An application processor's virtual CPU on `profile`, put in wait-for-SIPI as the
    /// hypervisor does before the guest's bootstrap processor runs, not yet launched.
    static func applicationProcessor(profile: String = "corei7_skylake_x") throws -> VirtualCPU<EmulatedCPU> {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: profile), memorySize: 64 << 20, faultReporter: recordIssue)
        var arena = PageArena()
        let vcpu = try StartupGuestSupport.guest(
            on: cpu, arena: &arena, name: "ap", code: StartupGuestSupport.applicationProcessorCode)
        vcpu.isApplicationProcessor = true
        return vcpu
    }

    static func entryRuleFailures(_ vcpu: VirtualCPU<EmulatedCPU>) -> [String] {
        runEntryRules(vcpu).failures.map(\.description)
    }

    @Test func aSIPIExitStartsTheApplicationProcessorInRealModeAtItsVector() throws {
        let vcpu = try Self.applicationProcessor()
        #expect(loadStartState(vcpu, startupVector: nil))
        // What the exit saves and the start must not keep: blocking by NMI, the old registers,
        // an interrupt the hypervisor held for the guest.
        vcpu.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)
        vcpu.registers.rax = 0x1234
        vcpu.pendingInterrupt = 0x40
        #expect(vcpu.cpu.waitsForSIPI)
        #expect(vcpu.cpu.receive(.startup(vector: 0x10), from: 0) == .startupLatched)

        #expect(vcpu.step() == nil)
        #expect(vcpu.launched)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.startupIPI.rawValue))
        #expect(vcpu.read(.exitQualification) == 0x10)
        #expect(vcpu.read(.guestCSSelector) == 0x1000)
        #expect(vcpu.read(.guestCSBase) == 0x1_0000)
        #expect(vcpu.read(.guestCSLimit) == 0xFFFF)
        #expect(vcpu.read(.guestCSAccessRights) == UInt64(SegmentAccessRights.realModeCode.rawValue))
        #expect(vcpu.read(.guestRIP) == 0)
        #expect(vcpu.read(.guestRFLAGS) == RFLAGS.alwaysOne.rawValue)
        #expect(vcpu.read(.guestActivityState) == GuestActivityState.active)
        #expect(vcpu.read(.guestInterruptibilityState) == 0)
        #expect(vcpu.read(.guestPendingDebugExceptions) == 0)
        #expect(vcpu.read(.guestCR0) & ControlRegister0.pe.rawValue == 0)
        #expect(vcpu.read(.vmEntryControls) & UInt64(VMEntryControls.ia32eModeGuest.rawValue) == 0)
        #expect(vcpu.registers.rax == 0 && vcpu.registers.rdx == UInt64(vcpu.cpu.cpuid(leaf: 1, subleaf: 0).eax))
        #expect(vcpu.pendingInterrupt == nil)
        #expect(Self.entryRuleFailures(vcpu).isEmpty)

        // It runs the real-mode code at 10000H: CPUID, which the hypervisor completes, then HLT.
        #expect(vcpu.step() == nil)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.cpuid.rawValue))
        #expect(vcpu.step() == .halted)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.hlt.rawValue))
        #expect(vcpu.read(.guestCSSelector) == 0x1000)
        #expect(vcpu.read(.guestRIP) == 2)
        #expect(vcpu.cpu.guestExecutionProblems.isEmpty)
    }

    @Test func anINITExitReturnsTheRunningProcessorToWaitForSIPIAndTheNextSIPIStartsIt() throws {
        let vcpu = try Self.applicationProcessor()
        loadStartState(vcpu, startupVector: nil)
        vcpu.cpu.receive(.startup(vector: 0x10), from: 0)
        #expect(vcpu.step() == nil)  // SIPI
        #expect(vcpu.step() == nil)  // CPUID
        vcpu.write(.guestInterruptibilityState, GuestInterruptibility.blockingByNMI)

        #expect(vcpu.cpu.receive(.initSignal, from: 0) == .initPending)
        #expect(vcpu.step() == nil)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.initSignal.rawValue))
        #expect(vcpu.read(.guestActivityState) == GuestActivityState.waitForSIPI)
        #expect(vcpu.read(.guestCSSelector) == 0xF000)
        #expect(vcpu.read(.guestCSBase) == 0xFFFF_0000)
        #expect(vcpu.read(.guestRIP) == 0xFFF0)
        #expect(vcpu.read(.guestInterruptibilityState) == 0)
        #expect(vcpu.read(.guestPendingDebugExceptions) == 0)
        #expect(Self.entryRuleFailures(vcpu).isEmpty)
        #expect(vcpu.cpu.waitsForSIPI)

        // The guest's INIT-SIPI-SIPI: the INIT is blocked in wait-for-SIPI and dropped, the
        // first SIPI starts the processor, the second finds it running and is discarded.
        #expect(vcpu.cpu.receive(.initSignal, from: 0) == .initDroppedInWaitForSIPI)
        #expect(vcpu.cpu.receive(.startup(vector: 0x10), from: 0) == .startupLatched)
        #expect(vcpu.step() == nil)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.startupIPI.rawValue))
        #expect(vcpu.cpu.receive(.startup(vector: 0x10), from: 0) == .startupDiscarded)
        #expect(vcpu.step() == nil)
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.cpuid.rawValue))
        #expect(vcpu.step() == .halted)
        #expect(vcpu.read(.guestRIP) == 2)
    }

    @Test func anINITToTheBootstrapProcessorEndsTheGuest() throws {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), memorySize: 64 << 20,
            faultReporter: recordIssue)
        let output = StartupGuestSupport.lines(of: cpu)
        var arena = PageArena()
        let vcpu = try StartupGuestSupport.guest(on: cpu, arena: &arena, name: "bsp", code: [0xF4])
        cpu.receive(.initSignal, from: 1)
        #expect(vcpu.step() == .initOrSIPI(.initSignal))
        #expect(vcpu.read(.exitReason) == UInt64(ExitReason.initSignal.rawValue))
        #expect(output.lines.last == "guest bsp: INIT to its bootstrap processor: the guest stops")
    }

    /// IA32_VMX_MISC[8] clear (KVM before late 2020): there is no wait-for-SIPI to return to.
    /// The handler is called with the exit data: the nested-KVM profile's VM-exit controls
    /// lack "host address-space size", so no guest of the hosted world is entered on it.
    @Test func withoutWaitForSIPIAnINITStopsTheApplicationProcessor() throws {
        let vcpu = try Self.applicationProcessor(profile: "intel-under-nested-kvm")
        #expect(!vcpu.setup.supportsWaitForSIPI)
        var exit = ExitContext(reason: .initSignal, qualification: 0, rip: 0)
        guard case .stop(.initOrSIPI(.initSignal)) = handleINITSignal(vcpu, &exit) else {
            Issue.record("not stopped")
            return
        }
    }

    /// The whole run loop on a processor alone, waiting for a SIPI nothing can send: the
    /// emulated CPU ends the VM entry with its emulation-limit exit and says why; the run loop
    /// stops the guest as an unexpected exit. Nothing hangs.
    @Test func anApplicationProcessorNoSIPIReachesStopsInsteadOfHanging() throws {
        let vcpu = try Self.applicationProcessor()
        var problems: [String] = []
        vcpu.cpu.faultReporter = { problems.append($0) }
        loadStartState(vcpu, startupVector: nil)
        #expect(vcpu.run() == .unexpectedExit(ExitReason(rawValue: 0xFFFF)))
        #expect(problems.count == 1)
        #expect(problems.first?.contains("the guest waits for SIPI (activity state 3) and no SIPI has arrived") == true)
    }
}
