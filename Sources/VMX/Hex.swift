// Hexadecimal and decimal Strings and hexadecimal parsing that work in Embedded Swift (no
// String(format:), no Foundation); the formatting is LogText's (Text/LogText.swift).

/// `value` in hexadecimal with a `0x` prefix, zero-padded to `digits` digits (at least); a
/// negative value as its two's complement in `T`'s width.
public func hex<T: FixedWidthInteger>(_ value: T, digits: Int = 0) -> String {
    String(text: "\(hex: magnitudeBits(value), digits: digits)")
}

/// `value` in hexadecimal without a prefix, zero-padded to `digits` digits (at least).
public func hexDigits<T: FixedWidthInteger>(_ value: T, digits: Int = 0) -> String {
    String(text: "\(hexDigits: magnitudeBits(value), digits: digits)")
}

/// The bits of `value` in `T`'s width, zero-extended to 64 bits.
private func magnitudeBits<T: FixedWidthInteger>(_ value: T) -> UInt64 {
    var bits = UInt64(truncatingIfNeeded: value)
    if T.bitWidth < 64 { bits &= (UInt64(1) << UInt64(T.bitWidth)) &- 1 }
    return bits
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

/// `value` in decimal, formatted by the one text builder (LogText).
public func decimal<T: BinaryInteger>(_ value: T) -> String {
    String(text: "\(value)")
}
