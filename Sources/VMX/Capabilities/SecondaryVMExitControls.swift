// Secondary VM-exit controls (SDM 25.7.1), a 64-bit field in effect only when the VM-exit
// control "activate secondary controls" is 1. Allowed settings: IA32_VMX_EXIT_CTLS2
// (SDM A.4.2), a 64-bit allowed-1 mask: every bit may be 0.
// The names come from the Intel FRED specification (bits 0 and 1) and from SDM editions
// later than the one docs/SDM.md cites (bit 3); the report shows any other bit as reserved.

public struct SecondaryVMExitControls: VMXControlField {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Save FRED
    public static let saveFRED = Self(rawValue: 1 << 0)
    /// Load FRED
    public static let loadFRED = Self(rawValue: 1 << 1)
    /// Prematurely busy shadow stack
    public static let prematurelyBusyShadowStack = Self(rawValue: 1 << 3)

    public static let fieldName = "secondary VM-exit controls"
}
