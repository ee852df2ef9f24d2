// Exit qualification for MOV DR, exit reason 29 (SDM 28.2.1, Table 28-4 "Exit Qualification
// for MOV DR").

public struct MOVDRQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 2:0: the debug register.
    public var debugRegister: Int { Int(rawValue & 7) }
    /// Bit 4: 0 = MOV to DR, 1 = MOV from DR.
    public var isMoveFromDR: Bool { rawValue & (1 << 4) != 0 }
    /// Bits 11:8: the general-purpose register (numbered as in Table 28-3).
    public var generalPurposeRegister: Int { Int((rawValue >> 8) & 0xF) }

    /// The qualification for a MOV DR (SDM Table 28-4); bits 3, 7:5 and 63:12 stay 0.
    public init(debugRegister: Int, isMoveFromDR: Bool, generalPurposeRegister: Int) {
        rawValue = UInt64(generalPurposeRegister & 0xF) << 8 | (isMoveFromDR ? 1 << 4 : 0) | UInt64(debugRegister & 7)
    }
}
