// The 32-bit task-state segment (SDM Vol. 3A 7.2.1, Figure 7-2): the offsets of its fields.

public enum TaskStateSegment32 {
    /// Previous task link (bits 15:0): the selector of the task this one was entered from.
    public static let previousTaskLink = 0x00
    /// CR3 (PDBR).
    public static let cr3 = 0x1C
    /// EIP.
    public static let eip = 0x20
    /// EFLAGS.
    public static let eflags = 0x24
    /// EAX; ECX, EDX, EBX, ESP, EBP, ESI and EDI follow, 4 bytes apart.
    public static let eax = 0x28
    /// ESP.
    public static let esp = 0x38
    /// ES; CS, SS, DS, FS and GS follow, 4 bytes apart (bits 15:0 of each).
    public static let es = 0x48
    /// CS.
    public static let cs = 0x4C
    /// SS.
    public static let ss = 0x50
    /// LDT segment selector.
    public static let ldtSelector = 0x60
    /// The size of a 32-bit TSS: its limit must be at least 67H (SDM 7.2.2).
    public static let size = 0x68
}
