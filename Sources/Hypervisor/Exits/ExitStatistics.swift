// Exit statistics: a counter per basic exit reason and a ring buffer of the last exits (the
// full exit reason, the exit qualification and the guest RIP), kept in one page of the arena
// so that a debugger can read them at any moment: the kernel publishes the page's address in
// the symbol `swiftvmx_exit_statistics` (Host.announceExitStatistics). The layout
// is fixed (docs/GUESTS.md, "Exit statistics"); the assembly baseline of `make bench`
// (boot/vmx.asm) updates the same page the same way.
//
//   offset  size  what
//   0x000   8     magic "SVMXSTAT" (0x5441_5453_584D_5653 little-endian)
//   0x008   8     total number of VM exits
//   0x010   8     index of the next ring slot (0 to ringCapacity - 1)
//   0x018   8     ring capacity (32)
//   0x020   8*80  counters, indexed by basic exit reason (0-79)
//   0x2a0   24*32 ring: per slot the exit reason (8 bytes), the qualification, the guest RIP
//   0x5a0   8*7   lines not written, by GuestLineKind (GuestLines.swift): PRINT, COM1,
//                 exceptions reflected, refused ports, refused MSRs, refused instructions,
//                 interrupt and single-step events (tools/gdb/swiftvmx.py reads the same layout)
import VMX

public struct ExitStatistics: Sendable {
    public static let magic: UInt64 = 0x5441_5453_584D_5653  // "SVMXSTAT"
    public static let counterCount = 80
    public static let ringCapacity = 32
    public static let totalOffset: UInt64 = 0x08
    public static let nextOffset: UInt64 = 0x10
    public static let capacityOffset: UInt64 = 0x18
    public static let countersOffset: UInt64 = 0x20
    public static let ringOffset: UInt64 = 0x2A0
    public static let ringEntrySize: UInt64 = 24
    public static let linesNotWrittenOffset: UInt64 = ringOffset + ringEntrySize * UInt64(ringCapacity)
    public static let byteCount: UInt64 = linesNotWrittenOffset + 8 * UInt64(GuestLineKind.count)

    /// Physical address of the page.
    public let base: UInt64

    /// Takes a zeroed page at `base` and writes the header.
    public init<P: Processor>(base: UInt64, cpu: P) {
        self.base = base
        cpu.writePhysical64(base, Self.magic)
        cpu.writePhysical64(base + Self.capacityOffset, UInt64(Self.ringCapacity))
    }

    /// Counts one exit and puts it in the ring.
    @inline(__always)
    public func record<P: Processor>(reason: UInt32, qualification: UInt64, rip: UInt64, cpu: P) {
        // Wrapping arithmetic: the page is the arena's, far from overflow, and the checks would
        // sit on every VM exit's path.
        let basic = UInt64(reason & 0xFFFF)
        if basic < UInt64(Self.counterCount) {
            let counter = base &+ Self.countersOffset &+ basic &* 8
            cpu.writePhysical64(counter, cpu.readPhysical64(counter) &+ 1)
        }
        cpu.writePhysical64(base &+ Self.totalOffset, cpu.readPhysical64(base &+ Self.totalOffset) &+ 1)
        let next = cpu.readPhysical64(base &+ Self.nextOffset) & UInt64(Self.ringCapacity - 1)
        let slot = base &+ Self.ringOffset &+ next &* Self.ringEntrySize
        cpu.writePhysical64(slot, UInt64(reason))
        cpu.writePhysical64(slot &+ 8, qualification)
        cpu.writePhysical64(slot &+ 16, rip)
        cpu.writePhysical64(base &+ Self.nextOffset, (next &+ 1) & UInt64(Self.ringCapacity - 1))
    }

    public func total<P: Processor>(cpu: P) -> UInt64 { cpu.readPhysical64(base + Self.totalOffset) }

    /// Counts a guest's line of `kind` that was not written (GuestLines.swift).
    public func countLineNotWritten<P: Processor>(kind: GuestLineKind, cpu: P) {
        let counter = base &+ Self.linesNotWrittenOffset &+ UInt64(kind.rawValue) &* 8
        cpu.writePhysical64(counter, cpu.readPhysical64(counter) &+ 1)
    }

    public func linesNotWritten<P: Processor>(kind: GuestLineKind, cpu: P) -> UInt64 {
        cpu.readPhysical64(base + Self.linesNotWrittenOffset + UInt64(kind.rawValue) * 8)
    }

    public func count<P: Processor>(basicReason: Int, cpu: P) -> UInt64 {
        guard basicReason >= 0 && basicReason < Self.counterCount else { return 0 }
        return cpu.readPhysical64(base + Self.countersOffset + UInt64(basicReason) * 8)
    }

    /// One exit of the ring.
    public struct Entry: Equatable, Sendable {
        public var reason: ExitReason
        public var qualification: UInt64
        public var rip: UInt64
    }

    /// The exits of the ring, oldest first (at most `ringCapacity`).
    public func lastExits<P: Processor>(cpu: P) -> [Entry] {
        let total = self.total(cpu: cpu)
        let held = min(total, UInt64(Self.ringCapacity))
        let next = cpu.readPhysical64(base + Self.nextOffset)
        var entries: [Entry] = []
        var index = (next &+ UInt64(Self.ringCapacity) &- held) % UInt64(Self.ringCapacity)
        for _ in 0..<held {
            let slot = base + Self.ringOffset + index * Self.ringEntrySize
            entries.append(
                Entry(
                    reason: ExitReason(rawValue: UInt32(truncatingIfNeeded: cpu.readPhysical64(slot))),
                    qualification: cpu.readPhysical64(slot + 8), rip: cpu.readPhysical64(slot + 16)))
            index = (index + 1) % UInt64(Self.ringCapacity)
        }
        return entries
    }

    /// Prints the counters that are not zero and the ring, oldest first.
    public func print<P: Host>(cpu: P) {
        cpu.log("exit statistics: \(total(cpu: cpu)) VM exits (page at \(hex: base))")
        for reason in 0..<Self.counterCount {
            let count = self.count(basicReason: reason, cpu: cpu)
            if count != 0 { cpu.log("  \(count) x \(ExitReason(rawValue: UInt32(reason)))") }
        }
        for kind in GuestLineKind.allCases {
            let count = linesNotWritten(kind: kind, cpu: cpu)
            if count != 0 { cpu.log("  \(count) \(kind.noun) not logged") }
        }
        let exits = lastExits(cpu: cpu)
        cpu.log("last \(exits.count) VM exits, oldest first:")
        for exit in exits {
            cpu.log("  reason \(exit.reason) qualification \(hex: exit.qualification) RIP \(hex: exit.rip)")
        }
    }
}
