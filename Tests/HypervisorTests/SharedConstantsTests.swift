// The constants that the assembly (boot/*.asm, boot/*.inc) and the gdb helpers
// (tools/gdb/swiftvmx.py) share with the Swift definitions: both sides are parsed - the nasm
// `equ` lines evaluated, the Python module's assignments read with Python's own parser - and
// every shared value is compared with the Swift one it copies.
import Foundation
import Testing
import VMX
@testable import Hypervisor

@Suite struct SharedConstantsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    // MARK: nasm

    /// Every `NAME equ EXPRESSION` of the nasm sources, evaluated (later names may use earlier ones).
    static func assemblyConstants() throws -> [String: UInt64] {
        let boot = root.appendingPathComponent("boot")
        let files = try FileManager.default.contentsOfDirectory(atPath: boot.path)
            .filter { $0.hasSuffix(".asm") || $0.hasSuffix(".inc") }.sorted()
        var values: [String: UInt64] = [:]
        for file in files {
            let text = try String(contentsOf: boot.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let code = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
                let words = code.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                guard words.count == 3, words[1] == "equ" else { continue }
                let value = NasmExpression.value(of: String(words[2]), names: values)
                values[String(words[0])] = try #require(value, "\(file): \(line)")
            }
        }
        return values
    }

    @Test func nasmEvaluatorReadsTheForms() {
        #expect(NasmExpression.value(of: "(1 << 5) | 0x2A0 | ~0 & 3", names: [:]) == (1 << 5 | 0x2A0 | 3))
        #expect(NasmExpression.value(of: "A | 1 << 16", names: ["A": 2]) == 2 | 1 << 16)
        #expect(NasmExpression.value(of: "1 <<", names: [:]) == nil)
        #expect(NasmExpression.value(of: "B", names: [:]) == nil)
    }

    @Test func exitStatisticsLayoutOfTheAssemblyBaseline() throws {
        let asm = try Self.assemblyConstants()
        #expect(asm["STATISTICS_TOTAL"] == ExitStatistics.totalOffset)
        #expect(asm["STATISTICS_NEXT"] == ExitStatistics.nextOffset)
        #expect(asm["STATISTICS_COUNTERS"] == ExitStatistics.countersOffset)
        #expect(asm["STATISTICS_RING"] == ExitStatistics.ringOffset)
    }

    @Test func cpuidBitsHiddenFromGuests() throws {
        let asm = try Self.assemblyConstants()
        #expect(asm["LEAF1_ECX_HIDDEN"] == UInt64(GuestCPUID.leaf1ECXHidden))
    }

    @Test func debugSnapshotRoom() throws {
        let asm = try Self.assemblyConstants()
        #expect(asm["DEBUG_SNAPSHOT_BYTES"] == DebugSnapshot.reservedBytes)
    }

    /// Every `VMCS_NAME` is the field whose SDM name is NAME (words joined by `_`; a leading
    /// "VM-" and trailing words may be left out when that still names one field).
    @Test func vmcsFieldEncodings() throws {
        let asm = try Self.assemblyConstants().filter { $0.key.hasPrefix("VMCS_") }
        #expect(asm.count >= 6)
        func spelled(_ name: String) -> String {
            String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        for (symbol, value) in asm {
            let wanted = String(symbol.dropFirst("VMCS_".count))
            let exact = VMCSField.all.filter { spelled($0.name) == wanted }
            let candidates =
                exact.isEmpty
                ? VMCSField.all.filter {
                    let name = spelled($0.name)
                    return name.hasPrefix(wanted + "_") || name.hasPrefix("VM_" + wanted)
                } : exact
            #expect(candidates.count == 1, "\(symbol) names \(candidates.count) VMCS fields")
            if candidates.count == 1 {
                #expect(UInt64(candidates[0].field.rawValue) == value, "\(symbol) is \(candidates[0].name)")
            }
        }
    }

    @Test func longModeBits() throws {
        let asm = try Self.assemblyConstants()
        let cr0: [String: ControlRegister0] = [
            "PE": .pe, "MP": .mp, "EM": .em, "NE": .ne, "WP": .wp,
            "NW": .nw, "CD": .cd, "PG": .pg
        ]
        for (name, bit) in cr0 { #expect(asm["CR0_" + name] == bit.rawValue, "CR0_\(name)") }
        #expect(asm["CR4_PAE"] == ControlRegister4.pae.rawValue)
        #expect(asm["CR4_OSFXSR"] == ControlRegister4.osfxsr.rawValue)
        #expect(asm["CR4_OSXMMEXCPT"] == ControlRegister4.osxmmexcpt.rawValue)
        #expect(asm["IA32_EFER"] == UInt64(MSR.ia32EFER.rawValue))
        #expect(asm["EFER_LME"] == ExtendedFeatureEnable.lme.rawValue)
    }

    // MARK: The gdb helpers

    /// The module-level assignments of tools/gdb/swiftvmx.py whose values are literals, as JSON
    /// (Python's `ast`: the module imports gdb, so it cannot be imported here).
    static func gdbHelperConstants() throws -> [String: Any] {
        let script = """
            import ast, json, sys
            tree = ast.parse(open(sys.argv[1]).read())
            out = {}
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    if isinstance(value, dict):
                        value = {str(k): v for k, v in value.items()}
                    out[node.targets[0].id] = value
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", script,
            root.appendingPathComponent("tools/gdb/swiftvmx.py").path
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func gdbHelperSnapshotLayout() throws {
        let py = try Self.gdbHelperConstants()
        #expect(py["SNAPSHOT_MAGIC"] as? UInt64 == DebugSnapshot.magic)
        #expect(py["SNAPSHOT_SLOTS"] as? [String] == DebugSnapshot.Slot.allCases.map { "\($0)" })
    }

    @Test func gdbHelperExitStatisticsLayout() throws {
        let py = try Self.gdbHelperConstants()
        #expect(py["STATISTICS_MAGIC"] as? UInt64 == ExitStatistics.magic)
        #expect(py["STATISTICS_COUNTERS"] as? Int == ExitStatistics.counterCount)
        #expect(py["STATISTICS_RING_OFFSET"] as? UInt64 == ExitStatistics.ringOffset)
        #expect(py["STATISTICS_RING_ENTRY"] as? UInt64 == ExitStatistics.ringEntrySize)
        #expect(py["STATISTICS_LINES_OFFSET"] as? UInt64 == ExitStatistics.linesNotWrittenOffset)
        #expect(
            py["STATISTICS_LINE_KINDS"] as? [String]
                == GuestLineKind.allCases.map { $0.noun.description })
    }

    @Test func gdbHelperExitReasonNames() throws {
        let py = try Self.gdbHelperConstants()
        let names = try #require(py["EXIT_REASONS"] as? [String: String])
        var swift: [String: String] = [:]
        for number in 0...Int(ExitReason.highestKnownBasicReason) + 8 {
            if let name = ExitReason(rawValue: UInt32(number)).name { swift[String(number)] = name }
        }
        #expect(swift.count == 74)
        for number in Set(names.keys).union(swift.keys).sorted(by: { Int($0)! < Int($1)! }) {
            #expect(names[number] == swift[number], "exit reason \(number)")
        }
    }
}

/// A nasm constant expression of integers (decimal, 0x hex, `_` separators) and names already
/// defined, with ( ) ~ << >> & ^ | and + - (nasm's precedence); nil when it is anything else.
struct NasmExpression {
    var tokens: [Substring]
    var position = 0
    let names: [String: UInt64]

    init(text: String, names: [String: UInt64]) {
        self.names = names
        var tokens: [Substring] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == " " || character == "\t" { index = text.index(after: index); continue }
            var end = text.index(after: index)
            if character.isLetter || character.isNumber || character == "_" {
                while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "_" {
                    end = text.index(after: end)
                }
            } else if (character == "<" || character == ">"), end < text.endIndex, text[end] == character {
                end = text.index(after: end)
            }
            tokens.append(text[index..<end])
            index = end
        }
        self.tokens = tokens
    }

    static func value(of text: String, names: [String: UInt64]) -> UInt64? {
        var expression = NasmExpression(text: text, names: names)
        return expression.evaluate()
    }

    mutating func evaluate() -> UInt64? {
        guard let value = binary(level: 0), position == tokens.count else { return nil }
        return value
    }

    static let levels: [[Substring]] = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"]]

    mutating func binary(level: Int) -> UInt64? {
        guard level < Self.levels.count else { return unary() }
        guard var value = binary(level: level + 1) else { return nil }
        while position < tokens.count, Self.levels[level].contains(tokens[position]) {
            let operation = tokens[position]
            position += 1
            guard let right = binary(level: level + 1) else { return nil }
            switch operation {
            case "|": value |= right
            case "^": value ^= right
            case "&": value &= right
            case "<<": value <<= right
            case ">>": value >>= right
            case "+": value &+= right
            default: value &-= right
            }
        }
        return value
    }

    mutating func unary() -> UInt64? {
        guard position < tokens.count else { return nil }
        let token = tokens[position]
        position += 1
        switch token {
        case "~": return unary().map { ~$0 }
        case "-": return unary().map { 0 &- $0 }
        case "(":
            guard let value = binary(level: 0), position < tokens.count, tokens[position] == ")" else { return nil }
            position += 1
            return value
        default:
            if let value = names[String(token)] { return value }
            let digits = token.replacingOccurrences(of: "_", with: "")
            if digits.lowercased().hasPrefix("0x") { return UInt64(digits.dropFirst(2), radix: 16) }
            return UInt64(digits)
        }
    }
}
