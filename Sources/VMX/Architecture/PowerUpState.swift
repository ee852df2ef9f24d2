// The state a processor starts in after power-up or RESET (SDM Vol. 3A 10.1.1, Table 10-1), and
// where its first instruction is fetched (10.1.4: physical address FFFFFFF0H).

public enum PowerUpState {
    /// CS selector F000H.
    public static let csSelector: UInt16 = 0xF000
    /// CS base FFFF0000H.
    public static let csBase: UInt64 = 0xFFFF_0000
    /// EIP FFF0H: with the CS base, the first instruction at FFFFFFF0H.
    public static let eip: UInt64 = 0xFFF0
    /// The limit of every segment register and of GDTR and IDTR: FFFFH.
    public static let segmentLimit: UInt32 = 0xFFFF
    /// The 4-KiB page that holds the first instruction (FFFFF000H) and the instruction's offset
    /// in it (FF0H).
    public static let resetVectorPage: UInt64 = 0xFFFF_F000
    public static let resetVectorOffset: UInt64 = 0xFF0
}
