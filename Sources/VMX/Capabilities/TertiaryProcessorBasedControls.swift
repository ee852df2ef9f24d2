// Tertiary processor-based VM-execution controls (SDM 25.6.2), a 64-bit field in
// effect only when the primary control "activate tertiary controls" is 1. Allowed settings:
// IA32_VMX_PROCBASED_CTLS3 (SDM A.3.4), a 64-bit allowed-1 mask: every bit may be 0.

public struct TertiaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let loadIWKeyExiting = Self(rawValue: 1 << 0)
    public static let enableHLAT = Self(rawValue: 1 << 1)
    public static let eptPagingWriteControl = Self(rawValue: 1 << 2)
    public static let guestPagingVerification = Self(rawValue: 1 << 3)
    public static let ipiVirtualization = Self(rawValue: 1 << 4)
    public static let virtualizeIA32SpecCtrl = Self(rawValue: 1 << 7)

    public static let namedBits: [NamedBit] = [
        NamedBit(0, "LOADIWKEY exiting"),
        NamedBit(1, "Enable HLAT"),
        NamedBit(2, "EPT paging-write control"),
        NamedBit(3, "Guest-paging verification"),
        NamedBit(4, "IPI virtualization"),
        NamedBit(7, "Virtualize IA32_SPEC_CTRL"),
    ]

    public static let fieldName = "tertiary processor-based VM-execution controls"
}
