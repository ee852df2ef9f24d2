// Hexadecimal and decimal formatting that works in Embedded Swift (no String(format:), no Foundation).

/// `value` in hexadecimal with a `0x` prefix, zero-padded to `digits` digits (at least).
public func hex<T: FixedWidthInteger>(_ value: T, digits: Int = 0) -> String {
    "0x" + hexDigits(value, digits: digits)
}

/// `value` in hexadecimal without a prefix, zero-padded to `digits` digits (at least).
public func hexDigits<T: FixedWidthInteger>(_ value: T, digits: Int = 0) -> String {
    let symbols: StaticString = "0123456789abcdef"
    var magnitude = UInt64(truncatingIfNeeded: value)
    if T.bitWidth < 64 { magnitude &= (UInt64(1) << UInt64(T.bitWidth)) &- 1 }
    var reversed: [UInt8] = []
    repeat {
        reversed.append(symbols.utf8Start[Int(magnitude & 0xF)])
        magnitude >>= 4
    } while magnitude != 0
    while reversed.count < digits { reversed.append(UInt8(ascii: "0")) }
    return String(decoding: reversed.reversed(), as: UTF8.self)
}

/// Parses hexadecimal digits with an optional `0x` prefix; nil when empty, not hex, or over 64 bits.
public func parseHex(_ text: ByteText) -> UInt64? {
    // Works on UTF-8 bytes: String comparison would pull in Unicode tables in Embedded Swift.
    let digits = text.dropping(prefix: "0x") ?? text.dropping(prefix: "0X") ?? text
    guard !digits.isEmpty, digits.count <= 16 else { return nil }
    var value: UInt64 = 0
    for byte in digits {
        let nibble: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt64(nibble)
    }
    return value
}

/// `value` in decimal. One out-of-line function: a String interpolation of an integer inlines
/// buffer growth and formatting at every use in Embedded Swift, about 600 bytes each.
public func decimal<T: BinaryInteger>(_ value: T) -> String {
    value < 0
        ? "-" + decimalDigits(Int64(value).magnitude)
        : decimalDigits(UInt64(truncatingIfNeeded: value))
}

@inline(never)
func decimalDigits(_ value: UInt64) -> String {
    var reversed: [UInt8] = []
    var rest = value
    repeat {
        reversed.append(UInt8(ascii: "0") + UInt8(rest % 10))
        rest /= 10
    } while rest != 0
    return String(decoding: reversed.reversed(), as: UTF8.self)
}
