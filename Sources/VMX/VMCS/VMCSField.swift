// VMCS component encodings (SDM 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields",
// Table 25-21 "Structure of VMCS Component Encoding"; the values are listed in Appendix B).
//
// VMREAD and VMWRITE name a field by a 32-bit encoding built from four parts:
//   bit 0      access type: 0 = full, 1 = high (the upper 32 bits of a 64-bit field)
//   bits 9:1   index
//   bits 11:10 type: 0 control, 1 VM-exit information (read-only data), 2 guest state, 3 host state
//   bit 12     reserved, must be 0
//   bits 14:13 width: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural-width
//   bits 31:15 reserved, must be 0
// The encodings are never magic numbers in this project: they are built from those parts.

/// A VMCS component encoding, the operand VMREAD and VMWRITE take.
public struct VMCSField: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bits 14:13 of an encoding.
    public enum Width: UInt32, Sendable {
        case sixteenBit = 0
        case sixtyFourBit = 1
        case thirtyTwoBit = 2
        case naturalWidth = 3

        /// "16-bit", "64-bit", "32-bit" or "natural-width", as the SDM writes it.
        public var name: String {
            switch self {
            case .sixteenBit: return "16-bit"
            case .sixtyFourBit: return "64-bit"
            case .thirtyTwoBit: return "32-bit"
            case .naturalWidth: return "natural-width"
            }
        }
    }

    /// Bits 11:10 of an encoding: which area of the VMCS the field belongs to (SDM 25.3).
    public enum FieldType: UInt32, Sendable {
        case control = 0
        /// The VM-exit information fields, also called read-only data fields.
        case vmExitInformation = 1
        case guestState = 2
        case hostState = 3

        public var name: String {
            switch self {
            case .control: return "control"
            case .vmExitInformation: return "VM-exit information"
            case .guestState: return "guest-state"
            case .hostState: return "host-state"
            }
        }
    }

    /// Bit 0 of an encoding.
    public enum AccessType: UInt32, Sendable {
        case full = 0
        /// The upper 32 bits of a 64-bit field; allowed only for 64-bit fields.
        case high = 1
    }

    /// Builds an encoding from its parts. `index` is truncated to its 9 bits.
    public init(width: Width, type: FieldType, index: UInt32, access: AccessType = .full) {
        rawValue = width.rawValue << 13 | type.rawValue << 10 | (index & 0x1FF) << 1 | access.rawValue
    }

    // MARK: Decoding

    /// Bits 14:13.
    public var width: Width { Width(rawValue: (rawValue >> 13) & 0x3)! }

    /// Bits 11:10.
    public var type: FieldType { FieldType(rawValue: (rawValue >> 10) & 0x3)! }

    /// Bits 9:1.
    public var index: UInt32 { (rawValue >> 1) & 0x1FF }

    /// Bit 0.
    public var accessType: AccessType { rawValue & 1 == 0 ? .full : .high }

    /// Whether bit 0 selects the high 32 bits of a 64-bit field.
    public var isHigh: Bool { accessType == .high }

    /// Whether the field is a VM-exit information field, which VMWRITE may write only when
    /// IA32_VMX_MISC[29] is 1 (SDM 25.11.2, 31.3 VMWRITE, A.6).
    public var isReadOnly: Bool { type == .vmExitInformation }

    /// Bits that no encoding may set: 31:15 and 12 (Table 25-21).
    public static let reservedBits: UInt32 = 0xFFFF_9000

    /// Whether the encoding is well formed: reserved bits clear, and the high access type only
    /// on a 64-bit field. VMREAD/VMWRITE of a malformed encoding fail with VM-instruction
    /// error 12, "unsupported VMCS component" (SDM 31.3), like an encoding the processor lacks.
    public var isWellFormed: Bool {
        rawValue & Self.reservedBits == 0 && (accessType == .full || width == .sixtyFourBit)
    }

    /// The full-access encoding of the same field (bit 0 cleared).
    public var full: VMCSField { VMCSField(rawValue: rawValue & ~1) }

    /// The high-access encoding of a 64-bit field; nil for other widths.
    public var high: VMCSField? {
        width == .sixtyFourBit ? VMCSField(rawValue: rawValue | 1) : nil
    }
}
