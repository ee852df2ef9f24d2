// IA32_VMX_EPT_VPID_CAP (48CH): what EPT, INVEPT and INVVPID support (SDM A.10). The MSR
// exists only when "enable EPT" or "enable VPID" may be 1.

public struct EPTVPIDCapabilities: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let executeOnlyTranslations = Self(rawValue: 1 << 0)
    public static let pageWalkLength4 = Self(rawValue: 1 << 6)
    public static let pageWalkLength5 = Self(rawValue: 1 << 7)
    /// EPT paging structures and the EPTP may use memory type UC.
    public static let uncacheableMemoryType = Self(rawValue: 1 << 8)
    /// EPT paging structures and the EPTP may use memory type WB.
    public static let writeBackMemoryType = Self(rawValue: 1 << 14)
    public static let pages2MB = Self(rawValue: 1 << 16)
    public static let pages1GB = Self(rawValue: 1 << 17)
    public static let invept = Self(rawValue: 1 << 20)
    public static let accessedAndDirtyFlags = Self(rawValue: 1 << 21)
    public static let advancedEPTViolationInformation = Self(rawValue: 1 << 22)
    public static let supervisorShadowStackControl = Self(rawValue: 1 << 23)
    public static let singleContextINVEPT = Self(rawValue: 1 << 25)
    public static let allContextINVEPT = Self(rawValue: 1 << 26)
    public static let invvpid = Self(rawValue: 1 << 32)
    public static let individualAddressINVVPID = Self(rawValue: 1 << 40)
    public static let singleContextINVVPID = Self(rawValue: 1 << 41)
    public static let allContextINVVPID = Self(rawValue: 1 << 42)
    public static let singleContextRetainingGlobalsINVVPID = Self(rawValue: 1 << 43)

    public static let namedBits: [NamedBit] = [
        NamedBit(0, "Execute-only EPT translations"),
        NamedBit(6, "Page-walk length 4"),
        NamedBit(7, "Page-walk length 5"),
        NamedBit(8, "EPT memory type UC"),
        NamedBit(14, "EPT memory type WB"),
        NamedBit(16, "2-MByte EPT pages"),
        NamedBit(17, "1-GByte EPT pages"),
        NamedBit(20, "INVEPT"),
        NamedBit(21, "Accessed and dirty flags for EPT"),
        NamedBit(22, "Advanced VM-exit information for EPT violations"),
        NamedBit(23, "Supervisor shadow-stack control"),
        NamedBit(25, "Single-context INVEPT"),
        NamedBit(26, "All-context INVEPT"),
        NamedBit(32, "INVVPID"),
        NamedBit(40, "Individual-address INVVPID"),
        NamedBit(41, "Single-context INVVPID"),
        NamedBit(42, "All-context INVVPID"),
        NamedBit(43, "Single-context-retaining-globals INVVPID"),
    ]

    /// Bits 53:48 are a number, not flags.
    public static let hlatPrefixSizeMask: UInt64 = 0x3F << 48

    /// Bits 53:48: the HLAT prefix size (the number of upper linear-address bits that select
    /// HLAT paging); 0 when HLAT is not supported.
    public var hlatPrefixSize: Int { Int((rawValue >> 48) & 0x3F) }
}
