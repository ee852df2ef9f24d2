// The machine a pass-through guest is given (docs/LINUX.md): the firmware's memory map, and the
// RAM the hypervisor hands over when such a guest is built. Everything else that is RAM stays
// the hypervisor's - its image, the early memory below 1 MiB, the pages its allocator handed
// out or keeps for later, the arena, the boot information - and is reserved in the guest's
// E820 map and never mapped by EPT. Non-RAM ranges (firmware, ACPI, MMIO) are the guest's.
import VMX

/// What the kernel tells the hypervisor about the machine, for pass-through guests.
public struct PassThroughMachine {
    public var firmwareMap: [E820Entry]
    /// Called once, when a pass-through guest is built: the kernel stops handing out the
    /// memory it does not keep and returns the RAM the guest may own (free pages, the boot
    /// modules once they are loaded, low memory outside the kernel's). Nil when it cannot.
    public var claimGuestRAM: () -> [PhysicalRange]?
    /// A checksum of the hypervisor's code and read-only data, compared before and after a
    /// pass-through guest (docs/LINUX.md, "Isolation").
    public var imageChecksum: () -> UInt64

    public init(
        firmwareMap: [E820Entry], claimGuestRAM: @escaping () -> [PhysicalRange]?,
        imageChecksum: @escaping () -> UInt64
    ) {
        self.firmwareMap = firmwareMap
        self.claimGuestRAM = claimGuestRAM
        self.imageChecksum = imageChecksum
    }
}

/// The guest's view of memory, and what the hypervisor keeps.
public struct PassThroughMemory: Sendable {
    public var firmwareMap: [E820Entry]
    /// Firmware RAM the guest does not get, page-aligned, sorted, disjoint.
    public var hypervisorRanges: [PhysicalRange]
    /// RAM the guest owns (firmware RAM less the hypervisor's), sorted, disjoint.
    public var guestRAM: [PhysicalRange]

    /// Splits the firmware's RAM between the guest (`granted`, clipped to RAM and shrunk to
    /// whole pages) and the hypervisor (the rest of it).
    public init(firmwareMap: [E820Entry], granted: [PhysicalRange]) {
        self.firmwareMap = firmwareMap
        let page = PhysicalLayout.pageSize
        var ram: [PhysicalRange] = []
        for entry in firmwareMap where entry.type == .available {
            ram.append(PhysicalRange(start: entry.base, size: entry.length).shrunkToPages(page))
        }
        ram = PhysicalRange.normalized(ram)
        var guest: [PhysicalRange] = []
        for range in PhysicalRange.normalized(granted.map { $0.shrunkToPages(page) }) {
            for piece in ram where piece.overlaps(range) {
                guest.append(PhysicalRange(start: max(piece.start, range.start), end: min(piece.end, range.end)))
            }
        }
        guestRAM = PhysicalRange.normalized(guest)
        hypervisorRanges = PhysicalRange.subtracting(guestRAM, from: ram)
    }

    /// Whether `range` lies wholly in the guest's RAM.
    public func isGuestRAM(_ range: PhysicalRange) -> Bool {
        guestRAM.contains { $0.contains(range) }
    }

    /// Whether any byte of `range` is the hypervisor's.
    public func touchesHypervisor(_ range: PhysicalRange) -> Bool {
        hypervisorRanges.contains { $0.overlaps(range) }
    }

    /// Whether the page at `address` is memory (RAM, ACPI, NVS) in the firmware map: every byte
    /// of it, by entries of those types only; a hole or any other type makes it MMIO.
    func isCacheableMemory(page address: UInt64) -> Bool {
        let page = PhysicalRange(start: address, size: PhysicalLayout.pageSize)
        var covered: UInt64 = 0
        for entry in firmwareMap where PhysicalRange(start: entry.base, size: entry.length).overlaps(page) {
            guard entry.type == .available || entry.type == .acpiReclaimable || entry.type == .acpiNVS else {
                return false
            }
            covered += min(entry.end, page.end) - max(entry.base, page.start)
        }
        return covered >= PhysicalLayout.pageSize
    }
}

extension PhysicalRange {
    /// Sorted by start, empty ones dropped, overlapping or adjacent ones merged.
    public static func normalized(_ ranges: [PhysicalRange]) -> [PhysicalRange] {
        var sorted = ranges.filter { !$0.isEmpty }
        sortByStart(&sorted)
        var merged: [PhysicalRange] = []
        for range in sorted {
            if let last = merged.last, range.start <= last.end {
                merged[merged.count - 1].end = max(last.end, range.end)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// `ranges` less every byte of `holes` (both normalized or not), normalized.
    public static func subtracting(_ holes: [PhysicalRange], from ranges: [PhysicalRange]) -> [PhysicalRange] {
        var pieces = normalized(ranges)
        for hole in normalized(holes) {
            var next: [PhysicalRange] = []
            for piece in pieces {
                if !piece.overlaps(hole) { next.append(piece); continue }
                if piece.start < hole.start { next.append(PhysicalRange(start: piece.start, end: hole.start)) }
                if hole.end < piece.end { next.append(PhysicalRange(start: hole.end, end: piece.end)) }
            }
            pieces = next
        }
        return pieces
    }
}
