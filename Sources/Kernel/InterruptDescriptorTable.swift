// The IDT for exception vectors 0-31 (SDM Vol. 3A 6.10 "Interrupt Descriptor Table", 6.14.1
// "64-Bit Mode IDT"). Every gate is a 64-bit interrupt gate to a stub in
// boot/interrupts.asm; #DF, NMI and #MC switch to their own interrupt-stack-table stacks, so
// a broken kernel stack still gets reported. Vectors 32-255 lie beyond the IDT limit: the
// kernel runs with interrupts off, and an unexpected one raises #GP, which is reported.
import Intrinsics

public enum InterruptDescriptorTable {
    public static let vectorCount = 32

    public static var base: UInt64 { kernel_idt_storage() }
    public static var limit: UInt16 { UInt16(vectorCount * 16 - 1) }

    static func install() {
        let idt = UnsafeMutablePointer<UInt64>(bitPattern: UInt(base))!
        for vector in 0..<vectorCount {
            let stack: UInt8
            switch vector {
            case ExceptionVector.doubleFault: stack = GlobalDescriptorTable.doubleFaultStack
            case ExceptionVector.nmi: stack = GlobalDescriptorTable.nmiStack
            case ExceptionVector.machineCheck: stack = GlobalDescriptorTable.machineCheckStack
            default: stack = 0
            }
            let (low, high) = gate(
                handler: kernel_exception_stub(UInt32(vector)),
                selector: GlobalDescriptorTable.codeSelector, stack: stack)
            idt[vector * 2] = low
            idt[vector * 2 + 1] = high
        }
        x86_lidt(base, limit)
    }

    /// A 16-byte interrupt gate: type 0xE, DPL 0, present (SDM Vol. 3A Figure 6-8).
    static func gate(handler: UInt64, selector: UInt16, stack: UInt8) -> (UInt64, UInt64) {
        var low = handler & 0xFFFF
        low |= UInt64(selector) << 16
        low |= UInt64(stack & 0x7) << 32
        low |= UInt64(0x8E) << 40
        low |= ((handler >> 16) & 0xFFFF) << 48
        return (low, handler >> 32)
    }
}
