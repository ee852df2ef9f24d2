// The entries of the guest's paging structures (SDM Vol. 3A 4.3 Tables 4-4 to 4-6 for 32-bit
// paging; 4.4.2 Tables 4-8 to 4-11 for PAE paging; 4.5.4 Tables 4-15 to 4-20 for 4-level and
// 5-level paging): the flag bits the formats share, and the address fields and reserved bits
// that differ between them.

public struct PageTableEntry: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// P (bit 0): present; the entry maps a page or references a paging structure.
    public static let present = Self(rawValue: 1 << 0)
    /// R/W (bit 1): read/write; 0 makes the region it controls read-only.
    public static let readWrite = Self(rawValue: 1 << 1)
    /// U/S (bit 2): user/supervisor; 0 denies user-mode accesses to the region.
    public static let userSupervisor = Self(rawValue: 1 << 2)
    /// PWT (bit 3): page-level write-through.
    public static let pageWriteThrough = Self(rawValue: 1 << 3)
    /// PCD (bit 4): page-level cache disable.
    public static let pageCacheDisable = Self(rawValue: 1 << 4)
    /// A (bit 5): accessed; the processor sets it when it uses the entry (SDM 4.8).
    public static let accessed = Self(rawValue: 1 << 5)
    /// D (bit 6): dirty, in an entry that maps a page; set by a write to the page (SDM 4.8).
    public static let dirty = Self(rawValue: 1 << 6)
    /// PS (bit 7): page size; the entry maps a 4-MiB, 2-MiB or 1-GiB page instead of
    /// referencing a page table (reserved in a PML4E and a PML5E).
    public static let pageSize = Self(rawValue: 1 << 7)
    /// G (bit 8): global, in an entry that maps a page.
    public static let global = Self(rawValue: 1 << 8)
    /// XD (bit 63): execute-disable, with IA32_EFER.NXE = 1 (reserved otherwise); 64-bit
    /// entries only.
    public static let executeDisable = Self(rawValue: 1 << 63)
}

/// The address fields and reserved bits of paging-structure entries by paging mode.
public enum PagingStructure {
    /// Bits 8:0 of an index into a table of 512 8-byte entries (PAE, 4-level and 5-level
    /// paging, and EPT).
    public static let indexMask: UInt64 = 0x1FF
    /// Bits 9:0 of an index into a table of 1024 4-byte entries (32-bit paging).
    public static let indexMask32: UInt64 = 0x3FF

    /// Bits 31:22 of a PDE that maps a 4-MiB page (32-bit paging, Table 4-4): the page's
    /// physical address bits 31:22.
    public static let largePageFrame32: UInt64 = 0xFFC0_0000
    /// Bits 21:0: the offset within a 4-MiB page.
    public static let largePageOffset32: UInt64 = 0x3F_FFFF
    /// Bit 21 of a PDE that maps a 4-MiB page: reserved (Table 4-4; bits 20:13 are PSE-36's
    /// physical-address bits 39:32).
    public static let largePageReserved32: UInt64 = 1 << 21
    /// Bits 20:0: the offset within a 2-MiB page.
    public static let largePageOffset2MB: UInt64 = 0x1F_FFFF
    /// Bits 20:13 of a PDE that maps a 2-MiB page: reserved (Tables 4-9, 4-18).
    public static let largePageReserved2MB: UInt64 = 0x1F_E000
    /// Bits 29:13 of a PDPTE that maps a 1-GiB page: reserved (Table 4-16).
    public static let largePageReserved1GB: UInt64 = 0x3FFF_E000

    /// CR3 bits 31:5 with PAE paging: the 32-byte aligned page-directory-pointer table
    /// (SDM 4.4.1, Table 4-7).
    public static let paeDirectoryPointerTable: UInt64 = 0xFFFF_FFE0
    /// Bits 2:1 and 8:5 of a PAE PDPTE: reserved (Table 4-8). Bits 63:MAXPHYADDR are
    /// reserved as well.
    public static let paeDirectoryPointerReserved: UInt64 = 0x1E6
}

/// The error code of a page fault (SDM Vol. 3A 4.7, Figure 4-12).
public struct PageFaultErrorCode: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// P (bit 0): 0 for a non-present page, 1 for a protection violation.
    public static let present = Self(rawValue: 1 << 0)
    /// W/R (bit 1): the access was a write.
    public static let write = Self(rawValue: 1 << 1)
    /// U/S (bit 2): the access was a user-mode access.
    public static let user = Self(rawValue: 1 << 2)
    /// RSVD (bit 3): a reserved bit was set in a paging-structure entry.
    public static let reservedBit = Self(rawValue: 1 << 3)
    /// I/D (bit 4): the access was an instruction fetch (reported with NXE or SMEP).
    public static let instructionFetch = Self(rawValue: 1 << 4)
}
