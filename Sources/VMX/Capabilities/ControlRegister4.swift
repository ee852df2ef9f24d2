// CR4 bits (SDM Vol. 3A 2.5, "Control Registers"), named for the fixed-bit checks of VMX
// operation (SDM 24.8, A.8) and for messages.

public struct ControlRegister4: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let vme = Self(rawValue: 1 << 0)
    public static let pvi = Self(rawValue: 1 << 1)
    public static let tsd = Self(rawValue: 1 << 2)
    public static let de = Self(rawValue: 1 << 3)
    public static let pse = Self(rawValue: 1 << 4)
    public static let pae = Self(rawValue: 1 << 5)
    public static let mce = Self(rawValue: 1 << 6)
    public static let pge = Self(rawValue: 1 << 7)
    public static let pce = Self(rawValue: 1 << 8)
    public static let osfxsr = Self(rawValue: 1 << 9)
    public static let osxmmexcpt = Self(rawValue: 1 << 10)
    public static let umip = Self(rawValue: 1 << 11)
    public static let la57 = Self(rawValue: 1 << 12)
    public static let vmxe = Self(rawValue: 1 << 13)
    public static let smxe = Self(rawValue: 1 << 14)
    public static let fsgsbase = Self(rawValue: 1 << 16)
    public static let pcide = Self(rawValue: 1 << 17)
    public static let osxsave = Self(rawValue: 1 << 18)
    public static let kl = Self(rawValue: 1 << 19)
    public static let smep = Self(rawValue: 1 << 20)
    public static let smap = Self(rawValue: 1 << 21)
    public static let pke = Self(rawValue: 1 << 22)
    public static let cet = Self(rawValue: 1 << 23)
    public static let pks = Self(rawValue: 1 << 24)
    public static let uintr = Self(rawValue: 1 << 25)

    public static let namedBits: [NamedBit] = [
        NamedBit(0, "VME"), NamedBit(1, "PVI"), NamedBit(2, "TSD"), NamedBit(3, "DE"),
        NamedBit(4, "PSE"), NamedBit(5, "PAE"), NamedBit(6, "MCE"), NamedBit(7, "PGE"),
        NamedBit(8, "PCE"), NamedBit(9, "OSFXSR"), NamedBit(10, "OSXMMEXCPT"),
        NamedBit(11, "UMIP"), NamedBit(12, "LA57"), NamedBit(13, "VMXE"), NamedBit(14, "SMXE"),
        NamedBit(16, "FSGSBASE"), NamedBit(17, "PCIDE"), NamedBit(18, "OSXSAVE"),
        NamedBit(19, "KL"), NamedBit(20, "SMEP"), NamedBit(21, "SMAP"), NamedBit(22, "PKE"),
        NamedBit(23, "CET"), NamedBit(24, "PKS"), NamedBit(25, "UINTR"),
    ]
}
