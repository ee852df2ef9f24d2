// The guest debugger's line: the second 16550 UART (COM2, I/O port 0x2F8), polled, carrying the
// GDB remote serial protocol (Sources/Hypervisor/GDBStub), and the debug registers DR0-DR3 for
// its hardware breakpoints. Guests never reach COM2: the I/O bitmaps deny it. Under Bochs,
// `com2: enabled=1, mode=socket-server, dev=127.0.0.1:PORT` puts gdb's
// `target remote 127.0.0.1:PORT` on the other end (docs/DEBUGGING.md).
import Hypervisor
import VMX
import Intrinsics

final class DebugPort: GuestDebugHost {
    static let base: UInt16 = 0x2F8
    private let uart = UART16550(base: base)

    /// Configured with no FIFO and nothing cleared: a byte gdb sent while the machine booted
    /// is still there. Nil when no UART answers at 0x2F8.
    static func open() -> DebugPort? {
        let port = DebugPort()
        guard port.uart.isPresent else { return nil }
        port.uart.configure(fifoControl: 0x00)
        return port
    }

    /// Waits for gdb's next byte, as long as it takes: a UART line does not end.
    func receiveByte() -> UInt8? {
        while !uart.hasReceivedByte { x86_pause() }
        return uart.receive()
    }

    func pollByte() -> UInt8? {
        uart.hasReceivedByte ? uart.receive() : nil
    }

    func send(_ byte: UInt8) {
        while !uart.canTransmit { x86_pause() }
        uart.transmit(byte)
    }

    func writeDebugRegister(_ number: Int, _ value: UInt64) {
        switch number {
        case 0: x86_write_dr0(value)
        case 1: x86_write_dr1(value)
        case 2: x86_write_dr2(value)
        default: x86_write_dr3(value)
        }
    }
}

/// The kernel's part of debugging (docs/DEBUGGING.md), in the debug image only (Entry.swift):
/// the debug snapshot always, and with the boot option `gdb` (every guest) or `gdb=NAME` (the
/// guest called NAME) the guest debugger on COM2. Call once before the hypervisor runs.
func installDebugging(options: BootOptions) -> GuestDebugHooks<RealProcessor> {
    let guestName = options.gdbGuestName
    var port: DebugPort? = nil
    if options.gdb {
        port = DebugPort.open()
        if port == nil {
            log("gdb: no UART at COM2 (I/O port 0x2f8): guests run without the debugger")
        } else if guestName == nil {
            log("gdb: every guest waits for gdb on COM2 (I/O port 0x2f8)")
        } else {
            log("gdb: the guest named by gdb= waits for gdb on COM2 (I/O port 0x2f8)")
        }
    }
    return GuestDebugging(snapshot: KernelDebugSnapshot.install(), host: port, guestName: guestName).hooks
}
