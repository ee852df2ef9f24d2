// A segment descriptor in the GDT or LDT (SDM Vol. 3A 3.4.5, Figure 3-8): base, limit, type, S,
// DPL, P, AVL, L, D/B and G; the code-and-data type bits (3.4.5.1, Table 3-1); and the system
// descriptor types (3.5, Table 3-2) that task switches and event delivery check.

public struct SegmentDescriptor: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Base address 31:0, from bits 39:16 (base 23:0) and 63:56 (base 31:24).
    public var base: UInt64 { (rawValue >> 16) & 0xFF_FFFF | ((rawValue >> 56) & 0xFF) << 24 }
    /// Segment limit 19:0, from bits 15:0 and 51:48, in the units G selects.
    public var rawLimit: UInt64 { rawValue & 0xFFFF | ((rawValue >> 48) & 0xF) << 16 }
    /// The segment limit in bytes: with G, in 4-KiB units with the low 12 bits set.
    public var limit: UInt64 { isGranular ? rawLimit << 12 | 0xFFF : rawLimit }
    /// Type (bits 43:40).
    public var type: UInt8 { UInt8((rawValue >> 40) & 0xF) }
    /// Type (bits 43:40) with S (bit 44): a system descriptor's type compares with
    /// `SystemDescriptorType` values.
    public var typeAndS: UInt8 { UInt8((rawValue >> 40) & 0x1F) }
    /// S (bit 44): 1 for a code or data segment, 0 for a system descriptor.
    public var isCodeOrData: Bool { rawValue & (1 << 44) != 0 }
    /// DPL (bits 46:45): descriptor privilege level.
    public var dpl: UInt8 { UInt8((rawValue >> 45) & 3) }
    /// P (bit 47): segment present.
    public var isPresent: Bool { rawValue & (1 << 47) != 0 }
    /// L (bit 53): 64-bit code segment.
    public var isLongMode: Bool { rawValue & (1 << 53) != 0 }
    /// D/B (bit 54): default operation size 32 bits (or B for a stack: 32-bit stack pointer).
    public var isDefaultBig: Bool { rawValue & (1 << 54) != 0 }
    /// G (bit 55): granularity, the limit counts 4-KiB units.
    public var isGranular: Bool { rawValue & (1 << 55) != 0 }

    /// The accessed bit (type bit 0, descriptor bit 40) of a code or data segment.
    public static let accessed: UInt64 = 1 << 40
    /// The busy bit (type bit 1, descriptor bit 41) of a TSS descriptor.
    public static let busy: UInt64 = 1 << 41

    /// The attribute bits of the descriptor's high doubleword, as they sit there: type, S, DPL,
    /// P (bits 15:8) and AVL, L, D/B, G (bits 23:20).
    public static let attributesOfHighDoubleword: UInt32 = 0x00F0_FF00

    /// A flat 64-bit code segment: base 0, limit FFFFFH pages, execute/read and accessed, S, DPL
    /// 0, P, L and G.
    public static let flatCode64 = Self(rawValue: 0x00AF_9B00_0000_FFFF)
    /// A flat data segment: base 0, limit FFFFFH pages (4 GiB), read/write and accessed, S, DPL
    /// 0, P, D/B and G.
    public static let flatData = Self(rawValue: 0x00CF_9300_0000_FFFF)

    /// A 16-byte system descriptor in IA-32e mode (SDM Vol. 3A 8.2.3, Figure 8-4: a TSS or LDT):
    /// the low eight bytes hold limit 19:0, base 31:0, `type`, DPL 0 and P; the high eight
    /// bytes base 63:32.
    public static func system(base: UInt64, limit: UInt64, type: UInt8) -> (low: UInt64, high: UInt64) {
        var low = limit & 0xFFFF | (base & 0xFF_FFFF) << 16
        low |= (UInt64(type) | 0x80) << 40  // P (bit 47) with the type
        low |= ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56
        return (low, base >> 32)
    }

    /// The access rights the VMCS holds for this descriptor (SDM 25.4.1, Table 25-2): type, S,
    /// DPL, P at bits 7:0 and AVL, L, D/B, G at bits 15:12.
    public var accessRights: UInt64 { (rawValue >> 40) & 0xFF | ((rawValue >> 52) & 0xF) << 12 }
}

/// Bits of the type field of a code or data segment descriptor (SDM Vol. 3A 3.4.5.1, Table 3-1).
public enum SegmentType {
    /// Bit 0: accessed.
    public static let accessed: UInt8 = 1
    /// Bit 1: writable (data) or readable (code).
    public static let writableOrReadable: UInt8 = 2
    /// Bit 2: expand-down (data) or conforming (code).
    public static let expandDownOrConforming: UInt8 = 4
    /// Bit 3: a code segment (0 for data).
    public static let code: UInt8 = 8
}

/// System-segment and gate-descriptor types (SDM Vol. 3A 3.5, Table 3-2): the type field
/// (bits 43:40) with S = 0.
public enum SystemDescriptorType {
    /// 16-bit TSS (available).
    public static let availableTSS16: UInt8 = 1
    /// LDT.
    public static let ldt: UInt8 = 2
    /// 16-bit TSS (busy).
    public static let busyTSS16: UInt8 = 3
    /// Task gate.
    public static let taskGate: UInt8 = 5
    /// 16-bit interrupt gate.
    public static let interruptGate16: UInt8 = 6
    /// 16-bit trap gate.
    public static let trapGate16: UInt8 = 7
    /// 32-bit TSS (available); in IA-32e mode, 64-bit TSS (available).
    public static let availableTSS32: UInt8 = 9
    /// 32-bit TSS (busy); in IA-32e mode, 64-bit TSS (busy).
    public static let busyTSS32: UInt8 = 11
    /// 32-bit interrupt gate; in IA-32e mode, 64-bit interrupt gate.
    public static let interruptGate32: UInt8 = 14
    /// 32-bit trap gate; in IA-32e mode, 64-bit trap gate.
    public static let trapGate32: UInt8 = 15
}

/// A segment selector (SDM Vol. 3A 3.4.2, Figure 3-6): index, TI, RPL.
public enum SegmentSelector {
    /// Bits 1:0: requested privilege level.
    public static let rplMask: UInt64 = 3
    /// Bit 2: table indicator, 1 for the LDT.
    public static let tableIndicator: UInt64 = 4
    /// Bits 15:3: the index, times 8: the descriptor's offset in its table.
    public static let indexMask: UInt64 = 0xFFF8
    /// Bits 15:2: the selector without its RPL, as error codes carry it (SDM 6.13).
    public static let withoutRPL: UInt64 = 0xFFFC
}
