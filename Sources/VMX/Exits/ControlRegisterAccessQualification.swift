// Exit qualification for control-register accesses, exit reason 28 (SDM 28.2.1, Table 28-3
// "Exit Qualification for Control-Register Accesses").

public struct ControlRegisterAccessQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 5:4.
    public enum AccessType: UInt8, Sendable {
        case movToCR = 0
        case movFromCR = 1
        case clts = 2
        case lmsw = 3

        public var name: StaticString {
            switch self {
            case .movToCR: return "MOV to CR"
            case .movFromCR: return "MOV from CR"
            case .clts: return "CLTS"
            case .lmsw: return "LMSW"
            }
        }
    }

    /// Bits 3:0: the control register (0 for CLTS and LMSW).
    public var controlRegister: Int { Int(rawValue & 0xF) }

    /// Bits 5:4.
    public var accessType: AccessType { AccessType(rawValue: UInt8((rawValue >> 4) & 3))! }

    /// Bit 6, LMSW only: the source operand is in memory (else in a register).
    public var lmswOperandIsMemory: Bool { rawValue & (1 << 6) != 0 }

    /// Bits 11:8, MOV CR only: the general-purpose register, numbered as in the instruction
    /// encoding (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15).
    public var generalPurposeRegister: Int { Int((rawValue >> 8) & 0xF) }

    /// Bits 31:16, LMSW only: the source data (only bits 3:0 are used).
    public var lmswSourceData: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }

    /// Bits 7, 15:12 and 63:32 are not defined (cleared to 0).
    public static let reservedBits: UInt64 = 0xFFFF_FFFF_0000_F080

    // Encoding (SDM Table 28-3): each access type sets only the fields the table defines for
    // it, the rest 0.

    /// MOV to CR: `controlRegister` loaded from `generalPurposeRegister`.
    public init(movToCR controlRegister: Int, generalPurposeRegister: Int) {
        self.init(
            accessType: .movToCR, controlRegister: controlRegister, generalPurposeRegister: generalPurposeRegister)
    }

    /// MOV from CR: `controlRegister` stored to `generalPurposeRegister`.
    public init(movFromCR controlRegister: Int, generalPurposeRegister: Int) {
        self.init(
            accessType: .movFromCR, controlRegister: controlRegister, generalPurposeRegister: generalPurposeRegister)
    }

    /// CLTS: the access type alone.
    public static var clts: Self { Self(accessType: .clts, controlRegister: 0, generalPurposeRegister: 0) }

    /// LMSW with its 16-bit source operand, from memory or a register.
    public init(lmswSourceData: UInt16, operandIsMemory: Bool) {
        self.init(accessType: .lmsw, controlRegister: 0, generalPurposeRegister: 0)
        rawValue |= UInt64(lmswSourceData) << 16 | (operandIsMemory ? 1 << 6 : 0)
    }

    private init(accessType: AccessType, controlRegister: Int, generalPurposeRegister: Int) {
        rawValue =
            UInt64(generalPurposeRegister & 0xF) << 8 | UInt64(accessType.rawValue) << 4
            | UInt64(controlRegister & 0xF)
    }
}
