// Text that came from outside the hypervisor - the boot command line, a boot module's name and
// command line, an option's value, a guest's name - and how it reaches the log: escaped and
// bounded, so that it can neither end a line nor start one of its own, move the terminal's
// cursor, nor push the end of the line that carries it (`guest NAME stopped: ...`) past the
// LogText capacity (docs/GUESTS.md, "Bad input").
//
// The rule: printable ASCII stays, except `\` and `"`; every other byte (line ends, ESC,
// control bytes, bytes above 7EH) becomes `\xNN`. At most `limit` bytes of escaped text are
// written; a longer text ends in a visible cut, `...(300 bytes)`, that gives its full size.
import VMX

/// A name or text from outside: it appears in a log line only escaped and bounded (its
/// `LogText` interpolation). Compare or pass on its bytes with `utf8` and `string`.
public struct OutsideText: Sendable {
    /// The bytes as they came.
    public var string: String

    /// How many bytes of escaped text a name may take in a line.
    public static let nameLimit = 64
    /// How many bytes of escaped text a command line may take in a line.
    public static let commandLineLimit = 128

    public init(_ string: String) { self.string = string }

    public var utf8: String.UTF8View { string.utf8 }

    /// The escaped, bounded text as a String (for the lines built as Strings).
    public var escaped: String {
        var bytes: [UInt8] = []
        escapeOutsideText(string.utf8, count: string.utf8.count, limit: Self.nameLimit) { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Whether `byte` stays as it is in escaped outside text.
@inline(__always)
func staysAsItIs(_ byte: UInt8) -> Bool {
    byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "\"")
}

/// Writes `bytes` (`count` of them) escaped through `emit`, at most `limit` bytes of escaped
/// text, then `...(N bytes)` if not all of them fit. The kernel's boot lines use it too.
@inline(never)
public func escapeOutsideText<S: Sequence<UInt8>>(_ bytes: S, count: Int, limit: Int, _ emit: (UInt8) -> Void) {
    var written = 0
    var taken = 0
    for byte in bytes {
        let width = staysAsItIs(byte) ? 1 : 4
        if written + width > limit { break }
        if width == 1 {
            emit(byte)
        } else {
            escapeByte(byte, emit)
        }
        written += width
        taken += 1
    }
    guard taken < count else { return }
    for byte in "...(".utf8 { emit(byte) }
    var divisor = 1
    while count / divisor >= 10 { divisor *= 10 }
    while divisor > 0 {
        emit(UInt8(ascii: "0") + UInt8((count / divisor) % 10))
        divisor /= 10
    }
    for byte in " bytes)".utf8 { emit(byte) }
}

extension LogText {
    /// Outside text that is not a String (the boot command line, a boot module's name in the
    /// boot information), escaped and bounded the same way.
    @inline(never)
    public mutating func appendInterpolation(
        outside bytes: UnsafeRawBufferPointer, limit: Int = OutsideText.commandLineLimit
    ) {
        escapeOutsideText(bytes, count: bytes.count, limit: limit) { append($0) }
    }

    /// A name or text from outside, escaped and bounded (OutsideText).
    @inline(never)
    public mutating func appendInterpolation(_ text: OutsideText) {
        escapeOutsideText(text.string.utf8, count: text.string.utf8.count, limit: OutsideText.nameLimit) { append($0) }
    }

    /// A String from outside (an option's value, a module's command line), escaped and bounded.
    @inline(never)
    public mutating func appendInterpolation(outside text: String, limit: Int = OutsideText.nameLimit) {
        escapeOutsideText(text.utf8, count: text.utf8.count, limit: limit) { append($0) }
    }
}
