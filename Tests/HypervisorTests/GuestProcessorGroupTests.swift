// A guest with several virtual CPUs (GuestProcessorGroup.swift, PassThroughAPIC.swift) on a
// machine of three emulated processors over one memory: the shared words, the watchdog's
// period, stopping together, and the guest's INIT and SIPI as the hypervisor delivers them.
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct GuestProcessorGroupTests {
    static let page: UInt64 = 0x10_0000

    /// Three processors (APIC IDs 0, 2, 4); each host access takes 1000 TSC cycles, so that
    /// a bounded wait ends after a few polls.
    static func machine() throws -> EmulatedMachine {
        let machine = EmulatedMachine(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), apicIDs: [0, 2, 4],
            faultReporter: recordIssue)
        for cpu in machine.processors { cpu.tscCyclesPerHostAccess = 1000 }
        return machine
    }

    static func group() -> GuestProcessorGroup {
        GuestProcessorGroup(page: page, apicIDs: [0, 2, 4], ticksPerMillisecond: 4000, timerRate: 0)
    }

    @Test func theWatchdogPeriodIsTwentyMillisecondsOfTheTimersTicks() {
        #expect(
            GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 4_000_000, timerRate: 0)
                .watchdogTicks == 80_000_000)
        #expect(
            GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 4_000_000, timerRate: 5)
                .watchdogTicks == 2_500_000)
        // An unknown rate is taken as 1 GHz; the value is at least 1 and at most 2^32 - 1.
        #expect(
            GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 0, timerRate: 0)
                .watchdogTicks == 20_000_000)
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 1, timerRate: 31).watchdogTicks == 1)
        #expect(
            GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 1 << 40, timerRate: 0)
                .watchdogTicks == UInt32.max)
    }

    @Test func statesAndINITsAreWordsEveryProcessorSees() throws {
        let machine = try Self.machine()
        let (zero, two) = (machine.processors[0], machine.processors[1])
        let group = Self.group()
        #expect(group.state(of: 1, cpu: two) == .notStarted)
        group.setState(.waitingForSIPI, of: 1, cpu: two)
        #expect(group.state(of: 1, cpu: zero) == .waitingForSIPI)
        #expect(!group.takeINIT(for: 2, cpu: zero))
        group.requestINIT(for: 2, cpu: zero)
        #expect(group.takeINIT(for: 2, cpu: machine.processors[2]))
        #expect(!group.takeINIT(for: 2, cpu: machine.processors[2]))
        #expect(!group.isStopping(cpu: two))
        #expect(group.withLock(cpu: two) { 7 } == 7)
        #expect(zero.readPhysical32(Self.page + GuestProcessorGroup.lockOffset) == 0)
    }

    @Test func stoppingSendsASIPIToWaitingMembersAndNamesThoseThatNeverStop() throws {
        let machine = try Self.machine()
        let zero = machine.processors[0]
        let group = Self.group()
        group.setState(.running, of: 0, cpu: zero)
        group.setState(.waitingForSIPI, of: 1, cpu: zero)
        group.setState(.stopped, of: 2, cpu: zero)
        let missing = group.stopAll(from: 0, waiting: true, cpu: zero)
        #expect(missing == [1])
        #expect(group.isStopping(cpu: machine.processors[2]))
        #expect(group.state(of: 0, cpu: zero) == .stopped)
        let sipis = machine.interProcessorMessages.filter { $0.ipi == .startup(vector: 0) && $0.destination == 2 }
        #expect(sipis.count == GuestProcessorGroup.signalAttempts)
        #expect(machine.interProcessorMessages.allSatisfy { $0.destination == 2 })
    }

    /// The bootstrap processor's virtual CPU of a group on processor 0.
    static func bootstrapVirtualCPU(_ machine: EmulatedMachine, _ group: GuestProcessorGroup) throws
        -> VirtualCPU<EmulatedCPU>
    {
        var arena = PageArena()
        let vcpu = try StartupGuestSupport.guest(
            on: machine.processors[0], arena: &arena, name: "bsp", code: [0xF4])
        vcpu.group = group
        vcpu.groupMember = 0
        return vcpu
    }

    static func icr(mode: UInt32, vector: UInt32 = 0, shorthand: UInt32 = 0) -> UInt32 {
        LocalAPIC.levelAssert | mode | shorthand << LocalAPIC.shorthandShift | vector
    }

    @Test func theGuestsSIPIReachesAWaitingMemberAsASIPIAndItsINITDoesNot() throws {
        let machine = try Self.machine()
        let group = Self.group()
        let vcpu = try Self.bootstrapVirtualCPU(machine, group)
        group.setState(.waitingForSIPI, of: 1, cpu: vcpu.cpu)
        let toTwo: UInt32 = 2
        let initCommand = Self.icr(mode: LocalAPIC.deliveryModeINIT)
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: initCommand, target: toTwo) == .resume)
        let deassert = LocalAPIC.deliveryModeINIT | LocalAPIC.levelTriggered
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: deassert, target: toTwo) == .resume)
        #expect(machine.interProcessorMessages.isEmpty)
        let sipi = Self.icr(mode: LocalAPIC.deliveryModeStartUp, vector: 0x98)
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: sipi, target: toTwo) == .resume)
        #expect(machine.interProcessorMessages.map(\.ipi) == [.startup(vector: 0x98)])
        #expect(machine.interProcessorMessages.map(\.destination) == [2])
        // Not the guest's processors (APIC ID 7), a logical destination, a running member: nothing.
        _ = deliverGuestStartupSignal(vcpu, group: group, command: sipi, target: 7)
        _ = deliverGuestStartupSignal(
            vcpu, group: group, command: sipi | LocalAPIC.logicalDestination, target: toTwo)
        group.setState(.running, of: 1, cpu: vcpu.cpu)
        _ = deliverGuestStartupSignal(vcpu, group: group, command: sipi, target: toTwo)
        #expect(machine.interProcessorMessages.count == 1)
        let lines = vcpu.cpu.guestExecution.consoleLines
        #expect(lines.contains("guest bsp: SIPI to APIC ID 7, not one of its processors: dropped"))
        #expect(lines.contains("guest bsp: SIPI with a logical destination: dropped"))
    }

    @Test func anINITToARunningMemberIsLeftForItsWatchdogAndToItselfEndsTheBootstrapProcessor() throws {
        let machine = try Self.machine()
        let group = Self.group()
        let vcpu = try Self.bootstrapVirtualCPU(machine, group)
        group.setState(.running, of: 2, cpu: vcpu.cpu)
        let initCommand = Self.icr(mode: LocalAPIC.deliveryModeINIT)
        #expect(
            deliverGuestStartupSignal(vcpu, group: group, command: initCommand, target: 4) == .resume)
        #expect(group.takeINIT(for: 2, cpu: machine.processors[2]))
        #expect(machine.interProcessorMessages.isEmpty)
        #expect(
            deliverGuestStartupSignal(
                vcpu, group: group, command: Self.icr(mode: LocalAPIC.deliveryModeINIT, shorthand: 1),
                target: 0) == .stop(.initOrSIPI(.initSignal)))
    }
}

