// A 16550 UART driven by polling (16550 data sheet): the COM1 console (Serial.swift) and, in
// the debug image, the guest debugger's COM2 line (DebugPort.swift). Both run at 115200 baud,
// 8 data bits, no parity, one stop bit, with the UART's interrupts off.
import Intrinsics

struct UART16550 {
    /// The first of the UART's eight I/O ports.
    let base: UInt16

    // Register offsets from the base port.
    private static let data: UInt16 = 0  // THR (write) / RBR (read); divisor low with DLAB
    private static let interruptEnable: UInt16 = 1  // IER; divisor high with DLAB
    private static let fifoControl: UInt16 = 2  // FCR
    private static let lineControl: UInt16 = 3  // LCR
    private static let modemControl: UInt16 = 4  // MCR
    private static let lineStatus: UInt16 = 5  // LSR
    private static let scratch: UInt16 = 7  // SCR: a byte the UART keeps, nothing more

    // Line status bits.
    private static let dataReady: UInt8 = 1 << 0
    private static let transmitterHoldingEmpty: UInt8 = 1 << 5
    private static let transmitterEmpty: UInt8 = 1 << 6

    /// Whether a UART answers at `base`: its scratch register keeps what is written to it.
    var isPresent: Bool {
        x86_outb(base + Self.scratch, 0x5A)
        return x86_inb(base + Self.scratch) == 0x5A
    }

    /// 115200 baud (divisor 1), 8N1, no UART interrupts, DTR and RTS on; `fifoControl` is the
    /// FCR value (the console wants its FIFOs, the debugger none and nothing cleared).
    func configure(fifoControl: UInt8) {
        x86_outb(base + Self.interruptEnable, 0x00)
        x86_outb(base + Self.lineControl, 0x80)  // DLAB: the next two writes set the divisor
        x86_outb(base + Self.data, 0x01)
        x86_outb(base + Self.interruptEnable, 0x00)
        x86_outb(base + Self.lineControl, 0x03)  // 8N1, DLAB off
        x86_outb(base + Self.fifoControl, fifoControl)
        x86_outb(base + Self.modemControl, 0x03)
    }

    /// Whether a received byte waits in RBR (LSR bit 0).
    var hasReceivedByte: Bool { x86_inb(base + Self.lineStatus) & Self.dataReady != 0 }
    /// Whether THR can take a byte (LSR bit 5).
    var canTransmit: Bool { x86_inb(base + Self.lineStatus) & Self.transmitterHoldingEmpty != 0 }
    /// Whether the last byte has left the shift register (LSR bit 6).
    var isTransmitterEmpty: Bool { x86_inb(base + Self.lineStatus) & Self.transmitterEmpty != 0 }

    func receive() -> UInt8 { x86_inb(base + Self.data) }
    func transmit(_ byte: UInt8) { x86_outb(base + Self.data, byte) }
}
