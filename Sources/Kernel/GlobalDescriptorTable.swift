// The kernel's GDT and its 64-bit TSS (SDM Vol. 3A 3.4.5 "Segment Descriptors", 8.2.3 "TSS
// Descriptor in 64-bit mode", 8.7 "Task Management in 64-bit Mode").
//
// The TSS matters twice: its interrupt stack table gives #DF, NMI and #MC their own stacks,
// and VM entry requires a usable host TR (SDM 27.2.3: the host TR selector must not be null).
// Storage is static (boot/stacks.asm).
import Intrinsics
import VMX

public enum GlobalDescriptorTable {
    public static let codeSelector: UInt16 = 0x08
    public static let dataSelector: UInt16 = 0x10
    public static let taskStateSelector: UInt16 = 0x18

    /// Interrupt-stack-table slots (1-7) of the TSS, one per exception that must not run on a
    /// possibly broken stack.
    public static let doubleFaultStack: UInt8 = 1
    public static let nmiStack: UInt8 = 2
    public static let machineCheckStack: UInt8 = 3

    public static let taskStateSize: UInt64 = 104

    public static var base: UInt64 { kernel_gdt_storage() }
    public static var limit: UInt16 { 5 * 8 - 1 }
    public static var taskStateBase: UInt64 { kernel_tss_storage() }

    /// Builds the GDT and TSS, loads GDTR, reloads the segment registers and loads TR.
    static func install() {
        install(
            gdt: base, tss: taskStateBase,
            interruptStacks: (
                kernel_double_fault_stack_top(), kernel_nmi_stack_top(), kernel_machine_check_stack_top()
            ))
    }

    /// The same for any processor: its own GDT (at least `limit + 1` bytes) and TSS
    /// (`taskStateSize` bytes) at `gdt` and `tss`, and the tops of its #DF, NMI and #MC stacks.
    static func install(
        gdt gdtBase: UInt64, tss tssBase: UInt64,
        interruptStacks: (doubleFault: UInt64, nmi: UInt64, machineCheck: UInt64)
    ) {
        let tss = UnsafeMutableRawPointer(bitPattern: UInt(tssBase))!
        tss.initializeMemory(as: UInt8.self, repeating: 0, count: Int(taskStateSize))
        // IST1-IST7 at offsets 36 + 8 * (n - 1); the TSS's 8-byte fields are not 8-aligned.
        setInterruptStack(doubleFaultStack, top: interruptStacks.doubleFault, in: tss)
        setInterruptStack(nmiStack, top: interruptStacks.nmi, in: tss)
        setInterruptStack(machineCheckStack, top: interruptStacks.machineCheck, in: tss)
        // I/O map base at the limit: no I/O permission bitmap.
        tss.storeBytes(of: UInt16(taskStateSize), toByteOffset: 102, as: UInt16.self)

        let gdt = UnsafeMutablePointer<UInt64>(bitPattern: UInt(gdtBase))!
        gdt[0] = 0
        gdt[1] = SegmentDescriptor.flatCode64.rawValue
        gdt[2] = SegmentDescriptor.flatData.rawValue
        let (low, high) = taskStateDescriptor(base: tssBase, limit: taskStateSize - 1)
        gdt[3] = low
        gdt[4] = high

        x86_lgdt(gdtBase, limit)
        x86_reload_segments(codeSelector, dataSelector)
        x86_ltr(taskStateSelector)
    }

    /// A 16-byte system descriptor of type 9, "64-bit TSS (available)".
    static func taskStateDescriptor(base: UInt64, limit: UInt64) -> (UInt64, UInt64) {
        SegmentDescriptor.system(base: base, limit: limit, type: SystemDescriptorType.availableTSS32)
    }

    private static func setInterruptStack(_ slot: UInt8, top: UInt64, in tss: UnsafeMutableRawPointer) {
        tss.storeBytes(of: top, toByteOffset: 36 + 8 * (Int(slot) - 1), as: UInt64.self)
    }
}
