// IA32_VMX_EPT_VPID_CAP (48CH): what EPT, INVEPT and INVVPID support (SDM A.10). The MSR
// exists only when "enable EPT" or "enable VPID" may be 1.

public struct EPTVPIDCapabilities: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Execute-only EPT translations
    public static let executeOnlyTranslations = Self(rawValue: 1 << 0)
    /// Page-walk length 4
    public static let pageWalkLength4 = Self(rawValue: 1 << 6)
    /// Page-walk length 5
    public static let pageWalkLength5 = Self(rawValue: 1 << 7)
    /// EPT memory type UC
    ///
    /// EPT paging structures and the EPTP may use memory type UC.
    public static let uncacheableMemoryType = Self(rawValue: 1 << 8)
    /// EPT memory type WB
    ///
    /// EPT paging structures and the EPTP may use memory type WB.
    public static let writeBackMemoryType = Self(rawValue: 1 << 14)
    /// 2-MByte EPT pages
    public static let pages2MB = Self(rawValue: 1 << 16)
    /// 1-GByte EPT pages
    public static let pages1GB = Self(rawValue: 1 << 17)
    /// INVEPT
    public static let invept = Self(rawValue: 1 << 20)
    /// Accessed and dirty flags for EPT
    public static let accessedAndDirtyFlags = Self(rawValue: 1 << 21)
    /// Advanced VM-exit information for EPT violations
    public static let advancedEPTViolationInformation = Self(rawValue: 1 << 22)
    /// Supervisor shadow-stack control
    public static let supervisorShadowStackControl = Self(rawValue: 1 << 23)
    /// Single-context INVEPT
    public static let singleContextINVEPT = Self(rawValue: 1 << 25)
    /// All-context INVEPT
    public static let allContextINVEPT = Self(rawValue: 1 << 26)
    /// INVVPID
    public static let invvpid = Self(rawValue: 1 << 32)
    /// Individual-address INVVPID
    public static let individualAddressINVVPID = Self(rawValue: 1 << 40)
    /// Single-context INVVPID
    public static let singleContextINVVPID = Self(rawValue: 1 << 41)
    /// All-context INVVPID
    public static let allContextINVVPID = Self(rawValue: 1 << 42)
    /// Single-context-retaining-globals INVVPID
    public static let singleContextRetainingGlobalsINVVPID = Self(rawValue: 1 << 43)

    /// Bits 53:48 are a number, not flags.
    public static let hlatPrefixSizeMask: UInt64 = 0x3F << 48

    /// Bits 53:48: the HLAT prefix size (the number of upper linear-address bits that select
    /// HLAT paging); 0 when HLAT is not supported.
    public var hlatPrefixSize: Int { Int((rawValue >> 48) & 0x3F) }
}
