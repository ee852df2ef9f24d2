// Pin-based VM-execution controls (SDM 25.6.1): how asynchronous events
// (interrupts, NMIs, the VMX-preemption timer) are handled in VMX non-root operation.
// Allowed settings: IA32_VMX_PINBASED_CTLS / IA32_VMX_TRUE_PINBASED_CTLS (SDM A.3.1).

public struct PinBasedControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// External-interrupt exiting
    public static let externalInterruptExiting = Self(rawValue: 1 << 0)
    /// NMI exiting
    public static let nmiExiting = Self(rawValue: 1 << 3)
    /// Virtual NMIs
    public static let virtualNMIs = Self(rawValue: 1 << 5)
    /// Activate VMX-preemption timer
    public static let activateVMXPreemptionTimer = Self(rawValue: 1 << 6)
    /// Process posted interrupts
    public static let processPostedInterrupts = Self(rawValue: 1 << 7)

    /// Bits 1, 2 and 4 (SDM A.2).
    public static let defaultOneBits = Self(rawValue: 0x0000_0016)
    public static let fieldName = "pin-based VM-execution controls"
}
