// One way to write a line of text (docs/ARCHITECTURE.md, "Text"): every message with a number
// in it is built by LogText (Sources/VMX/Text/LogText.swift) - a console line as a LogMessage,
// a String message as `String(text: "... \(hex: x) ...")`. A String glued together from
// `hex()` or `decimal()` with `+` is a second builder beside it, and LogLine was a third; this
// test fails on either anywhere in Sources. (That the kernel image holds no standard-library
// String formatting is checked on the linked image by tools/kernel-text-check.)
import Foundation
import Testing

@Suite struct TextBuilderStyleTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    static let sourceFiles: [String] = {
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".swift") }.map { "Sources/" + $0 }.sorted()
    }()

    /// The code of `text` without comments (string literals stay: `"a" + hex(x)` is code).
    static func code(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard let comment = line.range(of: "//") else { return String(line) }
            return String(line[..<comment.lowerBound])
        }.joined(separator: "\n")
    }

    /// Each `hex(...)`, `hexDigits(...)` or `decimal(...)` call in `code` that is an operand of
    /// `+`, across line breaks.
    static func concatenations(in code: String) -> [String] {
        let text = Array(code.utf8)
        var found: [String] = []
        var index = 0
        while index < text.count {
            let identifierBefore = index > 0 && (isIdentifier(text[index - 1]) || text[index - 1] == UInt8(ascii: "."))
            guard !identifierBefore,
                let name = ["hex(", "hexDigits(", "decimal("].first(where: { starts(text, $0, at: index) })
            else {
                index += 1
                continue
            }
            var end = index + name.utf8.count
            var depth = 1
            while end < text.count && depth > 0 {
                if text[end] == UInt8(ascii: "(") { depth += 1 }
                if text[end] == UInt8(ascii: ")") { depth -= 1 }
                end += 1
            }
            var before = index - 1
            while before >= 0 && isSpace(text[before]) { before -= 1 }
            var after = end
            while after < text.count && isSpace(text[after]) { after += 1 }
            if before >= 1 && text[before] == UInt8(ascii: "=") && text[before - 1] == UInt8(ascii: "+") { before -= 1 }
            let plusBefore = before >= 0 && text[before] == UInt8(ascii: "+")
            let plusAfter = after < text.count && text[after] == UInt8(ascii: "+")
            if plusBefore || plusAfter { found.append(String(decoding: text[index..<end], as: UTF8.self)) }
            index = end
        }
        return found
    }

    static func starts(_ text: [UInt8], _ prefix: String, at index: Int) -> Bool {
        let bytes = Array(prefix.utf8)
        return index + bytes.count <= text.count && Array(text[index..<index + bytes.count]) == bytes
    }
    static func isIdentifier(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
    static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") }

    @Test func theSourcesAreFound() {
        #expect(Self.sourceFiles.count > 200)
        #expect(Self.sourceFiles.contains("Sources/VMX/Text/LogText.swift"))
    }

    @Test func theCheckFindsConcatenation() {
        #expect(Self.concatenations(in: #"let a = "bits " + decimal(width) + " clear""#) == ["decimal(width)"])
        #expect(
            Self.concatenations(in: "x = hex(UInt64(s) << 4)\n    + \" (selector << 4)\"") == ["hex(UInt64(s) << 4)"])
        #expect(Self.concatenations(in: "let a = name\n    + hexDigits(v, digits: 2)") == ["hexDigits(v, digits: 2)"])
        #expect(Self.concatenations(in: #"let a = String(text: "bits \(hex: x)"); let b = hex(y)"#).isEmpty)
        #expect(Self.concatenations(in: "line += hex(v)") == ["hex(v)"])
        #expect(Self.concatenations(in: "let a = b.hex(y) + c").isEmpty)
    }

    @Test("no + hex() / + decimal() and no LogLine", arguments: sourceFiles)
    func oneTextBuilder(file: String) throws {
        let code = Self.code(try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8))
        for call in Self.concatenations(in: code) {
            Issue.record(
                "\(file): \(call) is concatenated with +; build the text with String(text: \"...\\(hex: x)...\")")
        }
        let logLine = try NSRegularExpression(pattern: #"\bLogLine\b"#)
        #expect(
            logLine.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) == nil,
            "\(file): LogLine; the kernel's lines are LogMessages (Sources/Kernel/Log.swift)")
    }
}
