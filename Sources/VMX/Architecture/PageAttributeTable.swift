// IA32_PAT, the page attribute table (SDM Vol. 3A 13.12.2, Table 13-11; MSR 277H).

public enum PageAttributeTable {
    /// The value at power-up or reset: PA0-PA7 = WB, WT, UC-, UC, WB, WT, UC-, UC
    /// (0007040600070406H).
    public static let powerUpValue: UInt64 = 0x0007_0406_0007_0406
}
