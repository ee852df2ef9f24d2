// Extended-page-table formats: the EPT entries (SDM 29.3.2, Tables 29-1 to 29-6) and the EPT
// pointer (SDM 25.6.11, Table 25-9).

/// Bits 2:0 of an EPT entry: read, write and execute access.
public struct EPTPermissions: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Bit 0: read access.
    public static let read = Self(rawValue: 1 << 0)
    /// Bit 1: write access.
    public static let write = Self(rawValue: 1 << 1)
    /// Bit 2: execute access (supervisor-mode linear addresses when mode-based execute control
    /// is on).
    public static let execute = Self(rawValue: 1 << 2)
    public static let all: Self = [.read, .write, .execute]
}

/// The bits of an EPT paging-structure entry other than the permissions and the address
/// (`PageFrame.addressMask`).
public enum EPTEntry {
    /// Bits 5:3 of an entry that maps a page: the EPT memory type (SDM 29.3.7).
    public static let memoryTypeShift: UInt64 = 3
    /// Bit 6 of an entry that maps a page: ignore PAT memory type.
    public static let ignorePAT: UInt64 = 1 << 6
    /// Bit 7 of a PDPTE or PDE: the entry maps a page (1 GiB or 2 MiB) rather than a table.
    public static let pageSize: UInt64 = 1 << 7
    /// Bit 8: accessed flag (with accessed and dirty flags enabled in the EPTP).
    public static let accessed: UInt64 = 1 << 8
    /// Bit 9 of an entry that maps a page: dirty flag.
    public static let dirty: UInt64 = 1 << 9
    /// Bits 29:12 of an EPT PDPTE that maps a 1-GiB page: reserved (SDM 29.3.2, Table 29-2).
    public static let reservedIn1GBPage: UInt64 = 0x3FFF_F000
    /// Bits 20:12 of an EPT PDE that maps a 2-MiB page: reserved (SDM 29.3.2, Table 29-4).
    public static let reservedIn2MBPage: UInt64 = 0x1F_F000
}

/// The EPT memory types (SDM 29.3.7; the EPTP's bits 2:0 and bits 5:3 of a page's entry).
public enum EPTMemoryType {
    /// 0: uncacheable (UC).
    public static let uncacheable: UInt64 = 0
    /// 6: write-back (WB).
    public static let writeBack: UInt64 = 6
}

/// The EPT pointer (SDM 25.6.11, Table 25-9).
public enum EPTPointer {
    /// Bits 2:0: the memory type of the EPT paging structures.
    public static let memoryTypeMask: UInt64 = 7
    /// Bits 5:3: the page-walk length minus one.
    public static let pageWalkLengthShift: UInt64 = 3
    /// Bit 6: enable accessed and dirty flags.
    public static let accessedAndDirtyFlags: UInt64 = 1 << 6
    /// Bit 7: enable supervisor shadow-stack control.
    public static let supervisorShadowStack: UInt64 = 1 << 7
    /// Bits 11:8: reserved (SDM 25.6.11, Table 25-9).
    public static let reservedBits11To8: UInt64 = 0xF00

    /// The pointer to the PML4 table at `pml4` for a four-level walk, without accessed and
    /// dirty flags.
    @inline(__always)
    public static func fourLevel(pml4: UInt64, memoryType: UInt64) -> UInt64 {
        pml4 | memoryType | 3 << pageWalkLengthShift
    }
}
