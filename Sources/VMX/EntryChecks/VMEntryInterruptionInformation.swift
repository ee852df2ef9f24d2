// The VM-entry interruption-information field (encoding 4016H): the event VM entry injects
// (SDM 25.8.3 "VM-Entry Controls for Event Injection", Table 25-17).

public struct VMEntryInterruptionInformation: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bits 7:0.
    public var vector: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// Bits 10:8.
    public var type: InterruptionType { InterruptionType(rawValue: UInt8((rawValue >> 8) & 7))! }
    /// Bit 11: deliver error code.
    public var deliversErrorCode: Bool { rawValue & (1 << 11) != 0 }
    /// Bits 30:12, reserved.
    public static let reservedBits: UInt32 = 0x7FFF_F000
    /// Bit 31: VM entry injects the event.
    public var isValid: Bool { rawValue & (1 << 31) != 0 }

    /// Whether the type is one that uses the VM-entry instruction length (SDM 27.2.1.3).
    public var usesInstructionLength: Bool { type.usesInstructionLength }

    public static let deliverErrorCode: UInt32 = 1 << 11
    public static let valid: UInt32 = 1 << 31

    /// An event to inject.
    public init(vector: UInt8, type: InterruptionType, deliverErrorCode: Bool = false) {
        rawValue =
            Self.valid | UInt32(type.rawValue) << 8 | UInt32(vector)
            | (deliverErrorCode ? Self.deliverErrorCode : 0)
    }

    /// The exceptions that push an error code when delivered in protected mode: #DF (8),
    /// #TS (10), #NP (11), #SS (12), #GP (13), #PF (14), #AC (17) (SDM 27.2.1.3).
    public static func exceptionHasErrorCode(_ vector: UInt8) -> Bool {
        switch vector {
        case 8, 10, 11, 12, 13, 14, 17: return true
        default: return false
        }
    }
}
