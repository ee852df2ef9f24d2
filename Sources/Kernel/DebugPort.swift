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

    // Register offsets from the base port (16550 data sheet), as in Serial.swift.
    private static let data: UInt16 = 0
    private static let interruptEnable: UInt16 = 1
    private static let fifoControl: UInt16 = 2
    private static let lineControl: UInt16 = 3
    private static let modemControl: UInt16 = 4
    private static let lineStatus: UInt16 = 5
    private static let scratch: UInt16 = 7
    private static let dataReady: UInt8 = 1 << 0
    private static let transmitterHoldingEmpty: UInt8 = 1 << 5

    /// 115200 baud, 8N1, no FIFO, no interrupts; nil when no UART answers at 0x2F8 (its scratch
    /// register does not keep a value).
    static func open() -> DebugPort? {
        x86_outb(base + scratch, 0x5A)
        guard x86_inb(base + scratch) == 0x5A else { return nil }
        x86_outb(base + interruptEnable, 0x00)
        x86_outb(base + lineControl, 0x80)         // DLAB: divisor 1 = 115200 baud
        x86_outb(base + data, 0x01)
        x86_outb(base + interruptEnable, 0x00)
        x86_outb(base + lineControl, 0x03)         // 8N1
        // No FIFO, and nothing cleared: a byte gdb sent while the machine booted is still there.
        x86_outb(base + fifoControl, 0x00)
        x86_outb(base + modemControl, 0x03)
        return DebugPort()
    }

    /// Waits for gdb's next byte, as long as it takes: a UART line does not end.
    func receiveByte() -> UInt8? {
        while x86_inb(Self.base + Self.lineStatus) & Self.dataReady == 0 { x86_pause() }
        return x86_inb(Self.base + Self.data)
    }

    func pollByte() -> UInt8? {
        guard x86_inb(Self.base + Self.lineStatus) & Self.dataReady != 0 else { return nil }
        return x86_inb(Self.base + Self.data)
    }

    func send(_ byte: UInt8) {
        while x86_inb(Self.base + Self.lineStatus) & Self.transmitterHoldingEmpty == 0 { x86_pause() }
        x86_outb(Self.base + Self.data, byte)
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
