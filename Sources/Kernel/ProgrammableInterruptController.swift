// The legacy 8259A PIC pair. The firmware leaves it delivering IRQs 0-15 on vectors 8-15 and
// 0x70-0x77, which would collide with exceptions; remap them to 0x20-0x2F and mask them all.
// The kernel runs with interrupts off; the remap only makes a stray IRQ recognisable.
import Intrinsics

enum ProgrammableInterruptController {
    private static let masterCommand: UInt16 = 0x20
    private static let masterData: UInt16 = 0x21
    private static let slaveCommand: UInt16 = 0xA0
    private static let slaveData: UInt16 = 0xA1

    static let masterVectorBase: UInt8 = 0x20
    static let slaveVectorBase: UInt8 = 0x28

    static func remapAndMask() {
        x86_outb(masterCommand, 0x11)  // ICW1: initialize, ICW4 follows
        x86_outb(slaveCommand, 0x11)
        x86_outb(masterData, masterVectorBase)  // ICW2: vector base
        x86_outb(slaveData, slaveVectorBase)
        x86_outb(masterData, 0x04)  // ICW3: slave on IRQ 2
        x86_outb(slaveData, 0x02)  // ICW3: cascade identity 2
        x86_outb(masterData, 0x01)  // ICW4: 8086 mode
        x86_outb(slaveData, 0x01)
        x86_outb(masterData, 0xFF)  // OCW1: mask every IRQ
        x86_outb(slaveData, 0xFF)
    }
}
