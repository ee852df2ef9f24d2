// The access-rights format of a segment in the VMCS guest-state area (SDM 25.4.1, Table 25-2):
// the descriptor's type, S, DPL, P, AVL, L, D/B and G bits (SDM Vol. 3A 3.4.5, Figure 3-8),
// moved to bits 3:0, 4, 6:5, 7, 12, 13, 14, 15, and the VMX "segment unusable" bit 16.

public struct SegmentAccessRights: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // Type field values (bits 3:0; SDM Vol. 3A 3.4.5.1, Table 3-1, and 3.5, Table 3-2).
    /// Type 3 for a code-or-data segment: data, read/write, accessed.
    public static let readWriteAccessed = Self(rawValue: 3)
    /// Type 11 for a code-or-data segment: code, execute/read, accessed.
    public static let executeReadAccessed = Self(rawValue: 11)
    /// Type 2 for a system segment: LDT.
    public static let ldt = Self(rawValue: 2)
    /// Type 11 for a system segment: 32-bit (or 64-bit) TSS, busy.
    public static let busyTSS = Self(rawValue: 11)

    /// S (bit 4): descriptor type, 1 for a code or data segment, 0 for a system segment.
    public static let codeOrData = Self(rawValue: 1 << 4)
    /// P (bit 7): segment present.
    public static let present = Self(rawValue: 1 << 7)
    /// AVL (bit 12): available for use by system software.
    public static let available = Self(rawValue: 1 << 12)
    /// L (bit 13): 64-bit mode active (CS only).
    public static let longMode = Self(rawValue: 1 << 13)
    /// D/B (bit 14): default operation size (0 = 16-bit segment, 1 = 32-bit segment).
    public static let defaultOperationSize = Self(rawValue: 1 << 14)
    /// G (bit 15): granularity (the limit counts 4-KiB units).
    public static let granularity = Self(rawValue: 1 << 15)
    /// Segment unusable (bit 16; VMX only, SDM 25.4.1).
    public static let unusable = Self(rawValue: 1 << 16)

    /// Read/write data, present, 16-bit, byte granular: a real-mode data segment (93H).
    public static let realModeData = Self(rawValue: 3 | 1 << 4 | 1 << 7)
    /// Execute/read code, present, 16-bit, byte granular: a real-mode code segment (9BH).
    public static let realModeCode = Self(rawValue: 11 | 1 << 4 | 1 << 7)
    /// Read/write data, present, 32-bit, 4-KiB granular: a flat data segment (C093H).
    public static let flatData = Self(rawValue: 3 | 1 << 4 | 1 << 7 | 1 << 14 | 1 << 15)
    /// Execute/read code, present, 32-bit, 4-KiB granular: a flat 32-bit code segment (C09BH).
    public static let flatCode32 = Self(rawValue: 11 | 1 << 4 | 1 << 7 | 1 << 14 | 1 << 15)
    /// Execute/read code, present, 64-bit (L = 1, D = 0), 4-KiB granular (A09BH).
    public static let flatCode64 = Self(rawValue: 11 | 1 << 4 | 1 << 7 | 1 << 13 | 1 << 15)
    /// A present busy TSS (8BH): what TR must hold at VM entry (SDM 27.3.1.2).
    public static let presentBusyTSS = Self(rawValue: 11 | 1 << 7)
    /// A present LDT (82H).
    public static let presentLDT = Self(rawValue: 2 | 1 << 7)
}
