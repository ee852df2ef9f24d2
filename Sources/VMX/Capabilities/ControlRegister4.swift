// CR4 bits (SDM Vol. 3A 2.5, "Control Registers"), named for the fixed-bit checks of VMX
// operation (SDM 24.8, A.8) and for messages.

public struct ControlRegister4: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// VME
    public static let vme = Self(rawValue: 1 << 0)
    /// PVI
    public static let pvi = Self(rawValue: 1 << 1)
    /// TSD
    public static let tsd = Self(rawValue: 1 << 2)
    /// DE
    public static let de = Self(rawValue: 1 << 3)
    /// PSE
    public static let pse = Self(rawValue: 1 << 4)
    /// PAE
    public static let pae = Self(rawValue: 1 << 5)
    /// MCE
    public static let mce = Self(rawValue: 1 << 6)
    /// PGE
    public static let pge = Self(rawValue: 1 << 7)
    /// PCE
    public static let pce = Self(rawValue: 1 << 8)
    /// OSFXSR
    public static let osfxsr = Self(rawValue: 1 << 9)
    /// OSXMMEXCPT
    public static let osxmmexcpt = Self(rawValue: 1 << 10)
    /// UMIP
    public static let umip = Self(rawValue: 1 << 11)
    /// LA57
    public static let la57 = Self(rawValue: 1 << 12)
    /// VMXE
    public static let vmxe = Self(rawValue: 1 << 13)
    /// SMXE
    public static let smxe = Self(rawValue: 1 << 14)
    /// FSGSBASE
    public static let fsgsbase = Self(rawValue: 1 << 16)
    /// PCIDE
    public static let pcide = Self(rawValue: 1 << 17)
    /// OSXSAVE
    public static let osxsave = Self(rawValue: 1 << 18)
    /// KL
    public static let kl = Self(rawValue: 1 << 19)
    /// SMEP
    public static let smep = Self(rawValue: 1 << 20)
    /// SMAP
    public static let smap = Self(rawValue: 1 << 21)
    /// PKE
    public static let pke = Self(rawValue: 1 << 22)
    /// CET
    public static let cet = Self(rawValue: 1 << 23)
    /// PKS
    public static let pks = Self(rawValue: 1 << 24)
    /// UINTR
    public static let uintr = Self(rawValue: 1 << 25)
}
