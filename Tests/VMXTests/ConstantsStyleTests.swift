// One home for every x86 constant (docs/ARCHITECTURE.md): the
// architectural formats - IA32_EFER, RFLAGS, CR0/CR4, segment access rights, exception
// vectors, CPUID bits, IA32_FEATURE_CONTROL, EPT entries and the EPTP - are typed values in
// Sources/VMX. Outside it, in the Hypervisor, Kernel and EmulatedCPU modules, a bit written as
// `1 << n` or a hex literal of three or more digits is a format spelled out again; each one
// that is not (a port number, a boot-protocol offset, a layout address) is listed with its
// reason in Tests/constants-allowlist.txt. Comments and string literals are not checked.
import Foundation
import Testing

@Suite struct ConstantsStyleTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
    static let checkedFolders = ["Sources/Hypervisor", "Sources/Kernel", "Sources/EmulatedCPU"]

    /// `path: literal: reason` lines of the allow-list, as "path: literal" keys.
    static func allowList() throws -> [String: String] {
        let text = try String(contentsOf: root.appendingPathComponent("Tests/constants-allowlist.txt"), encoding: .utf8)
        var entries: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.components(separatedBy: ": ")
            guard parts.count >= 3 else { continue }
            entries[parts[0] + ": " + parts[1]] = parts[2...].joined(separator: ": ")
        }
        return entries
    }

    /// Every `1 << n` (n a number) and every hex literal of three or more digits in the code of
    /// `line`, outside comments and string literals.
    static func constants(in line: Substring) -> [String] {
        var code = line.replacingOccurrences(of: #""(?:[^"\\]|\\.)*""#, with: "\"\"", options: .regularExpression)
        if let comment = code.range(of: "//") { code = String(code[..<comment.lowerBound]) }
        let pattern = try! NSRegularExpression(pattern: #"(?<![\w.])(1 << \d+|0x[0-9A-Fa-f_]+)"#)
        let range = NSRange(code.startIndex..., in: code)
        return pattern.matches(in: code, range: range).compactMap { match in
            let literal = String(code[Range(match.range(at: 1), in: code)!])
            if literal.hasPrefix("0x") && literal.dropFirst(2).filter({ $0 != "_" }).count < 3 { return nil }
            return literal
        }
    }

    static func sourceFiles() -> [String] {
        var files: [String] = []
        for folder in checkedFolders {
            let base = root.appendingPathComponent(folder)
            let walker = FileManager.default.enumerator(atPath: base.path)
            while let file = walker?.nextObject() as? String {
                if file.hasSuffix(".swift") { files.append(folder + "/" + file) }
            }
        }
        return files.sorted()
    }

    @Test func theLintSeesTheSources() {
        #expect(Self.sourceFiles().count > 100)
        #expect(Self.constants(in: "let a = 1 << 8 | 0x500 // 0x400") == ["1 << 8", "0x500"])
        #expect(Self.constants(in: "x(\"0x1234\", 0x12, 0x1_0000)") == ["0x1_0000"])
    }

    @Test func everyConstantOutsideVMXIsAllowListed() throws {
        let allowed = try Self.allowList()
        var used = Set<String>()
        for file in Self.sourceFiles() {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for literal in Self.constants(in: line) {
                    let key = file + ": " + literal
                    used.insert(key)
                    #expect(
                        allowed[key] != nil,
                        """
                        \(file):\(number + 1): \(literal): an x86 format belongs in Sources/VMX as a typed value; \
                        anything else goes in Tests/constants-allowlist.txt with its reason
                        """
                    )
                }
            }
        }
        for key in allowed.keys.sorted() where !used.contains(key) {
            Issue.record("Tests/constants-allowlist.txt: \(key): no longer used; remove the entry")
        }
    }
}
