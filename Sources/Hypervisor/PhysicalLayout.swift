// One physical layout for both worlds (docs/ARCHITECTURE.md, "One layout").
//
// Everything the hypervisor places in physical memory (the VMXON region, VMCSs, bitmaps, EPT
// tables, guest memory) comes from one arena at a fixed physical address. The kernel checks
// that the firmware's memory map gives it as RAM; the emulated CPU's memory contains it. So
// the kernel and the emulated CPU compute the same addresses for the same set-up, and their
// VMCSs can be compared field by field.
import VMX

public enum PhysicalLayout {
    /// First byte of the hosted world's arena: 16 MiB. The kernel places its arena of the same
    /// size at the top of RAM below 4 GiB, chosen from the memory map (Entry.swift), so that
    /// boot modules and a pass-through guest have the low memory; scenario files give arena
    /// addresses relative to the base (Scenario.swift), so they hold in both worlds.
    public static let arenaBase: UInt64 = 0x0100_0000
    /// Size of the arena: 32 MiB.
    public static let arenaSize: UInt64 = 0x0200_0000
    public static var arenaEnd: UInt64 { arenaBase + arenaSize }
    public static let pageSize: UInt64 = 4096
}

/// Hands out zeroed, page-aligned physical memory from `[base, end)`, first come first served:
/// small structures from the bottom up, guests' memory blocks (large and 2-MiB aligned, so
/// that EPT and guest paging can map them with 2-MiB pages) from the top down. Nothing is
/// freed one by one: what all guests share lives as long as VMX operation does, and what one
/// guest had (memory, EPT tables, VMCS) goes back at once when it has stopped (`release`),
/// since guests run one after the other.
public struct PageArena {
    /// The arena's first byte (scenario files give addresses relative to it).
    public let base: UInt64
    public private(set) var next: UInt64
    public private(set) var end: UInt64

    /// The arena's state at some moment, to return to.
    public struct Mark: Sendable {
        fileprivate let next: UInt64
        fileprivate let end: UInt64
    }

    public var mark: Mark { Mark(next: next, end: end) }

    /// Hands back everything allocated since `mark`. The caller vouches that none of it is in
    /// use, nor an active VMCS (SDM 25.11.3: a VMCS region is reused only after VMCLEAR).
    public mutating func release(to mark: Mark) {
        next = mark.next
        end = mark.end
    }

    public init(base: UInt64 = PhysicalLayout.arenaBase, end: UInt64 = PhysicalLayout.arenaEnd) {
        self.base = base
        self.next = (base + PhysicalLayout.pageSize - 1) & ~(PhysicalLayout.pageSize - 1)
        self.end = end
    }

    /// Allocates `bytes` (rounded up to whole pages) whose last byte lies below `limit`,
    /// zeroed through `cpu`. Returns nil when the arena cannot satisfy the request.
    public mutating func allocate<P: Processor>(
        bytes: UInt64, below limit: UInt64 = UInt64.max, zeroingWith cpu: P
    ) -> UInt64? {
        let size = (max(bytes, 1) + PhysicalLayout.pageSize - 1) & ~(PhysicalLayout.pageSize - 1)
        let start = next
        guard size <= end - start, start + size - 1 < limit else { return nil }
        next = start + size
        cpu.zeroPhysical(start, count: Int(size))
        return start
    }

    /// Allocates `bytes` (rounded up to whole pages) at the highest address below the arena's
    /// top that is a multiple of `alignment` (a power of two, at least a page), zeroed through
    /// `cpu`. Returns nil when it does not fit above the bottom allocations.
    public mutating func allocateFromTop<P: Processor>(
        bytes: UInt64, alignment: UInt64, zeroingWith cpu: P
    ) -> UInt64? {
        guard let part = splitFromTop(bytes: bytes, alignment: alignment) else { return nil }
        cpu.zeroPhysical(part.base, count: Int(part.end - part.base))
        return part.base
    }

    /// Hands `bytes` (rounded up to whole pages) at the top, placed as `allocateFromTop` places
    /// them, to an arena of their own, not zeroed: that arena zeroes what it hands out.
    public mutating func splitFromTop(bytes: UInt64, alignment: UInt64) -> PageArena? {
        let size = (max(bytes, 1) + PhysicalLayout.pageSize - 1) & ~(PhysicalLayout.pageSize - 1)
        guard size <= end - next else { return nil }
        let start = (end - size) & ~(max(alignment, PhysicalLayout.pageSize) - 1)
        guard start >= next else { return nil }
        end = start
        return PageArena(base: start, end: start + size)
    }
}
