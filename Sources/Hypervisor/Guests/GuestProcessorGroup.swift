// A guest with several virtual CPUs, one on each processor (the pass-through guest, docs/
// LINUX.md "Several processors"): what its virtual CPUs share and how they start and stop.
//
// Member 0 is the bootstrap processor's virtual CPU; the others are application processors
// (APs) that start in wait-for-SIPI (StartupExits.swift). The members run on different
// processors at once, so what they share lives in one page of words that every processor
// reads and writes atomically (Host.loadPhysical32Atomic and friends): each member's state,
// an INIT the guest sent it, the flag that says the guest is stopping, and a lock for the few
// exit handlers that change shared hypervisor state.
//
// No INIT signal ever reaches a member's processor: the guest's INITs and SIPIs are taken
// from its ICR writes (PassThroughAPIC.swift), and the hypervisor reaches a running member
// through its VMX-preemption timer instead, which every member runs with as a watchdog
// (`watchdogTicks`, reloaded at each VM entry): at each expiry the member looks at its words.
// An INIT VM exit would do, but Bochs 2.7 never clears a pending INIT that caused one (event.cc
// VMexit before reset), so every later VM entry of that processor would exit again, and its
// VMXOFF would reset it (docs/BOCHS-DIFFERENCES.md). A member in wait-for-SIPI is reached with
// a SIPI, which exits there (SDM 26.2).
//
// Stopping: whichever member stops first (the BSP's power-off, an AP's triple fault) marks
// the guest stopping; each other member stops at its next watchdog expiry, or at the SIPI the
// stopping member sends it while it waits.
import VMX

public final class GuestProcessorGroup {
    /// What a member is doing, as its own processor last wrote it.
    public enum MemberState: UInt32, Sendable {
        case notStarted = 0
        /// In the wait-for-SIPI activity state (or about to enter it).
        case waitingForSIPI = 1
        case running = 2
        case stopped = 3
    }

    /// The shared page (physical), and each member's processor by local APIC ID.
    public let page: UInt64
    public let apicIDs: [UInt32]

    /// The VMX-preemption timer value each member's VM entries load: about
    /// `watchdogMilliseconds` of its time.
    public let watchdogTicks: UInt32
    /// The same period in TSC cycles.
    let watchdogCycles: UInt64

    /// The words of the page: the flag, the lock, then each member's state, and from
    /// `initsOffset` each member's pending INIT.
    static let stoppingOffset: UInt64 = 0
    static let lockOffset: UInt64 = 4
    static let statesOffset: UInt64 = 8
    static let initsOffset: UInt64 = PhysicalLayout.pageSize / 2
    /// The most members one page holds.
    public static let maximumMembers = Int((initsOffset - statesOffset) / 4)
    /// How often a waiting member is sent a SIPI before it is named as not coming back, and
    /// how long each try is given: watchdog periods, and at most so many polls (the emulated
    /// CPU's TSC stands still in VMX root operation).
    static let signalAttempts = 100
    static let signalPolls: UInt64 = 1_000_000
    static let watchdogMilliseconds: UInt64 = 20
    /// TSC ticks per millisecond where the host does not know its rate.
    static let assumedTicksPerMillisecond: UInt64 = 1_000_000

    public var count: Int { apicIDs.count }

    /// A group of `apicIDs.count` members over the zeroed page `page`; the watchdog's ticks
    /// from the TSC rate and IA32_VMX_MISC[4:0] (`timerRate`, SDM A.6).
    public init(page: UInt64, apicIDs: [UInt32], ticksPerMillisecond: UInt64, timerRate: Int) {
        self.page = page
        self.apicIDs = apicIDs
        let rate = ticksPerMillisecond == 0 ? Self.assumedTicksPerMillisecond : ticksPerMillisecond
        watchdogCycles = rate * Self.watchdogMilliseconds
        let ticks = watchdogCycles >> UInt64(timerRate)
        watchdogTicks = UInt32(clamping: max(ticks, 1))
    }

    public func state<P: Host>(of member: Int, cpu: P) -> MemberState {
        MemberState(rawValue: cpu.loadPhysical32Atomic(stateAddress(member))) ?? .stopped
    }

    public func setState<P: Host>(_ state: MemberState, of member: Int, cpu: P) {
        cpu.storePhysical32Atomic(stateAddress(member), state.rawValue)
    }

    /// Whether some member stopped and the others are being brought back.
    public func isStopping<P: Host>(cpu: P) -> Bool { cpu.loadPhysical32Atomic(page + Self.stoppingOffset) != 0 }

    /// Runs `body` holding the group's lock (a spin lock: the sections are short).
    public func withLock<P: Host, R>(cpu: P, _ body: () -> R) -> R {
        while cpu.compareExchangePhysical32(page + Self.lockOffset, expected: 0, desired: 1) != 0 {}
        let result = body()
        cpu.storePhysical32Atomic(page + Self.lockOffset, 0)
        return result
    }

    /// The guest sent member `member` an INIT: it takes it at its next watchdog expiry.
    public func requestINIT<P: Host>(for member: Int, cpu: P) {
        cpu.storePhysical32Atomic(initAddress(member), 1)
    }

    /// Whether the guest sent member `member` an INIT since it last looked; clears it.
    public func takeINIT<P: Host>(for member: Int, cpu: P) -> Bool {
        cpu.compareExchangePhysical32(initAddress(member), expected: 1, desired: 0) == 1
    }

    /// Waits (bounded: `periods` watchdog periods, and polls) until `done`.
    @discardableResult
    func wait<P: Host>(periods: UInt64, cpu: P, until done: () -> Bool) -> Bool {
        let start = cpu.readTimestampCounter()
        let limit = periods * watchdogCycles
        var polls: UInt64 = 0
        while !done() && polls < Self.signalPolls * periods && cpu.readTimestampCounter() &- start < limit {
            polls += 1
        }
        return done()
    }

    /// Member `member` has stopped: marks the guest stopping. With `waiting`, waits until
    /// every other member has stopped too - sending a SIPI to those in wait-for-SIPI, again
    /// each watchdog period, a bounded number of times - and returns those that did not.
    @discardableResult
    public func stopAll<P: Host>(from member: Int, waiting: Bool, cpu: P) -> [Int] {
        setState(.stopped, of: member, cpu: cpu)
        cpu.storePhysical32Atomic(page + Self.stoppingOffset, 1)
        var missing: [Int] = []
        for other in 0..<count where other != member {
            func back() -> Bool {
                let state = state(of: other, cpu: cpu)
                return state == .stopped || state == .notStarted
            }
            var attempts = 0
            while waiting && !back() && attempts < Self.signalAttempts {
                if state(of: other, cpu: cpu) == .waitingForSIPI {
                    cpu.sendInterProcessorInterrupt(.startup(vector: 0), to: apicIDs[other])
                }
                attempts += 1
                wait(periods: 2, cpu: cpu, until: back)
            }
            if waiting && !back() { missing.append(other) }
        }
        return missing
    }

    private func stateAddress(_ member: Int) -> UInt64 { page + Self.statesOffset + UInt64(member) * 4 }
    private func initAddress(_ member: Int) -> UInt64 { page + Self.initsOffset + UInt64(member) * 4 }
}
