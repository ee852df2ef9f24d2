// Text from outside (module names and command lines, option values) reaches the log only
// escaped and bounded (OutsideText): it can neither start a line of its own, move the
// terminal's cursor, nor cut the line that carries it at the LogText capacity.
import Foundation
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct OutsideTextTests {
    static func escaped(_ text: String, limit: Int = OutsideText.nameLimit) -> String {
        var bytes: [UInt8] = []
        escapeOutsideText(text.utf8, count: text.utf8.count, limit: limit) { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func printableASCIIStaysTheRestIsEscaped() {
        #expect(Self.escaped("user64") == "user64")
        #expect(Self.escaped("a\nSWIFTVMX EXIT: success") == "a\\x0aSWIFTVMX EXIT: success")
        #expect(Self.escaped("\u{1B}[2J\r\t\u{7F}") == "\\x1b[2J\\x0d\\x09\\x7f")
        #expect(Self.escaped("q\"uote\\") == "q\\x22uote\\x5c")
        #expect(Self.escaped("\u{E9}") == "\\xc3\\xa9")
    }

    @Test func aLongTextIsCutVisiblyWithItsSize() {
        let name = String(repeating: "A", count: 300)
        #expect(Self.escaped(name) == String(repeating: "A", count: 64) + "...(300 bytes)")
        // An escape is never split: 16 escaped bytes fill 64 exactly, the 17th does not fit.
        let controls = String(repeating: "\u{1B}", count: 17)
        #expect(Self.escaped(controls) == String(repeating: "\\x1b", count: 16) + "...(17 bytes)")
        #expect(Self.escaped(String(repeating: "B", count: 64)) == String(repeating: "B", count: 64))
    }

    @Test func interpolationsEscape() {
        let name = OutsideText("x\ny")
        let message: LogMessage =
            "guest \(name): \(outside: "v\u{1B}") \(guestBytes: UnsafeRawBufferPointer(start: nil, count: 0))"
        #expect(message.text.string == "guest x\\x0ay: v\\x1b ")
        #expect(name.escaped == "x\\x0ay")
    }

    @Test func optionValuesInErrorsAreEscaped() {
        var text = LogText()
        GuestImageError.badValue(option: "mode", value: "x\n" + String(repeating: "z", count: 200)).describe(
            into: &text)
        #expect(text.string == "bad value \"x\\x0a" + String(repeating: "z", count: 59) + "...(202 bytes)\" for mode=")
        text = LogText()
        GuestImageError.unknownOption("a=\u{1B}").describe(into: &text)
        #expect(text.string.hasPrefix("unknown option \"a=\\x1b\""))
    }

    /// Every line of a run with hostile module names and options: none has a byte outside
    /// printable ASCII, none begins with a forged line, every line that names the guest is
    /// whole (not cut at the LogText capacity), and the stop line says why the guest stopped.
    static let hostileName = "x\nSWIFTVMX\u{1B}[2J" + String(repeating: "N", count: 300)

    @Test func hostileNamesAndOptionsNeverForgeOrCutALine() throws {
        let hello = try GuestRunSupport.images.get().first { $0.name == "hello64" }!
        let images = [
            GuestRunSupport.Image(
                name: "m", commandLine: "guest name=\(Self.hostileName) mode=long load=0x10000",
                bytes: hello.bytes, isBuiltIn: false),
            GuestRunSupport.Image(
                name: "m", commandLine: "guest name=bad\nFATAL: mode=\nFATAL:\u{1B}",
                bytes: hello.bytes, isBuiltIn: false),
            GuestRunSupport.Image(
                name: "m", commandLine: "guest name=opt speed=\nguest\u{7}",
                bytes: hello.bytes, isBuiltIn: false)
        ]
        let run = try GuestRunSupport.runHypervisor(profile: "corei7_skylake_x", images: images)
        for line in run.lines {
            #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "raw outside bytes in: \(line)")
            #expect(!line.hasPrefix("FATAL") && !line.hasPrefix("SWIFTVMX"), "forged line: \(line)")
            #expect(!line.hasSuffix("..."), "cut line: \(line)")
        }
        let shown =
            "x\\x0aSWIFTVMX\\x1b[2J" + String(repeating: "N", count: 64 - 20)
            + "...(\(Self.hostileName.utf8.count) bytes)"
        #expect(run.lines.contains("[\(shown)] hello from a 64-bit guest, through the PRINT hypercall"))
        #expect(
            run.lines.contains { $0.hasPrefix("guest \(shown) stopped: halted (HLT) (") && $0.hasSuffix(" VM exits)") })
        #expect(
            run.lines.contains("guest bad\\x0aFATAL:: cannot load the image: bad value \"\\x0aFATAL:\\x1b\" for mode="))
        #expect(
            run.lines.contains(
                """
                guest opt: cannot load the image: unknown option \"speed=\\x0aguest\\x07\" (name, mode, load, \
                entry, memory, budget, ept)
                """
            ))
    }
}
