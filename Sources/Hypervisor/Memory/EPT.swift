// Extended page tables: guest-physical to host-physical translation (SDM 29.3 "The Extended
// Page Table Mechanism (EPT)"). Four levels (PML4, PDPT, PD, PT) of 512 eight-byte entries;
// the tables come from the arena and map only the memory given to the guest, so the
// hypervisor's own memory is never reachable from it.
//
// Entry format (SDM 29.3.2, Tables 29-1 to 29-6): bit 0 read, bit 1 write, bit 2 execute,
// bits 5:3 memory type and bit 6 ignore-PAT (entries that map a page), bit 7 page size (a PD
// entry that maps 2 MiB, a PDPT entry that maps 1 GiB), bits 51:12 the physical address.
import VMX

public struct EPT: Sendable {
    /// Physical address of the PML4 table.
    public let pml4: UInt64
    /// The memory type of the EPT paging structures and of the pages: 6 (WB) or 0 (UC).
    public let memoryType: UInt64

    static let largePage: UInt64 = EPTEntry.pageSize
    /// EPT memory types (SDM 29.3.7): uncacheable and write-back.
    public static let uncacheable: UInt64 = EPTMemoryType.uncacheable
    public static let writeBack: UInt64 = EPTMemoryType.writeBack
    static let addressMask: UInt64 = PageFrame.addressMask

    /// The EPT pointer (SDM 25.6.11, Table 25-9): memory type in bits 2:0, the page-walk
    /// length minus one (3, four levels) in bits 5:3, accessed and dirty flags off (bit 6).
    public var pointer: UInt64 { EPTPointer.fourLevel(pml4: pml4, memoryType: memoryType) }

    /// Allocates an empty PML4.
    public init?<P: Processor>(memoryType: UInt64, arena: inout PageArena, cpu: P) {
        guard let table = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu) else { return nil }
        pml4 = table
        self.memoryType = memoryType
    }

    /// Maps [guestPhysical, guestPhysical + bytes) to [host, host + bytes) with `permissions`,
    /// with 2-MiB pages where both addresses are aligned and `largePages` allows them, 4-KiB
    /// pages otherwise. Returns false when the arena has no room for a table.
    /// `memoryType` overrides the tables' type for these pages (0 UC for MMIO, 6 WB).
    public func map<P: Processor>(
        guestPhysical: UInt64, host: UInt64, bytes: UInt64,
        permissions: EPTPermissions, largePages: Bool,
        memoryType pageType: UInt64? = nil,
        arena: inout PageArena, cpu: P
    ) -> Bool {
        var offset: UInt64 = 0
        while offset < bytes {
            let gpa = guestPhysical + offset, hpa = host + offset
            let leaf = permissions.rawValue | (pageType ?? memoryType) << EPTEntry.memoryTypeShift
            guard let pdpt = table(below: pml4, index: (gpa >> 39) & 511, arena: &arena, cpu: cpu),
                let pd = table(below: pdpt, index: (gpa >> 30) & 511, arena: &arena, cpu: cpu)
            else { return false }
            let large: UInt64 = 2 << 20
            if largePages && gpa % large == 0 && hpa % large == 0 && bytes - offset >= large {
                cpu.writePhysical64(pd + ((gpa >> 21) & 511) * 8, hpa | leaf | Self.largePage)
                offset += large
                continue
            }
            guard let pt = table(below: pd, index: (gpa >> 21) & 511, arena: &arena, cpu: cpu) else { return false }
            cpu.writePhysical64(pt + ((gpa >> 12) & 511) * 8, hpa | leaf)
            offset += PhysicalLayout.pageSize
        }
        return true
    }

    /// Maps the page of `guestPhysical` if it was reserved for the guest's first touch (`map`
    /// with no permissions: a not-present 4-KiB entry whose address is already filled in, SDM
    /// 29.3.2: bits 2:0 clear make an entry not present whatever its other bits hold). The EPT
    /// violation that led here invalidated any cached translation of that address (SDM
    /// 29.4.3.1), so the retried access sees the new entry without INVEPT. Returns false for any
    /// other address.
    public func mapOnFirstTouch<P: Processor>(_ guestPhysical: UInt64, cpu: P) -> Bool {
        guard let slot = reservedSlot(guestPhysical, cpu: cpu) else { return false }
        cpu.writePhysical64(slot, cpu.readPhysical64(slot) | EPTPermissions.all.rawValue)
        return true
    }

    /// The host-physical address of a page reserved for first touch and not touched yet.
    public func reservedHost<P: Processor>(_ guestPhysical: UInt64, cpu: P) -> UInt64? {
        guard let slot = reservedSlot(guestPhysical, cpu: cpu) else { return nil }
        return cpu.readPhysical64(slot) & Self.addressMask | guestPhysical & (PhysicalLayout.pageSize - 1)
    }

    /// The 4-KiB entry of `guestPhysical` when it is reserved for first touch.
    private func reservedSlot<P: Processor>(_ guestPhysical: UInt64, cpu: P) -> UInt64? {
        guard guestPhysical >> 48 == 0 else { return nil }
        var table = pml4
        var shift: UInt64 = 39
        while shift > 12 {
            let entry = cpu.readPhysical64(table + ((guestPhysical >> shift) & 511) * 8)
            guard entry & 7 != 0, entry & Self.largePage == 0 else { return nil }
            table = entry & Self.addressMask
            shift -= 9
        }
        let slot = table + ((guestPhysical >> 12) & 511) * 8
        let entry = cpu.readPhysical64(slot)
        return entry & 7 == 0 && entry & Self.addressMask != 0 ? slot : nil
    }

    /// The table the entry at `index` of `parent` points to, made if absent.
    private func table<P: Processor>(below parent: UInt64, index: UInt64, arena: inout PageArena, cpu: P) -> UInt64? {
        let slot = parent + index * 8
        let entry = cpu.readPhysical64(slot)
        if entry & 7 != 0 { return entry & Self.addressMask }
        guard let page = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu) else { return nil }
        cpu.writePhysical64(slot, page | EPTPermissions.all.rawValue)
        return page
    }

    /// Walks the tables as the processor does: the host-physical address of `guestPhysical`
    /// and the rights of the walk (the AND over its entries), or nil where it ends at a
    /// not-present entry.
    public func translate<P: Processor>(_ guestPhysical: UInt64, cpu: P) -> (host: UInt64, permissions: EPTPermissions)?
    {
        // A 4-level walk translates bits 47:0 (SDM 29.3.2); higher bits would alias.
        guard guestPhysical >> 48 == 0 else { return nil }
        var table = pml4
        var rights = EPTPermissions.all.rawValue
        var shift: UInt64 = 39
        while true {
            let entry = cpu.readPhysical64(table + ((guestPhysical >> shift) & 511) * 8)
            rights &= entry & 7
            if entry & 7 == 0 { return nil }
            let isLeaf = shift == 12 || (shift <= 30 && entry & Self.largePage != 0)
            if isLeaf {
                let pageMask: UInt64 = (1 << shift) - 1
                return (
                    (entry & Self.addressMask & ~pageMask) | (guestPhysical & pageMask),
                    EPTPermissions(rawValue: rights)
                )
            }
            table = entry & Self.addressMask
            shift -= 9
        }
    }
}
