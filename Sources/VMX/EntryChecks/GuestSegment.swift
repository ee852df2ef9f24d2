// The guest-state fields of one segment register (SDM 25.4.1 "Guest Register State") and the
// access-rights format VM entry checks (SDM 25.4.1, Table 25-2 "Format of Access Rights").

/// The eight segment registers with guest-state fields, in the order of their encodings.
public enum SegmentRegister: Int, Sendable {
    case es = 0, cs, ss, ds, fs, gs, ldtr, tr

    /// "ES", "CS", ... "LDTR", "TR".
    public var name: String {
        switch self {
        case .es: return "ES"
        case .cs: return "CS"
        case .ss: return "SS"
        case .ds: return "DS"
        case .fs: return "FS"
        case .gs: return "GS"
        case .ldtr: return "LDTR"
        case .tr: return "TR"
        }
    }

    // The four fields of each register share their index: selector (16-bit), limit and access
    // rights (32-bit), base (natural-width), indexes 0-7 in ES, CS, SS, DS, FS, GS, LDTR, TR
    // order (SDM Appendix B.1.2, B.3.3, B.4.3).
    public var selectorField: VMCSField { VMCSField(width: .sixteenBit, type: .guestState, index: UInt32(rawValue)) }
    public var limitField: VMCSField { VMCSField(width: .thirtyTwoBit, type: .guestState, index: UInt32(rawValue)) }
    public var accessRightsField: VMCSField {
        VMCSField(width: .thirtyTwoBit, type: .guestState, index: 10 + UInt32(rawValue))
    }
    public var baseField: VMCSField { VMCSField(width: .naturalWidth, type: .guestState, index: 3 + UInt32(rawValue)) }

    // Register groups the checks of SDM 27.3.1.2 name (static, so loops over them allocate
    // nothing).
    /// CS, SS, DS, ES, FS, GS in encoding order (ES first).
    public static let codeAndDataRegisters: [SegmentRegister] = [.es, .cs, .ss, .ds, .fs, .gs]
    /// DS, ES, FS, GS: the data-segment registers checked together.
    public static let dataRegisters: [SegmentRegister] = [.ds, .es, .fs, .gs]
    /// TR, FS, GS (and LDTR if usable): bases that must be canonical.
    public static let canonicalBaseRegisters: [SegmentRegister] = [.tr, .fs, .gs, .ldtr]
    /// CS (and SS, DS, ES if usable): bases whose bits 63:32 must be 0.
    public static let thirtyTwoBitBaseRegisters: [SegmentRegister] = [.cs, .ss, .ds, .es]
}

/// One guest segment register as the VMCS holds it.
public struct GuestSegment: Equatable, Sendable {
    public var register: SegmentRegister
    public var selector: UInt16
    public var base: UInt64
    public var limit: UInt32
    public var accessRights: UInt32

    public init(register: SegmentRegister, selector: UInt16, base: UInt64, limit: UInt32, accessRights: UInt32) {
        self.register = register
        self.selector = selector
        self.base = base
        self.limit = limit
        self.accessRights = accessRights
    }

    // MARK: Selector (SDM Vol. 3A 3.4.2)

    /// Bits 1:0: the requested privilege level.
    public var rpl: UInt8 { UInt8(selector & 3) }
    /// Bit 2: the table indicator (1 = LDT).
    public var tableIndicator: Bool { selector & 4 != 0 }

    // MARK: Access rights (Table 25-2)

    /// Bits 3:0: segment type.
    public var type: UInt8 { UInt8(accessRights & 0xF) }
    /// Bit 4: S, descriptor type (1 = code or data).
    public var isCodeOrData: Bool { accessRights & (1 << 4) != 0 }
    /// Bits 6:5: DPL.
    public var dpl: UInt8 { UInt8((accessRights >> 5) & 3) }
    /// Bit 7: P, segment present.
    public var isPresent: Bool { accessRights & (1 << 7) != 0 }
    /// Bit 13: L, 64-bit mode active (CS only).
    public var isLong: Bool { accessRights & (1 << 13) != 0 }
    /// Bit 14: D/B, default operation size.
    public var isDefaultBig: Bool { accessRights & (1 << 14) != 0 }
    /// Bit 15: G, granularity.
    public var isPageGranular: Bool { accessRights & (1 << 15) != 0 }
    /// Bit 16: segment unusable (0 = usable).
    public var isUsable: Bool { accessRights & (1 << 16) == 0 }

    /// Bits 11:8 and 31:17, reserved in the access-rights format.
    public static let reservedAccessRightsBits: UInt32 = 0xFFFE_0F00
    public var reservedAccessRights: UInt32 { accessRights & Self.reservedAccessRightsBits }

    /// SDM 27.3.1.2, bit 15 (G): "If any bit in the limit field in the range 11:0 is 0, G must
    /// be 0. If any bit in the limit field in the range 31:20 is 1, G must be 1." nil when the
    /// limit and G agree, else the broken half.
    public var granularityMismatch: String? {
        if isPageGranular && limit & 0xFFF != 0xFFF { return "G = 0 (limit bits 11:0 are not all 1)" }
        if !isPageGranular && limit & 0xFFF0_0000 != 0 { return "G = 1 (limit bits 31:20 are not all 0)" }
        return nil
    }

    /// Type bit 3: code segment (for S = 1).
    public var isCode: Bool { type & 0x8 != 0 }
}
