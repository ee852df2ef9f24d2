// An emulated 16550 UART at the guest's COM1 (ports 3F8H-3FFH), output only: what the guest
// transmits appears on the host console line by line, as "[NAME:com1] text", with bytes that
// are not printable ASCII shown as \xNN (LogText). The receiver never has data, the
// transmitter is always empty, and the UART raises no interrupts (IER is kept but unused).
// Registers (PC16550D data sheet, "Register Description"): offset 0 RBR/THR (DLL with
// LCR.DLAB), 1 IER (DLM with DLAB), 2 IIR/FCR, 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR.

public struct SerialPort16550: Sendable {
    public static let base: UInt16 = 0x3F8
    public static let portCount: UInt16 = 8
    /// Longest line kept before it is printed anyway.
    public static let lineCapacity = 200

    public var interruptEnable: UInt8 = 0
    public var fifoControl: UInt8 = 0
    public var lineControl: UInt8 = 0
    public var modemControl: UInt8 = 0
    public var scratch: UInt8 = 0
    public var divisor: UInt16 = 1
    /// The line being transmitted.
    public var line: [UInt8] = []

    public init() {}

    static let lineStatusTransmitterEmpty: UInt8 = 0x60  // THRE | TEMT
    var dlab: Bool { lineControl & 0x80 != 0 }

    public static func handles(port: UInt16) -> Bool { port >= base && port < base + portCount }

    /// A read of register `offset`.
    public mutating func read(offset: UInt16) -> UInt8 {
        switch offset {
        case 0: return dlab ? UInt8(truncatingIfNeeded: divisor) : 0
        case 1: return dlab ? UInt8(truncatingIfNeeded: divisor >> 8) : interruptEnable
        case 2: return fifoControl & 1 != 0 ? 0xC1 : 0x01  // no interrupt pending; FIFOs as set
        case 3: return lineControl
        case 4: return modemControl
        case 5: return Self.lineStatusTransmitterEmpty
        case 6:
            // Loopback (MCR bit 4) reflects DTR, RTS, OUT1, OUT2 as DSR, CTS, RI, DCD;
            // otherwise a connected line: DCD, DSR, CTS.
            if modemControl & 0x10 != 0 {
                let m = modemControl
                return (m & 1) << 5 | (m & 2) << 3 | (m & 4) << 4 | (m & 8) << 4
            }
            return 0xB0
        default: return scratch
        }
    }

    /// A write of register `offset`. Returns a finished line (without its end) when the write
    /// completes one.
    public mutating func write(offset: UInt16, value: UInt8) -> [UInt8]? {
        switch offset {
        case 0:
            if dlab { divisor = divisor & 0xFF00 | UInt16(value); return nil }
            return transmit(value)
        case 1:
            if dlab { divisor = divisor & 0x00FF | UInt16(value) << 8 } else { interruptEnable = value & 0x0F }
        case 2: fifoControl = value & 0xC9
        case 3: lineControl = value
        case 4: modemControl = value & 0x1F
        case 7: scratch = value
        default: break  // LSR and MSR are read-only
        }
        return nil
    }

    mutating func transmit(_ byte: UInt8) -> [UInt8]? {
        if byte == UInt8(ascii: "\n") { return takeLine() }
        if byte == UInt8(ascii: "\r") { return nil }
        line.append(byte)
        return line.count >= Self.lineCapacity ? takeLine() : nil
    }

    /// The unfinished line, if any (printed when the guest stops).
    public mutating func takeLine() -> [UInt8]? {
        let finished = line
        line = []
        return finished
    }
}
