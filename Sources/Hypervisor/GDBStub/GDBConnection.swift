// The byte stream between gdb and the stub (GDB remote serial protocol, "Overview" in the gdb
// manual, Appendix E). In the kernel it is the second serial port (COM2); in hosted tests a
// scripted byte queue or a socket.

public protocol GDBConnection {
    /// Waits for gdb's next byte. nil when the connection is gone: the stub then lets the guest
    /// go as if gdb had detached.
    mutating func receiveByte() -> UInt8?
    /// gdb's next byte if one has arrived, without waiting (the run loop looks for the
    /// interrupt byte 03H between VM exits while the guest runs).
    mutating func pollByte() -> UInt8?
    mutating func send(_ byte: UInt8)
    /// Pushes out what `send` buffered; the stub calls it after every packet it sends.
    mutating func flush()
}

extension GDBConnection {
    /// A connection that sends each byte at once (a UART) has nothing to flush.
    public mutating func flush() {}
}
