// Hex digits of the remote protocol: lower case out, either case in.

enum GDBHex {
    static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func digit(_ nibble: UInt8) -> UInt8 {
        let n = nibble & 0xF
        return n < 10 ? UInt8(ascii: "0") + n : UInt8(ascii: "a") + n - 10
    }
}

/// Reads the fields of one packet, every access bounds-checked: a malformed packet makes a
/// method return nil or false, never trap.
struct GDBCursor {
    let bytes: [UInt8]
    var index: Int

    init(_ bytes: [UInt8], from index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var isAtEnd: Bool { index >= bytes.count }
    var remaining: Int { max(bytes.count - index, 0) }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Consumes `byte` if it is next.
    mutating func skip(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Consumes `text` if the packet continues with it.
    mutating func skip(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard remaining >= count else { return false }
        let matches = text.withUTF8Buffer { prefix -> Bool in
            for offset in 0..<count where bytes[index + offset] != prefix[offset] { return false }
            return true
        }
        if matches { index += count }
        return matches
    }

    /// A big-endian hex number of 1 to 16 digits (addresses, lengths, register numbers).
    mutating func number() -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        while let byte = peek(), let digit = GDBHex.value(of: byte) {
            guard digits < 16 else { return nil }
            value = value << 4 | UInt64(digit)
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    /// A thread id: hex, or -1 for "all threads".
    mutating func threadID() -> Int64? {
        if skip(UInt8(ascii: "-")) { return skip(UInt8(ascii: "1")) ? -1 : nil }
        guard let value = number(), value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    /// One byte from two hex digits.
    mutating func byte() -> UInt8? {
        guard remaining >= 2, let high = GDBHex.value(of: bytes[index]),
            let low = GDBHex.value(of: bytes[index + 1])
        else { return nil }
        index += 2
        return high << 4 | low
    }

    /// A little-endian value of `count` bytes (1-8) as register contents are sent.
    mutating func littleEndian(bytes count: Int) -> UInt64? {
        var value: UInt64 = 0
        for shift in 0..<count {
            guard let b = byte() else { return nil }
            if shift < 8 { value |= UInt64(b) << UInt64(8 * shift) }
        }
        return value
    }
}
