// Primary processor-based VM-execution controls (SDM 25.6.2): mostly which
// instructions cause VM exits. Allowed settings: IA32_VMX_PROCBASED_CTLS /
// IA32_VMX_TRUE_PROCBASED_CTLS (SDM A.3.2).

public struct PrimaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let interruptWindowExiting = Self(rawValue: 1 << 2)
    public static let useTSCOffsetting = Self(rawValue: 1 << 3)
    public static let hltExiting = Self(rawValue: 1 << 7)
    public static let invlpgExiting = Self(rawValue: 1 << 9)
    public static let mwaitExiting = Self(rawValue: 1 << 10)
    public static let rdpmcExiting = Self(rawValue: 1 << 11)
    public static let rdtscExiting = Self(rawValue: 1 << 12)
    public static let cr3LoadExiting = Self(rawValue: 1 << 15)
    public static let cr3StoreExiting = Self(rawValue: 1 << 16)
    public static let activateTertiaryControls = Self(rawValue: 1 << 17)
    public static let cr8LoadExiting = Self(rawValue: 1 << 19)
    public static let cr8StoreExiting = Self(rawValue: 1 << 20)
    public static let useTPRShadow = Self(rawValue: 1 << 21)
    public static let nmiWindowExiting = Self(rawValue: 1 << 22)
    public static let movDRExiting = Self(rawValue: 1 << 23)
    public static let unconditionalIOExiting = Self(rawValue: 1 << 24)
    public static let useIOBitmaps = Self(rawValue: 1 << 25)
    public static let monitorTrapFlag = Self(rawValue: 1 << 27)
    public static let useMSRBitmaps = Self(rawValue: 1 << 28)
    public static let monitorExiting = Self(rawValue: 1 << 29)
    public static let pauseExiting = Self(rawValue: 1 << 30)
    public static let activateSecondaryControls = Self(rawValue: 1 << 31)

    public static let namedBits: [NamedBit] = [
        NamedBit(2, "Interrupt-window exiting"),
        NamedBit(3, "Use TSC offsetting"),
        NamedBit(7, "HLT exiting"),
        NamedBit(9, "INVLPG exiting"),
        NamedBit(10, "MWAIT exiting"),
        NamedBit(11, "RDPMC exiting"),
        NamedBit(12, "RDTSC exiting"),
        NamedBit(15, "CR3-load exiting"),
        NamedBit(16, "CR3-store exiting"),
        NamedBit(17, "Activate tertiary controls"),
        NamedBit(19, "CR8-load exiting"),
        NamedBit(20, "CR8-store exiting"),
        NamedBit(21, "Use TPR shadow"),
        NamedBit(22, "NMI-window exiting"),
        NamedBit(23, "MOV-DR exiting"),
        NamedBit(24, "Unconditional I/O exiting"),
        NamedBit(25, "Use I/O bitmaps"),
        NamedBit(27, "Monitor trap flag"),
        NamedBit(28, "Use MSR bitmaps"),
        NamedBit(29, "MONITOR exiting"),
        NamedBit(30, "PAUSE exiting"),
        NamedBit(31, "Activate secondary controls"),
    ]

    /// Bits 1, 4-6, 8, 13-16 and 26 (SDM A.2). 15 and 16 are CR3-load/-store exiting: named
    /// controls whose 0-setting only IA32_VMX_TRUE_PROCBASED_CTLS can allow.
    public static let defaultOneBits = Self(rawValue: 0x0401_E172)
    public static let fieldName = "primary processor-based VM-execution controls"
}
