// The COM1 console: the 16550 UART at I/O port 0x3F8 (UART16550.swift), polled, with its
// FIFOs on. Every line the kernel prints goes here.
import Intrinsics

enum Serial {
    static let base: UInt16 = 0x3F8
    private static var uart: UART16550 { UART16550(base: base) }

    /// FIFOs on and cleared, 14-byte trigger level.
    static func initialize() { uart.configure(fifoControl: 0xC7) }

    /// Writes one byte once the transmitter holding register has room. The wait is bounded:
    /// a machine without a working COM1 still boots and exits.
    static func write(_ byte: UInt8) {
        var spins = 0
        while !uart.canTransmit && spins < 1_000_000 {
            x86_pause()
            spins += 1
        }
        uart.transmit(byte)
    }

    /// Waits until the last byte has left the shift register: an emulator that stops right
    /// after the final line would otherwise lose its end.
    static func drain() {
        var spins = 0
        while !uart.isTransmitterEmpty && spins < 10_000_000 {
            x86_pause()
            spins += 1
        }
    }
}
