// Tertiary processor-based VM-execution controls (SDM 25.6.2), a 64-bit field in
// effect only when the primary control "activate tertiary controls" is 1. Allowed settings:
// IA32_VMX_PROCBASED_CTLS3 (SDM A.3.4), a 64-bit allowed-1 mask: every bit may be 0.

public struct TertiaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// LOADIWKEY exiting
    public static let loadIWKeyExiting = Self(rawValue: 1 << 0)
    /// Enable HLAT
    public static let enableHLAT = Self(rawValue: 1 << 1)
    /// EPT paging-write control
    public static let eptPagingWriteControl = Self(rawValue: 1 << 2)
    /// Guest-paging verification
    public static let guestPagingVerification = Self(rawValue: 1 << 3)
    /// IPI virtualization
    public static let ipiVirtualization = Self(rawValue: 1 << 4)
    /// Virtualize IA32_SPEC_CTRL
    public static let virtualizeIA32SpecCtrl = Self(rawValue: 1 << 7)

    public static let fieldName = "tertiary processor-based VM-execution controls"
}
