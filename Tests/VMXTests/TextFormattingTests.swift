import Testing
@testable import VMX

/// The byte-level text helpers the kernel parses and formats with (Sources/VMX/ByteText.swift,
/// Hex.swift): they replace String's own algorithms, so they get their own exact tests.
@Suite struct TextFormattingTests {
    @Test func wordsSkipRunsOfSeparatorsAndKeepNoEmptyWords() {
        let words = ByteText(utf8: "  guest  name=x\tmode=long ").words()
        #expect(words.map(\.text) == ["guest", "name=x\tmode=long"])
        let spaced = ByteText(utf8: "a \tb\r").words(separatedBy: { $0 == 32 || $0 == 9 || $0 == 13 })
        #expect(spaced.map(\.text) == ["a", "b"])
        #expect(ByteText(utf8: "   ").words().isEmpty)
        #expect(ByteText(utf8: "").words().isEmpty)
    }

    @Test func linesKeepEmptyLinesAndTheLastLine() {
        #expect(ByteText(utf8: "a\n\nb").lines.map(\.text) == ["a", "", "b"])
        #expect(ByteText(utf8: "a\n").lines.map(\.text) == ["a", ""])
        #expect(ByteText(utf8: "").lines.map(\.text) == [""])
    }

    @Test func equalsAndPrefixesCompareBytesOfSlicesNotStartingAtZero() {
        let word = ByteText(utf8: "xx name=abc")[3...]
        #expect(word.hasPrefix("name="))
        #expect(!word.hasPrefix("name=abcd"))
        #expect(word.dropping(prefix: "name=")?.text == "abc")
        #expect(word.dropping(prefix: "mode=") == nil)
        #expect(word.dropping(prefix: "name=")!.equals("abc"))
        #expect(!word.equals("name="))
        #expect(ByteText(utf8: "").equals(""))
    }

    @Test func parseHexTakesAnOptionalPrefixAndAtMost16Digits() {
        #expect(parseHex(ByteText(utf8: "0x1F")) == 0x1F)
        #expect(parseHex(ByteText(utf8: "0Xff")) == 0xFF)
        #expect(parseHex(ByteText(utf8: "ffffffffffffffff")) == UInt64.max)
        #expect(parseHex(ByteText(utf8: "1ffffffffffffffff")) == nil)
        #expect(parseHex(ByteText(utf8: "0x")) == nil)
        #expect(parseHex(ByteText(utf8: "0x1g")) == nil)
    }

    @Test func decimalFormatsTheWholeRangeOfSignedAndUnsignedIntegers() {
        #expect(decimal(0) == "0")
        #expect(decimal(UInt64.max) == "18446744073709551615")
        #expect(decimal(Int64.min) == "-9223372036854775808")
        #expect(decimal(Int8(-5)) == "-5")
        #expect(decimal(UInt8(255)) == "255")
    }
}
