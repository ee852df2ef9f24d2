// Exit qualification for I/O instructions, exit reason 30 (SDM 28.2.1, Table 28-5 "Exit
// Qualification for I/O Instructions").

public struct IOInstructionQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 2:0: size of access minus one (0 = 1 byte, 1 = 2 bytes, 3 = 4 bytes); the bytes.
    public var size: Int { Int(rawValue & 7) + 1 }

    /// Bit 3: direction, 0 = OUT, 1 = IN.
    public var isIn: Bool { rawValue & (1 << 3) != 0 }

    /// Bit 4: string instruction (INS/OUTS).
    public var isString: Bool { rawValue & (1 << 4) != 0 }

    /// Bit 5: REP prefixed.
    public var isRepeated: Bool { rawValue & (1 << 5) != 0 }

    /// Bit 6: operand encoding, 0 = DX, 1 = immediate.
    public var hasImmediatePort: Bool { rawValue & (1 << 6) != 0 }

    /// Bits 31:16: the port number.
    public var port: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }

    /// Bits 15:7 and 63:32 are not defined (cleared to 0).
    public static let reservedBits: UInt64 = 0xFFFF_FFFF_0000_FF80

    public init(
        port: UInt16, size: Int, isIn: Bool, isString: Bool = false, isRepeated: Bool = false,
        hasImmediatePort: Bool = false
    ) {
        rawValue =
            UInt64(port) << 16 | UInt64((size - 1) & 7)
            | (isIn ? 1 << 3 : 0) | (isString ? 1 << 4 : 0) | (isRepeated ? 1 << 5 : 0)
            | (hasImmediatePort ? 1 << 6 : 0)
    }
}

/// The VM-exit instruction-information field for INS and OUTS (SDM 28.2.5, Table 28-8
/// "Format of the VM-Exit Instruction-Information Field as Used for INS and OUTS"); defined
/// only when IA32_VMX_BASIC[54] = 1.
public struct StringIOInstructionInformation: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bits 9:7: address size, 0 = 16-bit, 1 = 32-bit, 2 = 64-bit; nil for the other values.
    public var addressSizeInBytes: Int? {
        switch (rawValue >> 7) & 7 {
        case 0: return 2
        case 1: return 4
        case 2: return 8
        default: return nil
        }
    }

    /// Bits 17:15: the segment register of OUTS's source (0 ES, 1 CS, 2 SS, 3 DS, 4 FS,
    /// 5 GS); undefined for INS, which always writes through ES.
    public var segmentRegister: Int { Int((rawValue >> 15) & 7) }
}
