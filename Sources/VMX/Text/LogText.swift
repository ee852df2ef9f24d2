// The one text builder of every module: a console line (`cpu.log("guest \(name): exit
// \(reason)")`, the kernel's `log(...)`) and every String message with numbers in it (an entry
// rule's expectation, the capability report, an exit reason's description: `String(text:
// "at most \(n) entries")`) append each literal piece and each value to a fixed buffer on the
// stack. String interpolation in Embedded Swift inlines buffer growth and integer formatting
// at every use; here every piece is one call (docs/KERNEL.md, "Embedded Swift and toolchain
// pitfalls"). It lives in VMX, the lowest module with text, so that the entry rules and the
// capability report use it too. Lines longer than the buffer are cut and end in "...".

/// The bytes of one line as it is built.
public struct LogText: StringInterpolationProtocol {
    public static let capacity = 256
    @usableFromInline var storage: InlineArray<256, UInt8>
    @usableFromInline var count = 0

    public init(literalCapacity: Int, interpolationCount: Int) {
        storage = InlineArray(repeating: 0)
    }

    public init() { storage = InlineArray(repeating: 0) }

    /// Calls `body` with the line's bytes.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.span.withUnsafeBytes { all in body(UnsafeRawBufferPointer(rebasing: all[0..<count])) }
    }

    /// The line as a String (hosted tests).
    public var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    @inline(never)
    public mutating func append(_ byte: UInt8) {
        if count < Self.capacity {
            storage[count] = byte
            count += 1
        }
        if count == Self.capacity {
            storage[Self.capacity - 3] = UInt8(ascii: ".")
            storage[Self.capacity - 2] = UInt8(ascii: ".")
            storage[Self.capacity - 1] = UInt8(ascii: ".")
        }
    }

    @inline(never)
    public mutating func appendLiteral(_ literal: StaticString) {
        let start = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount { append(start[index]) }
    }

    public mutating func appendInterpolation(_ text: StaticString) { appendLiteral(text) }

    /// Appends a whole interpolated piece: `text.append("x = \(hex: x)")`.
    public mutating func append(_ message: LogMessage) {
        message.text.withBytes { for byte in $0 { append(byte) } }
    }

    @inline(never)
    public mutating func appendInterpolation(_ text: String) {
        for byte in text.utf8 { append(byte) }
    }

    /// Decimal.
    public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(Int64(value).magnitude)
        } else {
            appendDecimal(UInt64(truncatingIfNeeded: value))
        }
    }

    /// Decimal, out of line: the sign test is not repeated at every use.
    @inline(never)
    public mutating func appendInterpolation(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(UInt64(value.magnitude))
    }

    @inline(never)
    public mutating func appendDecimal(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }

    /// `0x` and at least `digits` lowercase hexadecimal digits (as many as needed when 0).
    public mutating func appendInterpolation<T: BinaryInteger>(hex value: T, digits: Int = 0) {
        appendHex(UInt64(truncatingIfNeeded: value), digits: digits)
    }

    @inline(never)
    public mutating func appendHex(_ value: UInt64, digits: Int) {
        append(UInt8(ascii: "0"))
        append(UInt8(ascii: "x"))
        appendHexDigits(value, digits: digits)
    }

    /// At least `digits` lowercase hexadecimal digits, without `0x` (a fixture's columns).
    public mutating func appendInterpolation<T: BinaryInteger>(hexDigits value: T, digits: Int) {
        appendHexDigits(UInt64(truncatingIfNeeded: value), digits: digits)
    }

    @inline(never)
    public mutating func appendHexDigits(_ value: UInt64, digits: Int) {
        var shown = 1
        while shown < 16 && value >> UInt64(shown * 4) != 0 { shown += 1 }
        shown = max(shown, min(digits, 16))
        var shift = (shown - 1) * 4
        while shift >= 0 {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            shift -= 4
        }
    }

    /// "yes" or "no".
    public mutating func appendInterpolation(yesNo value: Bool) { appendLiteral(value ? "yes" : "no") }

    /// Bytes a guest chose, made harmless for the console: printable ASCII stays, everything
    /// else (line ends, escape sequences, bytes above 7EH) becomes `\xNN`. A guest can thus
    /// never start a line of its own or move the cursor, so it cannot fake a hypervisor line.
    @inline(never)
    public mutating func appendInterpolation(guestBytes bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
                append(byte)
            } else {
                escapeByte(byte) { append($0) }
            }
        }
    }

    /// An exit reason: number and SDM name, e.g. "10 (CPUID)".
    @inline(never)
    public mutating func appendInterpolation(_ reason: ExitReason) {
        appendDecimal(UInt64(reason.basicReason))
        appendLiteral(" (")
        appendInterpolation(reason.name ?? "reason not defined by the SDM")
        appendLiteral(")")
        if reason.isEntryFailure { appendLiteral(", VM-entry failure") }
    }
}

/// A console line: `"text \(value)"` builds it in a `LogText`.
public struct LogMessage: ExpressibleByStringInterpolation {
    public var text: LogText

    public init(stringLiteral literal: StaticString) {
        text = LogText()
        text.appendLiteral(literal)
    }

    public init(stringInterpolation: LogText) { text = stringInterpolation }
}

extension String {
    /// A String built with the one text builder: `String(text: "bits 63:\(width) clear")`.
    @inline(never)
    public init(text message: LogMessage) { self = message.text.string }
}

/// `\xNN` (lower-case hex) for a byte that may not appear as it is: the one escape of guest
/// bytes in log lines and of outside text (OutsideText.swift).
@inline(__always)
public func escapeByte(_ byte: UInt8, _ emit: (UInt8) -> Void) {
    let high = byte >> 4, low = byte & 0xF
    emit(UInt8(ascii: "\\"))
    emit(UInt8(ascii: "x"))
    emit(high < 10 ? UInt8(ascii: "0") + high : UInt8(ascii: "a") + high - 10)
    emit(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
}
