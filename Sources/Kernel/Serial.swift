// The COM1 console: a 16550 UART at I/O port 0x3F8, 115200 baud, 8 data bits, no parity,
// one stop bit, polled (no interrupts). Every line the kernel prints goes here.
import Intrinsics

enum Serial {
    static let base: UInt16 = 0x3F8

    // Register offsets from the base port (16550 data sheet).
    private static let data: UInt16 = 0                 // THR (write) / RBR (read); divisor low with DLAB
    private static let interruptEnable: UInt16 = 1      // IER; divisor high with DLAB
    private static let fifoControl: UInt16 = 2          // FCR
    private static let lineControl: UInt16 = 3          // LCR
    private static let modemControl: UInt16 = 4         // MCR
    private static let lineStatus: UInt16 = 5           // LSR

    private static let lineStatusTransmitterHoldingEmpty: UInt8 = 1 << 5
    private static let lineStatusTransmitterEmpty: UInt8 = 1 << 6

    static func initialize() {
        x86_outb(base + interruptEnable, 0x00)      // polled: no UART interrupts
        x86_outb(base + lineControl, 0x80)          // DLAB: the next two writes set the divisor
        x86_outb(base + data, 0x01)                 // 115200 / 1
        x86_outb(base + interruptEnable, 0x00)
        x86_outb(base + lineControl, 0x03)          // 8N1
        x86_outb(base + fifoControl, 0xC7)          // FIFOs on and cleared, 14-byte trigger
        x86_outb(base + modemControl, 0x03)         // DTR, RTS
    }

    /// Writes one byte once the transmitter holding register has room (LSR bit 5).
    static func write(_ byte: UInt8) {
        var spins = 0
        while x86_inb(base + lineStatus) & lineStatusTransmitterHoldingEmpty == 0 && spins < 1_000_000 {
            x86_pause()
            spins += 1
        }
        x86_outb(base + data, byte)
    }

    /// Waits until the last byte has left the shift register (LSR bit 6, transmitter empty):
    /// an emulator that stops right after the final line would otherwise lose its end.
    static func drain() {
        var spins = 0
        while x86_inb(base + lineStatus) & lineStatusTransmitterEmpty == 0 && spins < 10_000_000 {
            x86_pause()
            spins += 1
        }
    }
}
