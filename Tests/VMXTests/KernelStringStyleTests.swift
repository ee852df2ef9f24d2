// The kernel-size rule of docs/KERNEL.md ("Size"): String-returning messages of the shared
// modules are built with `+`, `hex()` and `decimal()`, because a String interpolation costs
// some 600 bytes of kernel image per use in Embedded Swift. The VM-entry rules and the
// capability report build only such Strings (no LogText), so any interpolation in them is one.
import Foundation
import Testing

@Suite struct KernelStringStyleTests {
    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/VMX")
    }

    static let checkedFiles: [String] = {
        let rules =
            (try? FileManager.default.contentsOfDirectory(atPath: sources.appendingPathComponent("EntryChecks").path))
            ?? []
        return rules.filter { $0.hasSuffix(".swift") }.map { "EntryChecks/" + $0 }.sorted()
            + ["Capabilities/CapabilityReport.swift", "Capabilities/NamedBits.swift", "Hex.swift"]
    }()

    @Test func theCheckedFilesExist() {
        #expect(Self.checkedFiles.count > 15)
    }

    @Test("no String interpolation in the rule and report sources", arguments: checkedFiles)
    func noStringInterpolation(file: String) throws {
        let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("//") { continue }
            #expect(
                !line.contains("\\("),
                "\(file):\(number + 1): String interpolation; build the message with +, hex() and decimal()")
        }
    }
}
