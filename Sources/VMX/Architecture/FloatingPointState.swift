// The x87 FPU and SSE state a processor starts with (SDM Vol. 1 8.1.5 and Table 8-1: FINIT/FNINIT
// sets the x87 control word to 037FH and the tag word to FFFFH; 10.2.3.1: MXCSR is 1F80H at
// power-up or reset).

public enum FloatingPointState {
    /// The x87 FPU control word after FNINIT: all exceptions masked (IM, DM, ZM, OM, UM, PM),
    /// precision control 11B (double extended), rounding to nearest.
    public static let initialControlWord: UInt64 = 0x37F
    /// The x87 FPU tag word after FNINIT: every register empty (tag 11B).
    public static let initialTagWord: UInt64 = 0xFFFF
    /// MXCSR after reset: all SIMD floating-point exceptions masked, rounding to nearest.
    public static let initialMXCSR: UInt64 = 0x1F80
}
