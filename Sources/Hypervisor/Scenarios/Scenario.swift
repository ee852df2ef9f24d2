// A scenario: VMCS field overrides applied on top of the hypervisor's default guest set-up,
// to reproduce a VMLAUNCH (docs/SCENARIOS.md). Both worlds parse the same files with this code:
// the hosted tool `vmx-entry-check` and the kernel, which gets them as multiboot modules.
//
//     # comment                       '#' starts a comment, to the end of the line
//     0x6800 = 0x0000000000000031     ENCODING = VALUE, both hexadecimal with a 0x prefix
//     0x201a = arena+0x611e           a physical address in the runner's arena: its base plus the
//                                     offset (the kernel chooses the arena from the memory map)
//     # accept: vmfail-valid 7        an outcome the SDM also allows (more than one may be listed)
//     # bochs-differs: <SDM text>     Bochs deviates from the SDM here (docs/BOCHS-DIFFERENCES.md)
import VMX

/// One `ENCODING = VALUE` line.
public struct ScenarioOverride: Equatable {
    public var field: VMCSField
    public var value: UInt64
    /// 1-based line number in the file, for messages.
    public var line: Int
    /// Whether `value` is an offset from the arena's base (`arena+0x...`).
    public var relativeToArena = false

    /// The value to write, with the arena at `arenaBase`.
    public func value(arenaBase: UInt64) -> UInt64 { relativeToArena ? arenaBase &+ value : value }
}

public struct Scenario {
    public var overrides: [ScenarioOverride] = []
    /// Outcomes listed with `# accept:` (as written, e.g. "vmfail-valid 7").
    public var acceptedOutcomes: [String] = []
    /// The text after `# bochs-differs:`, when the file says Bochs deviates from the SDM.
    public var bochsDiffers: String? = nil
}

/// Why a scenario file cannot be used; `description` names the line.
public struct ScenarioError: Error, Equatable {
    public var line: Int
    public var message: String
    public var description: String { String(text: "line \(line): \(message)") }
}

extension Scenario {
    /// Parses a scenario's text. Fails on the first bad line: a malformed line, an encoding the
    /// SDM does not define, or a value wider than its field.
    ///
    /// Works on UTF-8 bytes throughout: Substring indexing by Character would pull grapheme
    /// breaking and the Unicode data tables into the kernel (Embedded Swift).
    public init(parsing text: String) throws(ScenarioError) {
        try self.init(parsing: ByteText(utf8: text))
    }

    /// Parses a scenario's bytes (a module's, as the kernel reads them).
    public init(parsing text: ByteText) throws(ScenarioError) {
        var lineNumber = 0
        for rawLine in text.lines {
            lineNumber += 1
            var content = rawLine
            if let hash = content.firstIndex(of: UInt8(ascii: "#")) {
                recordDirective(content[(hash + 1)...])
                content = content[..<hash]
            }
            let words = content.words(separatedBy: {
                $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r")
            })
            if words.isEmpty { continue }
            let relative = words.count == 3 ? words[2].dropping(prefix: "arena+") : nil
            let valueWord = relative ?? (words.count == 3 ? words[2] : words[0])
            guard words.count == 3, words[1].equals("="), words[0].hasPrefix("0x"), valueWord.hasPrefix("0x") else {
                throw ScenarioError(line: lineNumber, message: "malformed line: expected `0xENCODING = 0xVALUE`")
            }
            let encodingText = words[0].text
            let valueText = valueWord.text
            guard let encoding = parseHex(words[0]), encoding <= UInt64(UInt32.max) else {
                throw ScenarioError(line: lineNumber, message: "malformed encoding `" + encodingText + "`")
            }
            guard let value = parseHex(valueWord) else {
                throw ScenarioError(
                    line: lineNumber, message: "malformed value `" + valueText + "` (at most 16 hex digits)")
            }
            let field = VMCSField(rawValue: UInt32(encoding))
            guard let name = field.name else {
                throw ScenarioError(
                    line: lineNumber,
                    message: String(text: "unknown VMCS field encoding \(hex: UInt32(encoding), digits: 4)"))
            }
            // Natural-width fields are 64 bits wide on processors with Intel 64 (SDM 25.11.2).
            let bits: UInt64 =
                field.isHigh ? 32 : field.width == .sixteenBit ? 16 : field.width == .thirtyTwoBit ? 32 : 64
            if bits < 64 && value >> bits != 0 {
                throw ScenarioError(
                    line: lineNumber,
                    message: String(
                        text: """
                            value \(hex: value) is wider than the \(bits)-bit field \(name) \
                            (\(hex: field.rawValue, digits: 4))
                            """))
            }
            overrides.append(
                ScenarioOverride(field: field, value: value, line: lineNumber, relativeToArena: relative != nil))
        }
    }

    private mutating func recordDirective(_ comment: ByteText) {
        let text = comment.drop(while: { $0 == UInt8(ascii: " ") })
        if let outcome = text.dropping(prefix: "accept:") {
            acceptedOutcomes.append(outcome.drop(while: { $0 == UInt8(ascii: " ") }).text)
        } else if let note = text.dropping(prefix: "bochs-differs:") {
            bochsDiffers = note.drop(while: { $0 == UInt8(ascii: " ") }).text
        }
    }
}
