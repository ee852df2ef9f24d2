// Exit qualification for debug exceptions, exit reason 0 with vector 1 (SDM 28.2.1, Table 28-1
// "Exit Qualification for Debug Exceptions"). The format is that of DR6 (the bits the
// processor would have set there), with BS for a single step.

public struct DebugExceptionQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 3:0: B3-B0, the breakpoint conditions met (DR0-DR3).
    public var breakpointsHit: Int { Int(rawValue & 0xF) }
    /// Bit 11: BLD, a bus lock was asserted.
    public var isBusLockDetected: Bool { rawValue & (1 << 11) != 0 }
    /// Bit 13: BD, a debug-register access was detected (DR7.GD).
    public var isDebugRegisterAccessDetected: Bool { rawValue & (1 << 13) != 0 }
    /// Bit 14: BS, a single-step (RFLAGS.TF) trap.
    public var isSingleStep: Bool { rawValue & (1 << 14) != 0 }
    /// Bit 16: RTM, inside an RTM region.
    public var isInRTMRegion: Bool { rawValue & (1 << 16) != 0 }

    /// A qualification from its bits (SDM Table 28-1); the bits the table leaves undefined stay
    /// 0. `breakpointsHit` is the B3-B0 mask.
    public init(
        breakpointsHit: Int = 0, busLockDetected: Bool = false, debugRegisterAccessDetected: Bool = false,
        singleStep: Bool = false, inRTMRegion: Bool = false
    ) {
        rawValue =
            UInt64(breakpointsHit & 0xF) | (busLockDetected ? 1 << 11 : 0)
            | (debugRegisterAccessDetected ? 1 << 13 : 0) | (singleStep ? 1 << 14 : 0) | (inRTMRegion ? 1 << 16 : 0)
    }
}