extension ExitAction: Equatable {
    public static func == (a: ExitAction, b: ExitAction) -> Bool {
        switch (a, b) {
        case (.resume, .resume): return true
        case (.stop(let x), .stop(let y)): return x == y
        default: return false
        }
    }
}

/// A guest with two virtual CPUs on two emulated processors, started the way Linux starts
/// its processors: the bootstrap processor's guest writes INIT, SIPI, SIPI to its local APIC's
/// interrupt command register (all excluding self), the write-protected page's EPT violations
/// are decoded and delivered by the hypervisor (PassThroughAPIC.swift), and the application
/// processor, waiting for SIPI, starts in real mode at the vector.
@Suite struct GuestWithSeveralVirtualCPUsTests {
    /// mov dword [0xFEE00300], command (C7 05 disp32 imm32: 32-bit code, absolute address).
    static func writeICR(_ command: UInt32) -> [UInt8] {
        [0xC7, 0x05, 0x00, 0x03, 0xE0, 0xFE] + (0..<4).map { UInt8(truncatingIfNeeded: command >> ($0 * 8)) }
    }

    @Test func theBootstrapProcessorsINITSIPISIPIThroughItsAPICStartsTheOther() throws {
        let machine = try StartupGuestSupport.twoProcessorMachine()
        var arena0 = StartupGuestSupport.arena(half: 0)
        var arena1 = StartupGuestSupport.arena(half: 1)
        let allButSelf: UInt32 = 3 << LocalAPIC.shorthandShift | LocalAPIC.levelAssert
        let code =
            Self.writeICR(allButSelf | LocalAPIC.deliveryModeINIT)
            + Self.writeICR(allButSelf | LocalAPIC.deliveryModeStartUp | 0x10)
            + Self.writeICR(allButSelf | LocalAPIC.deliveryModeStartUp | 0x10) + [0xF4]
        let bsp = try StartupGuestSupport.guest(
            on: machine.processors[0], arena: &arena0, name: "bsp", code: code, mode: "protected")
        let ap = try StartupGuestSupport.guest(
            on: machine.processors[1], arena: &arena1, name: "ap", code: StartupGuestSupport.applicationProcessorCode,
            vpid: 2)
        let pageOrNil = arena0.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: machine.processors[0])
        let page = try #require(pageOrNil)
        let group = GuestProcessorGroup(page: page, apicIDs: [0, 1], ticksPerMillisecond: 1000, timerRate: 0)
        let platform = PassThroughPlatform()
        platform.localAPICPage = LocalAPIC.defaultBase
        bsp.platform = platform
        bsp.handlers[.eptViolation] = handlePassThroughEPTViolation
        StartupGuestSupport.join(bsp, ap, group: group)
        #expect(group.state(of: 1, cpu: ap.cpu) == .waitingForSIPI)
        group.setState(.running, of: 0, cpu: bsp.cpu)

