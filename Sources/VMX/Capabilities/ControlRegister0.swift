// CR0 bits (SDM Vol. 3A 2.5, "Control Registers"), named for the fixed-bit checks of VMX
// operation (SDM 24.8, A.7) and for messages.

public struct ControlRegister0: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let pe = Self(rawValue: 1 << 0)
    public static let mp = Self(rawValue: 1 << 1)
    public static let em = Self(rawValue: 1 << 2)
    public static let ts = Self(rawValue: 1 << 3)
    public static let et = Self(rawValue: 1 << 4)
    public static let ne = Self(rawValue: 1 << 5)
    public static let wp = Self(rawValue: 1 << 16)
    public static let am = Self(rawValue: 1 << 18)
    public static let nw = Self(rawValue: 1 << 29)
    public static let cd = Self(rawValue: 1 << 30)
    public static let pg = Self(rawValue: 1 << 31)

    public static let namedBits: [NamedBit] = [
        NamedBit(0, "PE"), NamedBit(1, "MP"), NamedBit(2, "EM"), NamedBit(3, "TS"),
        NamedBit(4, "ET"), NamedBit(5, "NE"), NamedBit(16, "WP"), NamedBit(18, "AM"),
        NamedBit(29, "NW"), NamedBit(30, "CD"), NamedBit(31, "PG"),
    ]
}
