// The guest's E820 memory map: the firmware's map with the hypervisor's own memory taken out
// (marked reserved), as boot_params.e820_table hands it to Linux (bootparam.h, struct
// boot_e820_entry; the types are ACPI 6.5 table 15.1, "Address Range Types", the values of
// INT 15H E820H).
//
// Rules, so that the guest never gets a byte the hypervisor owns as RAM:
// - available (type 1) firmware ranges are page-rounded inward, every other range (the
//   firmware's other types and the hypervisor's ranges) outward;
// - where ranges overlap, type 1 loses to every other type, and among the others the larger
//   type number wins (what Linux's e820__update_table does), so a hypervisor range (type 2)
//   turns available memory reserved and leaves ACPI, NVS and bad memory as they are;
// - the result is sorted, without overlaps, adjacent entries of the same type merged.

/// The type of an address range; unknown values pass through.
public struct E820Type: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// AddressRangeMemory: RAM the operating system may use.
    public static let available = E820Type(rawValue: 1)
    /// AddressRangeReserved: in use or reserved by the system.
    public static let reserved = E820Type(rawValue: 2)
    /// AddressRangeACPI: ACPI tables, RAM once they are read.
    public static let acpiReclaimable = E820Type(rawValue: 3)
    /// AddressRangeNVS: ACPI non-volatile storage, kept across sleep states.
    public static let acpiNVS = E820Type(rawValue: 4)
    /// AddressRangeUnusable: memory with errors.
    public static let unusable = E820Type(rawValue: 5)

    /// The rank in an overlap: available is lowest; type 0 (undefined) counts as reserved.
    var precedence: UInt32 {
        if self == .available { return 0 }
        return rawValue == 0 ? Self.reserved.rawValue : rawValue
    }
}

/// One range: base, length in bytes, type.
public struct E820Entry: Equatable, Sendable {
    public var base: UInt64
    public var length: UInt64
    public var type: E820Type

    public init(base: UInt64, length: UInt64, type: E820Type) {
        self.base = base
        self.length = length
        self.type = type
    }

    /// The first byte after the range (saturating at 2^64 - 1).
    public var end: UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(length)
        return overflow ? UInt64.max : sum
    }
}

public enum E820Map {
    /// The page size of the rounding.
    public static let pageSize: UInt64 = 4096
    static let pageMask: UInt64 = pageSize - 1

    /// The guest's map: `firmware` with `hypervisor` ranges reserved.
    public static func build(firmware: [E820Entry], hypervisor: [PhysicalRange]) -> [E820Entry] {
        // Rounded ranges [start, end) with their types.
        var ranges: [(start: UInt64, end: UInt64, type: E820Type)] = []
        for entry in firmware where entry.length != 0 {
            let inward = entry.type == .available
            let start = inward ? roundUp(entry.base) : entry.base & ~pageMask
            let end = inward ? entry.end & ~pageMask : roundUp(entry.end)
            if start < end { ranges.append((start, end, entry.type)) }
        }
        for range in hypervisor where range.start < range.end {
            ranges.append((range.start & ~pageMask, roundUp(range.end), .reserved))
        }
        // Every boundary, sorted; between two neighbours the winning type is constant.
        var boundaries: [UInt64] = []
        for range in ranges {
            boundaries.append(range.start)
            boundaries.append(range.end)
        }
        boundaries.sort()
        var map: [E820Entry] = []
        var index = 0
        while index + 1 < boundaries.count {
            let start = boundaries[index], end = boundaries[index + 1]
            index += 1
            guard start < end else { continue }
            var winner: E820Type? = nil
            for range in ranges where range.start <= start && range.end >= end {
                if let best = winner, best.precedence >= range.type.precedence { continue }
                winner = range.type
            }
            guard let type = winner else { continue }
            if let last = map.last, last.type == type, last.end == start {
                map[map.count - 1].length = end - last.base
            } else {
                map.append(E820Entry(base: start, length: end - start, type: type))
            }
        }
        return map
    }

    /// Rounds up to a page, saturating at the last page boundary below 2^64.
    static func roundUp(_ value: UInt64) -> UInt64 {
        let (sum, overflow) = value.addingReportingOverflow(pageMask)
        return overflow ? UInt64.max & ~pageMask : sum & ~pageMask
    }
}
