// The physical-address field of paging-structure entries, EPT entries and the EPT pointer,
// and of IA32_APIC_BASE: bits 51:12, a 4-KiB-aligned physical address within the
// architectural maximum of 52 bits (SDM Vol. 3A 4.5, Table 4-20; 29.3.2; 25.6.11;
// Vol. 3A 11.4.4).

public enum PageFrame {
    /// Bits 51:12: the 4-KiB frame address of a 64-bit entry (MAXPHYADDR is at most 52).
    public static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    /// Bits 31:12: the 4-KiB frame address of a 32-bit paging entry or CR3 (SDM Vol. 3A 4.3).
    public static let addressMask32: UInt64 = 0xFFFF_F000
    /// Bits 11:0: the offset within a 4-KiB page.
    public static let offsetMask: UInt64 = 0xFFF
    /// The size of a 4-KiB page.
    public static let size: UInt64 = 0x1000
}