        let (bspProgram, apProgram) = (VirtualCPUProgram(bsp), VirtualCPUProgram(ap))
        #expect(machine.run([bspProgram.step, apProgram.step]) == .finished(steps: 7))
        // The INIT found the AP waiting (dropped); the first SIPI went on as a SIPI, the second
        // found it running (dropped): one IPI left processor 0.
        #expect(
            machine.interProcessorMessages == [
                InterProcessorMessage(source: 0, destination: 1, ipi: .startup(vector: 0x10), delivery: .startupLatched)
            ])
        #expect(bspProgram.stop == .halted)
        #expect(bsp.read(.guestRIP) == 0x1_0000 + 30)
        #expect(bsp.statistics.count(basicReason: Int(ExitReason.eptViolation.rawValue), cpu: bsp.cpu) == 3)
        #expect(apProgram.stop == .halted)
        #expect(ap.read(.guestCSSelector) == 0x1000)
        #expect(ap.read(.guestRIP) == 2)
        #expect(group.state(of: 1, cpu: ap.cpu) == .running)
        for cpu in machine.processors { #expect(cpu.guestExecutionProblems.isEmpty) }
    }
}

/// The start-up sequence the kernel starts its processors with (ProcessorStartup.swift), on
/// the emulated machine: the IPIs in order, with the SDM's waits between them.
@Suite struct ProcessorStartupTests {
    @Test func initThenTwoStartupIPIsWithTheirWaits() throws {
        let machine = EmulatedMachine(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), apicIDs: [0, 3], faultReporter: recordIssue)
        var waits: [UInt64] = []
        _ = startProcessor(apicID: 3, vector: 0x9, cpu: machine.processors[0], delay: { waits.append($0) })
        #expect(waits == [10_000, 200])
        #expect(machine.interProcessorMessages.map(\.ipi) == [.initSignal, .startup(vector: 9), .startup(vector: 9)])
        #expect(machine.interProcessorMessages.allSatisfy { $0.source == 0 && $0.destination == 3 })
    }
}

/// The same start in x2APIC mode: the guest's WRMSR to the interrupt command register (MSR
/// 830H) exits, and the hypervisor delivers its SIPI (PassThroughMSRs.swift).
@Suite struct GuestWithSeveralVirtualCPUsInX2APICModeTests {
    @Test func theBootstrapProcessorsSIPIThroughTheICRMSRStartsTheOther() throws {
        let machine = try StartupGuestSupport.twoProcessorMachine()
        var arena0 = StartupGuestSupport.arena(half: 0)
        var arena1 = StartupGuestSupport.arena(half: 1)
        // mov ecx, 830H; mov eax, 000C4610H (SIPI 10H, all excluding self); xor edx, edx; wrmsr; hlt
        let code: [UInt8] = [0xB9, 0x30, 0x08, 0, 0, 0xB8, 0x10, 0x46, 0x0C, 0x00, 0x31, 0xD2, 0x0F, 0x30, 0xF4]
        let bsp = try StartupGuestSupport.guest(on: machine.processors[0], arena: &arena0, name: "bsp", code: code)
        let ap = try StartupGuestSupport.guest(
            on: machine.processors[1], arena: &arena1, name: "ap", code: StartupGuestSupport.applicationProcessorCode,
            vpid: 2)
        let pageOrNil = arena0.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: machine.processors[0])
        let group = GuestProcessorGroup(
            page: try #require(pageOrNil), apicIDs: [0, 1], ticksPerMillisecond: 1000, timerRate: 0)
        bsp.platform = PassThroughPlatform()
        bsp.handlers[.wrmsr] = handlePassThroughWRMSR
        StartupGuestSupport.join(bsp, ap, group: group)
        group.setState(.running, of: 0, cpu: bsp.cpu)
        let (bspProgram, apProgram) = (VirtualCPUProgram(bsp), VirtualCPUProgram(ap))
        _ = machine.run([bspProgram.step, apProgram.step])
        #expect(machine.interProcessorMessages.map(\.ipi) == [.startup(vector: 0x10)])
        #expect(bspProgram.stop == .halted)
        #expect(bsp.read(.guestRIP) == 0x1_0000 + 14)
        #expect(apProgram.stop == .halted)
        #expect(ap.read(.guestCSSelector) == 0x1000)
    }
}
