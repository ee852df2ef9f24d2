// INIT and SIPI exits (StartupExits.swift): an application processor's virtual CPU waits for
// SIPI after INIT and starts in real mode at the SIPI's vector; the bootstrap processor's INIT
// ends the guest. Each loaded state is checked against the hypervisor's own VM-entry rules (SDM
// 27.3), on the live VMCS of the emulated CPU.
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct StartupExitTests {
    static func applicationProcessor(profile: String = "corei7_skylake_x") throws -> VirtualCPU<EmulatedCPU> {
        let (vcpu, _) = try DiagnosticsEntryFailureTests.guest(profile: profile)
        vcpu.isApplicationProcessor = true
        // What an exit may leave behind, which a start must not keep.
        vcpu.write(
            .guestInterruptibilityState, GuestInterruptibility.blockingByNMI | GuestInterruptibility.blockingBySMI)
        vcpu.write(.guestPendingDebugExceptions, GuestPendingDebugExceptions.bs)
        vcpu.registers.rax = 0x1234
        vcpu.pendingInterrupt = 0x40
        return vcpu
    }

    @Test func aSIPIStartsTheProcessorInRealModeAtItsVector() throws {
        let vcpu = try Self.applicationProcessor()
        var exit = ExitContext(reason: .startupIPI, qualification: 0x9F, rip: 0)
        guard case .resume = handleStartupIPI(vcpu, &exit) else { Issue.record("the AP did not resume"); return }
        #expect(vcpu.read(.guestCSSelector) == 0x9F00)
        #expect(vcpu.read(.guestCSBase) == 0x9_F000)
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
        let report = runEntryRules(vcpu)
        #expect(report.failures.isEmpty, "\(report.failures.map(\.description))")
    }

    @Test func anINITReturnsTheProcessorToWaitForSIPI() throws {
        let vcpu = try Self.applicationProcessor()
        var exit = ExitContext(reason: .initSignal, qualification: 0, rip: 0)
        guard case .resume = handleINITSignal(vcpu, &exit) else { Issue.record("the AP did not resume"); return }
        #expect(vcpu.read(.guestActivityState) == GuestActivityState.waitForSIPI)
        #expect(vcpu.read(.guestCSSelector) == 0xF000)
        #expect(vcpu.read(.guestCSBase) == 0xFFFF_0000)
        #expect(vcpu.read(.guestRIP) == 0xFFF0)
        #expect(vcpu.read(.guestInterruptibilityState) == 0)
        #expect(vcpu.read(.guestPendingDebugExceptions) == 0)
        let report = runEntryRules(vcpu)
        #expect(report.failures.isEmpty, "\(report.failures.map(\.description))")
        // The guest's second SIPI then starts it.
        var sipi = ExitContext(reason: .startupIPI, qualification: 0x10, rip: 0)
        guard case .resume = handleStartupIPI(vcpu, &sipi) else { Issue.record("the AP did not start"); return }
        #expect(vcpu.read(.guestActivityState) == GuestActivityState.active)
        #expect(vcpu.read(.guestCSBase) == 0x1_0000)
    }

    @Test func anINITToTheBootstrapProcessorEndsTheGuest() throws {
        let (vcpu, output) = try DiagnosticsEntryFailureTests.guest(profile: "corei7_skylake_x")
        var exit = ExitContext(reason: .initSignal, qualification: 0, rip: 0)
        guard case .stop(.initOrSIPI(let reason)) = handleINITSignal(vcpu, &exit) else {
            Issue.record("not stopped"); return
        }
        #expect(reason == .initSignal)
        #expect(output.lines.last == "guest diag: INIT to its bootstrap processor: the guest stops")
    }

    /// IA32_VMX_MISC[8] clear (KVM before late 2020): there is no wait-for-SIPI to return to.
    @Test func withoutWaitForSIPIAnINITStopsTheApplicationProcessor() throws {
        let vcpu = try Self.applicationProcessor(profile: "intel-under-nested-kvm")
        #expect(!vcpu.setup.supportsWaitForSIPI)
        var exit = ExitContext(reason: .initSignal, qualification: 0, rip: 0)
        guard case .stop(.initOrSIPI(.initSignal)) = handleINITSignal(vcpu, &exit) else {
            Issue.record("not stopped"); return
        }
    }
}
