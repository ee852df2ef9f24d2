// The layouts of the I/O bitmaps (SDM 25.6.4) and the MSR bitmaps (SDM 25.6.9): which port or
// MSR each bit stands for.

public enum IOBitmapLayout {
    /// Bitmap A holds ports 0000H-7FFFH, bitmap B ports 8000H-FFFFH: the first port of B.
    public static let firstPortOfB: UInt16 = 0x8000
    /// Bits 14:0 of a port: its bit number within its bitmap.
    public static let portWithinBitmap: UInt16 = 0x7FFF
}

public enum MSRBitmapLayout {
    /// The low MSRs 00000000H-00001FFFH have a bit each in the read-low and write-low bitmaps.
    public static let lowMSRs: ClosedRange<UInt32> = 0...0x1FFF
    /// The high MSRs C0000000H-C0001FFFH have a bit each in the read-high and write-high
    /// bitmaps, numbered from C0000000H.
    public static let highMSRs: ClosedRange<UInt32> = 0xC000_0000...0xC000_1FFF
}

/// Bits of the VM-exit instruction-information field common to several instructions (SDM 28.2.5,
/// Tables 28-10 to 28-14).
public enum VMExitInstructionInformation {
    /// Bit 10: the operand is a register (reg1 in bits 6:3), not memory.
    public static let registerOperand: UInt32 = 1 << 10
    /// Bit 11 of LGDT, LIDT, SGDT, SIDT: 32-bit operand size (0 for 16-bit).
    public static let operandSize32: UInt32 = 1 << 11
    /// Bit 22: the index register is invalid (there is none).
    public static let indexInvalid: UInt32 = 1 << 22
    /// Bit 27: the base register is invalid (there is none).
    public static let baseInvalid: UInt32 = 1 << 27
}

/// The exit qualification of a task switch (SDM 28.2.1, Table 28-2): the new TSS's selector in
/// bits 15:0 and the source of the switch in bits 31:30.
public enum TaskSwitchQualification {
    /// The shift of the source field (bits 31:30).
    public static let sourceShift: UInt64 = 30
    /// Sources: CALL, IRET, JMP, a task gate in the IDT.
    public static let sourceCall: UInt64 = 0
    public static let sourceIRET: UInt64 = 1
    public static let sourceJMP: UInt64 = 2
    public static let sourceTaskGate: UInt64 = 3
}
