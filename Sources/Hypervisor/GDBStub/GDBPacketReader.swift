// Framing of the GDB remote serial protocol (gdb manual, E.1 "Overview"): a packet is
// `$` data `#` and two hex digits, the data's byte sum modulo 256. In data, `}` escapes the
// next byte, which is sent XOR 20H (needed for `#`, `$`, `}` and `*`). Outside packets gdb sends
// `+` (packet received), `-` (resend), and 03H (interrupt the running program).
//
// The reader takes one byte at a time and never holds more than `capacity` data bytes: a longer
// packet is still checksummed to its end and reported as `overflowed`, so a hostile stream can
// neither grow memory nor desynchronise the stub.

public struct GDBPacketReader {
    /// Largest packet data the stub accepts (advertised as qSupported `PacketSize`).
    public static let capacity = 4096

    public enum Event: Equatable, Sendable {
        /// Nothing complete yet.
        case none
        /// A packet with a correct checksum is in `packet` (check `overflowed`).
        case packet
        /// A packet ended with a wrong or malformed checksum: answer `-`.
        case badChecksum
        /// 03H outside a packet.
        case interrupt
        case ack
        case nak
    }

    private enum State { case idle, data, escape, checksumHigh, checksumLow }
    private var state = State.idle
    private var sum: UInt8 = 0
    private var received: UInt8 = 0
    /// The current or last complete packet's data, escapes removed.
    public private(set) var packet: [UInt8] = []
    /// Whether the last packet had more than `capacity` data bytes (the rest was dropped).
    public private(set) var overflowed = false

    public init() {
        packet.reserveCapacity(Self.capacity)
    }

    public mutating func feed(_ byte: UInt8) -> Event {
        switch state {
        case .idle:
            switch byte {
            case UInt8(ascii: "$"): begin()
            case 0x03: return .interrupt
            case UInt8(ascii: "+"): return .ack
            case UInt8(ascii: "-"): return .nak
            default: break  // line noise between packets
            }
        case .data:
            switch byte {
            case UInt8(ascii: "#"): state = .checksumHigh
            case UInt8(ascii: "$"): begin()  // a new packet: the previous one was cut off
            case UInt8(ascii: "}"): sum &+= byte; state = .escape
            default: sum &+= byte; append(byte)
            }
        case .escape:
            sum &+= byte
            append(byte ^ 0x20)
            state = .data
        case .checksumHigh:
            guard let digit = GDBHex.value(of: byte) else { state = .idle; return .badChecksum }
            received = digit << 4
            state = .checksumLow
        case .checksumLow:
            state = .idle
            guard let digit = GDBHex.value(of: byte), received | digit == sum else { return .badChecksum }
            return .packet
        }
        return .none
    }

    private mutating func begin() {
        packet.removeAll(keepingCapacity: true)
        sum = 0
        overflowed = false
        state = .data
    }

    private mutating func append(_ byte: UInt8) {
        if packet.count < Self.capacity { packet.append(byte) } else { overflowed = true }
    }
}
