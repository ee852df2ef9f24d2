// DR7, the debug control register (SDM Vol. 3A 18.2.4, Figure 18-1).

public enum DebugRegister7 {
    /// Bit 10: reserved, always 1 (the value DR7 holds after reset is 400H).
    public static let alwaysOne: UInt64 = 1 << 10
    /// Ln (bit 2n): local enable of breakpoint n, 0 to 3.
    @inline(__always)
    public static func localEnable(_ slot: UInt64) -> UInt64 { 1 << (2 * slot) }
    /// LE (bit 8): local exact breakpoint enable.
    public static let localExactBreakpointEnable: UInt64 = 1 << 8
    /// L0-L3 and LE: the enables a task switch clears (SDM Vol. 3A 7.3 step 13, 18.2.4).
    public static let localEnables: UInt64 = 1 << 0 | 1 << 2 | 1 << 4 | 1 << 6 | 1 << 8
}
