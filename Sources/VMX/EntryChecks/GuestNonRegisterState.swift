// The guest non-register state fields VM entry checks (SDM 25.4.2 "Guest Non-Register State",
// Table 25-3 "Format of Interruptibility State", Table 25-4 "Format of Pending-Debug-
// Exceptions").

/// The activity-state field (32 bits).
public enum GuestActivityState {
    public static let active: UInt64 = 0
    public static let hlt: UInt64 = 1
    public static let shutdown: UInt64 = 2
    public static let waitForSIPI: UInt64 = 3

    /// "active", "HLT", "shutdown", "wait-for-SIPI", or "state N".
    public static func name(_ state: UInt64) -> String {
        switch state {
        case active: return "active"
        case hlt: return "HLT"
        case shutdown: return "shutdown"
        case waitForSIPI: return "wait-for-SIPI"
        default: return String(text: "state \(state)")
        }
    }
}

/// Bits of the interruptibility-state field (32 bits).
public enum GuestInterruptibility {
    public static let blockingBySTI: UInt64 = 1 << 0
    public static let blockingByMovSS: UInt64 = 1 << 1
    public static let blockingBySMI: UInt64 = 1 << 2
    public static let blockingByNMI: UInt64 = 1 << 3
    public static let enclaveInterruption: UInt64 = 1 << 4
    /// Bits 31:5 (and 63:32 of the value read) are reserved.
    public static let reservedBits: UInt64 = ~UInt64(0x1F)
}

/// Bits of the pending-debug-exceptions field (natural width).
public enum GuestPendingDebugExceptions {
    /// Bits 3:0: B3-B0, breakpoint conditions met.
    public static let breakpointConditions: UInt64 = 0xF
    /// Bit 12: an enabled breakpoint was met.
    public static let enabledBreakpoint: UInt64 = 1 << 12
    /// Bit 14: BS, a single-step trap is pending.
    public static let bs: UInt64 = 1 << 14
    /// Bit 16: RTM, a debug exception occurred in an RTM region.
    public static let rtm: UInt64 = 1 << 16
    /// Bits 11:4, 13, 15 and 63:17 are reserved (SDM 27.3.1.5).
    public static let reservedBits: UInt64 = ~UInt64(0xF | 1 << 12 | 1 << 14 | 1 << 16)
}
