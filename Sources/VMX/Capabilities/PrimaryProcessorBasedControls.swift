// Primary processor-based VM-execution controls (SDM 25.6.2): mostly which
// instructions cause VM exits. Allowed settings: IA32_VMX_PROCBASED_CTLS /
// IA32_VMX_TRUE_PROCBASED_CTLS (SDM A.3.2).

public struct PrimaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Interrupt-window exiting
    public static let interruptWindowExiting = Self(rawValue: 1 << 2)
    /// Use TSC offsetting
    public static let useTSCOffsetting = Self(rawValue: 1 << 3)
    /// HLT exiting
    public static let hltExiting = Self(rawValue: 1 << 7)
    /// INVLPG exiting
    public static let invlpgExiting = Self(rawValue: 1 << 9)
    /// MWAIT exiting
    public static let mwaitExiting = Self(rawValue: 1 << 10)
    /// RDPMC exiting
    public static let rdpmcExiting = Self(rawValue: 1 << 11)
    /// RDTSC exiting
    public static let rdtscExiting = Self(rawValue: 1 << 12)
    /// CR3-load exiting
    public static let cr3LoadExiting = Self(rawValue: 1 << 15)
    /// CR3-store exiting
    public static let cr3StoreExiting = Self(rawValue: 1 << 16)
    /// Activate tertiary controls
    public static let activateTertiaryControls = Self(rawValue: 1 << 17)
    /// CR8-load exiting
    public static let cr8LoadExiting = Self(rawValue: 1 << 19)
    /// CR8-store exiting
    public static let cr8StoreExiting = Self(rawValue: 1 << 20)
    /// Use TPR shadow
    public static let useTPRShadow = Self(rawValue: 1 << 21)
    /// NMI-window exiting
    public static let nmiWindowExiting = Self(rawValue: 1 << 22)
    /// MOV-DR exiting
    public static let movDRExiting = Self(rawValue: 1 << 23)
    /// Unconditional I/O exiting
    public static let unconditionalIOExiting = Self(rawValue: 1 << 24)
    /// Use I/O bitmaps
    public static let useIOBitmaps = Self(rawValue: 1 << 25)
    /// Monitor trap flag
    public static let monitorTrapFlag = Self(rawValue: 1 << 27)
    /// Use MSR bitmaps
    public static let useMSRBitmaps = Self(rawValue: 1 << 28)
    /// MONITOR exiting
    public static let monitorExiting = Self(rawValue: 1 << 29)
    /// PAUSE exiting
    public static let pauseExiting = Self(rawValue: 1 << 30)
    /// Activate secondary controls
    public static let activateSecondaryControls = Self(rawValue: 1 << 31)

    /// Bits 1, 4-6, 8, 13-16 and 26 (SDM A.2). 15 and 16 are CR3-load/-store exiting: named
    /// controls whose 0-setting only IA32_VMX_TRUE_PROCBASED_CTLS can allow.
    public static let defaultOneBits = Self(rawValue: 0x0401_E172)
    public static let fieldName = "primary processor-based VM-execution controls"
}
