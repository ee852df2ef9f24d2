// The reserved bits of CR0 (SDM Vol. 3A 2.5, Figure 2-7): bits 63:32, 28:19, 17 and 15:6. A VM
// exit leaves them, ET, CD and NW unmodified when it loads host CR0 (SDM 28.5.1).

extension ControlRegister0 {
    /// Bits 63:32: reserved (must be 0 in IA-32e mode).
    public static let reservedHigh = Self(rawValue: 0xFFFF_FFFF_0000_0000)
    /// Bits 28:19, 17 and 15:6: reserved.
    public static let reservedLow = Self(rawValue: 0x1FF8_0000 | 1 << 17 | 0xFFC0)
}
