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
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 4_000_000, timerRate: 0)
            .watchdogTicks == 80_000_000)
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 4_000_000, timerRate: 5)
            .watchdogTicks == 2_500_000)
        // An unknown rate is taken as 1 GHz; the value is at least 1 and at most 2^32 - 1.
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 0, timerRate: 0)
            .watchdogTicks == 20_000_000)
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 1, timerRate: 31).watchdogTicks == 1)
        #expect(GuestProcessorGroup(page: 0, apicIDs: [0], ticksPerMillisecond: 1 << 40, timerRate: 0)
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
        let toTwo: UInt32 = 2 << LocalAPIC.xAPICDestinationShift
        let initCommand = Self.icr(mode: LocalAPIC.deliveryModeINIT)
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: initCommand, destination: toTwo) == .resume)
        let deassert = LocalAPIC.deliveryModeINIT | LocalAPIC.levelTriggered
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: deassert, destination: toTwo) == .resume)
        #expect(machine.interProcessorMessages.isEmpty)
        let sipi = Self.icr(mode: LocalAPIC.deliveryModeStartUp, vector: 0x98)
        #expect(deliverGuestStartupSignal(vcpu, group: group, command: sipi, destination: toTwo) == .resume)
        #expect(machine.interProcessorMessages.map(\.ipi) == [.startup(vector: 0x98)])
        #expect(machine.interProcessorMessages.map(\.destination) == [2])
        // Not the guest's processors (APIC ID 7), a logical destination, a running member: nothing.
        _ = deliverGuestStartupSignal(vcpu, group: group, command: sipi, destination: 7 << 24)
        _ = deliverGuestStartupSignal(
            vcpu, group: group, command: sipi | LocalAPIC.logicalDestination, destination: toTwo)
        group.setState(.running, of: 1, cpu: vcpu.cpu)
        _ = deliverGuestStartupSignal(vcpu, group: group, command: sipi, destination: toTwo)
        #expect(machine.interProcessorMessages.count == 1)
    }

    @Test func anINITToARunningMemberIsLeftForItsWatchdogAndToItselfEndsTheBootstrapProcessor() throws {
        let machine = try Self.machine()
        let group = Self.group()
        let vcpu = try Self.bootstrapVirtualCPU(machine, group)
        group.setState(.running, of: 2, cpu: vcpu.cpu)
        let initCommand = Self.icr(mode: LocalAPIC.deliveryModeINIT)
        #expect(
            deliverGuestStartupSignal(vcpu, group: group, command: initCommand, destination: 4 << 24) == .resume)
        #expect(group.takeINIT(for: 2, cpu: machine.processors[2]))
        #expect(machine.interProcessorMessages.isEmpty)
        #expect(
            deliverGuestStartupSignal(vcpu, group: group, command: Self.icr(mode: LocalAPIC.deliveryModeINIT, shorthand: 1),
                destination: 0) == .stop(.initOrSIPI(.initSignal)))
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
