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
        let owner = lineOwner()
        if owner != 0 { takeLine(owner) }
        defer { if owner != 0 && byte == UInt8(ascii: "\n") { x86_atomic_store32(&lineLock, 0) } }
        var spins = 0
        while !uart.canTransmit && spins < 1_000_000 {
            x86_pause()
            spins += 1
        }
        uart.transmit(byte)
    }

    /// One line at a time when several processors print (Processors.swift): a processor takes
    /// the lock with the first byte of a line and gives it back with the line end. The lock
    /// holds the owner's CPU index + 1 (0: free); the wait is bounded, after which the line is
    /// taken over (a processor that stopped mid-line must not silence the others).
    nonisolated(unsafe) private static var lineLock: UInt32 = 0

    private static func lineOwner() -> UInt32 {
        guard let me = PerCPU.current else { return 0 }
        return me.index + 1
    }

    private static func takeLine(_ owner: UInt32) {
        if x86_atomic_load32(&lineLock) == owner { return }
        var spins = 0
        while !x86_atomic_cas32(&lineLock, 0, owner) {
            spins += 1
            if spins >= 10_000_000 {
                x86_atomic_store32(&lineLock, owner)
                return
            }
            x86_pause()
        }
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
