// Console output that never allocates, for the paths that must work when the heap cannot be
// trusted (exception reports, the exit line). Ordinary code uses `print`, which reaches
// COM1 through `putchar` (Runtime.swift).

enum Console {
    static func write(_ text: StaticString) {
        let start = text.utf8Start
        for index in 0..<text.utf8CodeUnitCount { Serial.write(start[index]) }
    }

    static func writeLine(_ text: StaticString) {
        write(text)
        Serial.write(UInt8(ascii: "\n"))
    }

    /// `value` as `0x` and exactly `digits` hexadecimal digits.
    static func writeHex(_ value: UInt64, digits: Int = 16) {
        let symbols: StaticString = "0123456789abcdef"
        write("0x")
        var shift = (digits - 1) * 4
        while shift >= 0 {
            Serial.write(symbols.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }

    static func writeDecimal(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            Serial.write(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }

    static func newline() { Serial.write(UInt8(ascii: "\n")) }
}
