// EPT for a pass-through guest (docs/LINUX.md, "Memory"): guest-physical addresses are
// host-physical ones (an identity map), for everything the guest may use - its RAM, the
// firmware's areas, ACPI tables, MMIO (local APIC, I/O APIC, HPET, PCI) - up to the top of the
// firmware map or 4 GiB, whichever is higher; the hypervisor's RAM is left out, so any access
// to it is an EPT violation (SDM 29.3.3). Memory (RAM, ACPI) is write-back, everything else
// uncacheable, so that MMIO stays uncached whatever the guest's PAT says (SDM 29.3.7.2: with
// "ignore PAT" clear, a UC EPT type gives UC).
import VMX

extension PassThroughMemory {
    /// The highest guest-physical address mapped: 4 GiB, or the end of the firmware map above
    /// it, rounded up to 2 MiB.
    public var mappedTop: UInt64 {
        var top = PhysicalRange.fourGiB
        for entry in firmwareMap { top = max(top, entry.end) }
        let large: UInt64 = 2 << 20
        return (top + large - 1) & ~(large - 1)
    }

    /// Builds the identity map in `ept`: 2-MiB pages where a whole 2-MiB block is one kind
    /// (all guest memory, or all MMIO, nothing of the hypervisor's), 4-KiB pages elsewhere.
    /// Returns false when the arena has no room for a table.
    /// `separate` ranges are mapped with 4-KiB pages whatever is around them, so that a page of
    /// them can be mapped elsewhere afterwards (PassThroughMADT).
    public func mapIdentity<P: Processor>(
        into ept: EPT, separate: [PhysicalRange] = [], arena: inout PageArena,
        cpu: P
    ) -> Bool {
        let large: UInt64 = 2 << 20, page = PhysicalLayout.pageSize
        var boundaries: [UInt64] = []
        for range in separate { boundaries += [range.start, range.end] }
        for entry in firmwareMap { boundaries += [entry.base, entry.end] }
        for range in hypervisorRanges { boundaries += [range.start, range.end] }
        var block: UInt64 = 0
        let top = mappedTop
        while block < top {
            let uniform = !boundaries.contains { $0 > block && $0 < block + large }
            if uniform {
                if !mapPages(block, bytes: large, ept: ept, arena: &arena, cpu: cpu) { return false }
            } else {
                var address = block
                while address < block + large {
                    if !mapPages(address, bytes: page, ept: ept, arena: &arena, cpu: cpu) { return false }
                    address += page
                }
            }
            block += large
        }
        return true
    }

    /// Maps [address, address + bytes), all of one kind as `address`'s page is.
    private func mapPages<P: Processor>(
        _ address: UInt64, bytes: UInt64, ept: EPT, arena: inout PageArena,
        cpu: P
    ) -> Bool {
        let page = PhysicalRange(start: address, size: PhysicalLayout.pageSize)
        guard !touchesHypervisor(page) else { return true }
        let type = isCacheableMemory(page: address) ? EPT.writeBack : EPT.uncacheable
        return ept.map(
            guestPhysical: address, host: address, bytes: bytes, permissions: .all,
            largePages: true, memoryType: type, arena: &arena, cpu: cpu)
    }
}
