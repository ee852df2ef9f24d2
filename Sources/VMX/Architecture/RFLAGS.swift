// RFLAGS (SDM Vol. 1 3.4.3, Figure 3-8; Vol. 3A 2.3).

public struct RFLAGS: OptionSet, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// CF (bit 0): carry flag.
    public static let cf = Self(rawValue: 1 << 0)
    /// Bit 1: reserved, always 1.
    public static let alwaysOne = Self(rawValue: 1 << 1)
    /// PF (bit 2): parity flag.
    public static let pf = Self(rawValue: 1 << 2)
    /// AF (bit 4): auxiliary carry flag.
    public static let af = Self(rawValue: 1 << 4)
    /// ZF (bit 6): zero flag.
    public static let zf = Self(rawValue: 1 << 6)
    /// SF (bit 7): sign flag.
    public static let sf = Self(rawValue: 1 << 7)
    /// TF (bit 8): trap flag.
    public static let tf = Self(rawValue: 1 << 8)
    /// IF (bit 9): interrupt enable flag.
    public static let `if` = Self(rawValue: 1 << 9)
    /// DF (bit 10): direction flag.
    public static let df = Self(rawValue: 1 << 10)
    /// OF (bit 11): overflow flag.
    public static let of = Self(rawValue: 1 << 11)
    /// IOPL (bits 13:12): I/O privilege level.
    public static let iopl = Self(rawValue: 3 << 12)
    /// NT (bit 14): nested task.
    public static let nt = Self(rawValue: 1 << 14)
    /// RF (bit 16): resume flag.
    public static let rf = Self(rawValue: 1 << 16)
    /// VM (bit 17): virtual-8086 mode.
    public static let vm = Self(rawValue: 1 << 17)
    /// AC (bit 18): alignment check / access control.
    public static let ac = Self(rawValue: 1 << 18)
    /// VIF (bit 19): virtual interrupt flag.
    public static let vif = Self(rawValue: 1 << 19)
    /// VIP (bit 20): virtual interrupt pending.
    public static let vip = Self(rawValue: 1 << 20)
    /// ID (bit 21): identification flag.
    public static let id = Self(rawValue: 1 << 21)

    /// The six arithmetic flags (CF, PF, AF, ZF, SF, OF) VMsucceed clears and VMfail sets one
    /// of (SDM 31.2).
    public static let arithmetic = Self(rawValue: 1 << 0 | 1 << 2 | 1 << 4 | 1 << 6 | 1 << 7 | 1 << 11)
    /// Bits 63:22, 15, 5 and 3: reserved, must be 0 (SDM 27.3.1.4).
    public static let reservedZero = Self(rawValue: 0xFFFF_FFFF_FFC0_8028)
}
