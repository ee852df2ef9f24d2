// The target description gdb reads with `qXfer:features:read:target.xml` (gdb manual, G "Target
// Descriptions"): the architecture for the guest's mode and the registers of
// GDBRegisterLayout, numbered in order. Generated from the layout so that the two cannot
// disagree.

enum GDBTargetDescription {
    /// RFLAGS bits gdb names in `info registers eflags` (its own i386_eflags type), and their
    /// names separated by `|` (bit 1 has the empty name gdb gives it).
    private static let eflagsBits: [UInt8] = [0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 14, 16, 17, 18, 19, 20, 21]
    private static let eflagsNames: StaticString = "CF||PF|AF|ZF|SF|TF|IF|DF|OF|NT|RF|VM|AC|VIF|VIP|ID"

    static func xml(for architecture: GDBArchitecture) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        out.appendText(
            "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target version=\"1.0\"><architecture>")
        switch architecture {
        case .x86_64: out.appendText("i386:x86-64")
        case .i386: out.appendText("i386")
        case .i8086: out.appendText("i8086")
        }
        // A guest has no operating-system ABI gdb should assume (signal trampolines, TLS...);
        // without this gdb takes the host's (GNU/Linux), which it has no i8086 handler for.
        out.appendText("</architecture><osabi>none</osabi>")
        let slots = GDBRegisterLayout.slots(for: architecture)
        var feature = -1
        var index = 0
        forEachToken(of: GDBRegisterLayout.names(for: architecture), separator: UInt8(ascii: " ")) { name in
            guard index < slots.count else { return }
            let kind = GDBRegisterLayout.kind(slots[index])
            index += 1
            if kind.feature != feature {
                if feature >= 0 { out.appendText("</feature>") }
                feature = kind.feature
                out.appendText("<feature name=\"")
                out.appendText(GDBRegisterLayout.features[feature])
                out.appendText("\">")
                if feature == 0 { appendEflagsType(&out) }
            }
            out.appendText("<reg name=\"")
            out.append(contentsOf: name)
            out.appendText("\" bitsize=\"")
            out.appendDecimal(kind.bytes * 8)
            out.appendText("\" type=\"")
            out.appendText(kind.type)
            switch kind {
            case .control: out.appendText("\" group=\"system\"/>")
            case .x87Data, .x87Control: out.appendText("\" group=\"float\"/>")
            default: out.appendText("\"/>")
            }
        }
        out.appendText("</feature></target>")
        return out
    }

    private static func appendEflagsType(_ out: inout [UInt8]) {
        out.appendText("<flags id=\"i386_eflags\" size=\"4\">")
        var index = 0
        forEachToken(of: eflagsNames, separator: UInt8(ascii: "|")) { name in
            guard index < eflagsBits.count else { return }
            out.appendText("<field name=\"")
            out.append(contentsOf: name)
            out.appendText("\" start=\"")
            out.appendDecimal(Int(eflagsBits[index]))
            out.appendText("\" end=\"")
            out.appendDecimal(Int(eflagsBits[index]))
            out.appendText("\"/>")
            index += 1
        }
        out.appendText("</flags>")
    }

    /// Calls `body` with each piece of `text` between separators (empty pieces included).
    private static func forEachToken(
        of text: StaticString, separator: UInt8, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        text.withUTF8Buffer { bytes in
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == separator {
                body(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
            }
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendText(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ value: Int) {
        if value >= 10 { appendDecimal(value / 10) }
        append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    mutating func appendHex(_ byte: UInt8) {
        append(GDBHex.digit(byte >> 4))
        append(GDBHex.digit(byte))
    }
}
