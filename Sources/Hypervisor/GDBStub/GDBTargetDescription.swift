// The target description gdb reads with `qXfer:features:read:target.xml` (gdb manual, G "Target
// Descriptions"): the architecture for the guest's mode and the registers of
// GDBRegisterLayout, numbered in order. Generated from the layout so that the two cannot
// disagree.

enum GDBTargetDescription {
    /// RFLAGS bits gdb names in `info registers eflags` (its own i386_eflags type).
    private static let eflags: [(UInt8, StaticString)] = [
        (0, "CF"), (1, ""), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"),
        (10, "DF"), (11, "OF"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"),
        (20, "VIP"), (21, "ID"),
    ]

    static func xml(for architecture: GDBArchitecture) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        out.appendText("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target version=\"1.0\"><architecture>")
        switch architecture {
        case .x86_64: out.appendText("i386:x86-64")
        case .i386: out.appendText("i386")
        case .i8086: out.appendText("i8086")
        }
        // A guest has no operating-system ABI gdb should assume (signal trampolines, TLS...);
        // without this gdb takes the host's (GNU/Linux), which it has no i8086 handler for.
        out.appendText("</architecture><osabi>none</osabi>")
        var feature = -1
        for slot in GDBRegisterLayout.slots(for: architecture) {
            if slot.feature != feature {
                if feature >= 0 { out.appendText("</feature>") }
                feature = slot.feature
                out.appendText("<feature name=\"")
                out.appendText(GDBRegisterLayout.features[feature])
                out.appendText("\">")
                if feature == 0 {
                    out.appendText("<flags id=\"i386_eflags\" size=\"4\">")
                    for (bit, name) in eflags {
                        out.appendText("<field name=\"")
                        out.appendText(name)
                        out.appendText("\" start=\"")
                        out.appendDecimal(Int(bit))
                        out.appendText("\" end=\"")
                        out.appendDecimal(Int(bit))
                        out.appendText("\"/>")
                    }
                    out.appendText("</flags>")
                }
            }
            out.appendText("<reg name=\"")
            out.appendText(slot.name)
            out.appendText("\" bitsize=\"")
            out.appendDecimal(slot.bytes * 8)
            out.appendText("\" type=\"")
            out.appendText(slot.type)
            out.appendText(slot.feature == 2 ? "\" group=\"system\"/>" : slot.register == nil ? "\" group=\"float\"/>" : "\"/>")
        }
        out.appendText("</feature></target>")
        return out
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
