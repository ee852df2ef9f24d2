// The built-in guests on every processor. While the bootstrap processor runs its guests, every
// other processor in VMX root operation runs the built-in test guests too, at the same time,
// each guest in its own VMCS, with its own VPID and memory. What the processors share is set
// up before they start and only read afterwards: the capabilities, the VMCS controls, the I/O
// and MSR bitmaps, the guest images. Everything a VM exit writes is the processor's own: its
// slice of the arena (guest memory, EPT tables, VMCSs), its exit statistics page, its host
// state (GDT, TSS and GS base differ) and, in the kernel, its x87/SSE save area and host timer
// state. The console is shared and takes one line at a time.
//
// Which guests: the built-in ones (boot/guests.asm) less the benchmark guest, which under
// `make bench` runs on every processor at once instead. The boot modules
// (the user's images, each run once as asked), the pass-through guest (it owns the machine)
// and the guest debugger (one COM2) stay on the bootstrap processor.
import VMX

/// What the other processors do (bare metal: Sources/Kernel/Processors.swift). The default
/// has none.
public struct OtherProcessors {
    /// How many can run guests (in VMX root operation, waiting for work) when asked.
    public var count: () -> Int
    /// Hands each of them its work (`work.arenas[i]` to the i-th) and returns at once.
    public var start: (OtherProcessorWork) -> Void
    /// Waits, bounded, until each is done; whether every one ran its guests without a fault of
    /// the hypervisor.
    public var finish: () -> Bool
    /// Their local APIC IDs, in the order `start` hands out the slots.
    public var apicIDs: () -> [UInt32]

    public init(
        count: @escaping () -> Int, start: @escaping (OtherProcessorWork) -> Void, finish: @escaping () -> Bool,
        apicIDs: @escaping () -> [UInt32] = { [] }
    ) {
        self.count = count
        self.start = start
        self.finish = finish
        self.apicIDs = apicIDs
    }

    public static var none: OtherProcessors { OtherProcessors(count: { 0 }, start: { _ in }, finish: { true }) }

    /// Each processor's slice of the arena: room for one guest of the default 2 MiB (the top
    /// half, 2-MiB aligned) and its EPT tables, VMCS and statistics page.
    public static let arenaSlice: UInt64 = 4 << 20
    /// What the bootstrap processor keeps of the arena for itself (the boot modules' guests
    /// and a pass-through guest's EPT tables).
    public static let bootstrapReserve: UInt64 = 16 << 20
}

/// The guests and the shared set-up, and one slice of the arena per processor (nil: no room);
/// or the virtual CPUs of a pass-through guest (PassThroughProcessors.swift). Written before the
/// others start, only read afterwards.
public final class OtherProcessorWork {
    public let guests: [GuestImage]
    public let environment: GuestEnvironment
    public let arenas: [PageArena?]
    /// `make bench`: the guest is the benchmark guest, whose figures each processor prints.
    public let benchmark: Bool
    /// The pass-through guest's application processors, one per processor (slot i: member i + 1).
    public let passThrough: PassThroughProcessors?

    init(
        guests: [GuestImage], environment: GuestEnvironment, arenas: [PageArena?], benchmark: Bool,
        passThrough: PassThroughProcessors? = nil
    ) {
        self.guests = guests
        self.environment = environment
        self.arenas = arenas
        self.benchmark = benchmark
        self.passThrough = passThrough
    }
}

extension OtherProcessors {
    /// Carves the slices from `arena` and starts the others; nothing when there are none or no
    /// guest runs on every processor (`nobuiltins`). Returns whether they were started.
    func startGuests(
        _ everywhere: [GuestImage], benchmark: Bool = false, environment: GuestEnvironment,
        arena: inout PageArena
    ) -> Bool {
        let count = everywhere.isEmpty ? 0 : self.count()
        guard count > 0 else { return false }
        var arenas: [PageArena?] = []
        for _ in 0..<count {
            let room = arena.end - arena.next >= Self.arenaSlice + Self.bootstrapReserve
            arenas.append(room ? arena.splitFromTop(bytes: Self.arenaSlice, alignment: 2 << 20) : nil)
        }
        start(OtherProcessorWork(guests: everywhere, environment: environment, arenas: arenas, benchmark: benchmark))
        return true
    }
}

/// On another processor: the built-in guests of `work`, one after the other, in this
/// processor's slice `slot` of the arena, with `host` as the host state of its VMCSs (VPIDs
/// from 256 * (slot + 1) + 1, apart from every other processor's). Returns whether the
/// hypervisor did everything right.
public func runGuestsOnOtherProcessor<P: Host>(
    _ work: OtherProcessorWork, slot: Int, host: HostState, cpu: P
) -> Bool {
    if let passThrough = work.passThrough {
        return runPassThroughApplicationProcessor(passThrough, member: slot + 1, host: host, cpu: cpu)
    }
    guard slot < work.arenas.count, var arena = work.arenas[slot] else {
        cpu.log(
            """
            guests: none here: the hypervisor arena has no \(OtherProcessors.arenaSlice >> 20) MiB left for this \
            processor's own guest memory
            """
        )
        return true
    }
    guard let page = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu) else {
        cpu.log("guests: none here: no room for this processor's exit statistics")
        return false
    }
    var environment = work.environment
    environment.host = host
    environment.statistics = ExitStatistics(base: page, cpu: cpu)
    var healthy = true
    var vpid = UInt16(truncatingIfNeeded: slot + 1) &* 256 &+ 1
    for image in work.guests {
        let mark = arena.mark
        let result = runGuest(image, environment: environment, vpid: vpid, arena: &arena, cpu: cpu)
        if work.benchmark { logBenchmarkFigures(result.vcpu, path: "the Swift dispatcher, every processor at once") }
        if result.vmcsIsClear { arena.release(to: mark) }
        healthy = healthy && result.healthy
        vpid &+= 1
    }
    cpu.log(
        """
        guests: \(work.guests.count) built-in guests done here, \(environment.statistics.total(cpu: cpu)) VM exits \
        (exit statistics at \(hex: page))
        """
    )
    return healthy
}
