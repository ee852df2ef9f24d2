// Console lines written as they are interpolated: `log("memory: \(kib) KiB")` sends each
// literal piece and each value straight to COM1. No String is built and nothing is allocated,
// so logging works before the heap exists and inside the exception handler, and each
// interpolation compiles to one call (String interpolation in Embedded Swift inlines a lot of
// code at every use; docs/KERNEL.md).
import Hypervisor

public struct LogLine: ExpressibleByStringInterpolation {
    public init(stringLiteral literal: StaticString) { Console.write(literal) }
    public init(stringInterpolation: Interpolation) {}

    public struct Interpolation: StringInterpolationProtocol {
        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: StaticString) { Console.write(literal) }

        /// Decimal.
        @inline(never)
        public mutating func appendInterpolation(_ value: Int) {
            if value < 0 {
                Serial.write(UInt8(ascii: "-"))
                Console.writeDecimal(UInt64(bitPattern: Int64(0 &- value)))
            } else {
                Console.writeDecimal(UInt64(value))
            }
        }
        @inline(never)
        public mutating func appendInterpolation(_ value: UInt64) { Console.writeDecimal(value) }
        public mutating func appendInterpolation(_ value: UInt32) { Console.writeDecimal(UInt64(value)) }

        /// `0x` and `digits` hexadecimal digits (as many as needed when 0).
        @inline(never)
        public mutating func appendInterpolation(hex value: UInt64, digits: Int = 0) {
            Console.writeHex(value, digits: max(digits, Self.significantHexDigits(value)))
        }
        public mutating func appendInterpolation(hex value: UInt32) {
            appendInterpolation(hex: UInt64(value), digits: 8)
        }

        public mutating func appendInterpolation(_ text: StaticString) { Console.write(text) }

        @inline(never)
        public mutating func appendInterpolation(_ text: String) {
            for byte in text.utf8 { Serial.write(byte) }
        }

        /// Text from outside that is not a String (the boot command line, a boot module's
        /// name in the boot information): escaped and bounded like every outside text
        /// (Hypervisor's OutsideText), so that it can neither end the line nor start one.
        @inline(never)
        public mutating func appendInterpolation(
            outside bytes: UnsafeRawBufferPointer, limit: Int = OutsideText.commandLineLimit
        ) {
            escapeOutsideText(bytes, count: bytes.count, limit: limit) { Serial.write($0) }
        }

        /// `[first-last]`, 16 hexadecimal digits each, as memory maps print ranges.
        @inline(never)
        public mutating func appendInterpolation(_ range: PhysicalRange) {
            Console.write("[")
            Console.writeHex(range.start, digits: 16)
            Console.write("-")
            Console.writeHex(range.end &- 1, digits: 16)
            Console.write("]")
        }

        private static func significantHexDigits(_ value: UInt64) -> Int {
            var digits = 1
            while digits < 16 && value >> UInt64(digits * 4) != 0 { digits += 1 }
            return digits
        }
    }
}

/// Writes one line to the console.
public func log(_ line: LogLine) {
    Console.newline()
}

/// Writes text to the console without ending the line.
public func logText(_ line: LogLine) {}
