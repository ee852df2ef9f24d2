// VM-function controls (SDM 25.6.14), a 64-bit field in effect only when the secondary
// control "enable VM functions" is 1: bit N set lets VMFUNC with EAX = N run in the guest.
// Allowed settings: IA32_VMX_VMFUNC (SDM A.11), a 64-bit allowed-1 mask.

public struct VMFunctionControls: VMXControlField {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// EPTP switching
    public static let eptpSwitching = Self(rawValue: 1 << 0)

    public static let fieldName = "VM-function controls"
}
