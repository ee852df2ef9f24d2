// CR0 bits (SDM Vol. 3A 2.5, "Control Registers"), named for the fixed-bit checks of VMX
// operation (SDM 24.8, A.7) and for messages.

public struct ControlRegister0: NamedBits {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// PE
    public static let pe = Self(rawValue: 1 << 0)
    /// MP
    public static let mp = Self(rawValue: 1 << 1)
    /// EM
    public static let em = Self(rawValue: 1 << 2)
    /// TS
    public static let ts = Self(rawValue: 1 << 3)
    /// ET
    public static let et = Self(rawValue: 1 << 4)
    /// NE
    public static let ne = Self(rawValue: 1 << 5)
    /// WP
    public static let wp = Self(rawValue: 1 << 16)
    /// AM
    public static let am = Self(rawValue: 1 << 18)
    /// NW
    public static let nw = Self(rawValue: 1 << 29)
    /// CD
    public static let cd = Self(rawValue: 1 << 30)
    /// PG
    public static let pg = Self(rawValue: 1 << 31)
}
