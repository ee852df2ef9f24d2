// Small pieces the rule tables share: the reserved-bit check of a control field against its
// capability MSR, the VMX-fixed-bit check of CR0/CR4, the reserved-bit check of an MSR value,
// and the check of a 4-KByte aligned structure address.

extension EntryRule {
    /// SDM 27.2.1: "Reserved bits in the <field> must be set properly": a bit the capability
    /// MSR's allowed 0-settings force to 1 must be 1, a bit its allowed 1-settings forbid must
    /// be 0 (SDM A.3-A.5). One violation per kind.
    static func reservedControlViolations<C: VMXControlField>(
        _ value: C, _ settings: AllowedSettings<C>, field: VMCSField, msr: String,
        into violations: inout [EntryViolation]
    ) {
        let missing = settings.mustBeOne.subtracting(value)
        let forbidden = value.subtracting(settings.mayBeOne)
        if !missing.isEmpty {
            violations.record(
                field: field, value: value.mask,
                expected: missing.names.joined(separator: ", ")
                    + String(text: " set (\(msr) allowed 0-settings \(hex: settings.mustBeOne.mask))"))
        }
        if !forbidden.isEmpty {
            violations.record(
                field: field, value: value.mask,
                expected: forbidden.names.joined(separator: ", ")
                    + String(text: " clear (\(msr) allowed 1-settings \(hex: settings.mayBeOne.mask))"))
        }
    }

    /// A control register against its VMX-fixed bits (SDM A.7, A.8), ignoring the bits in
    /// `exempt`: one violation naming the lowest offending bit.
    static func fixedBitViolation<Names: NamedBits>(
        _ value: UInt64, _ fixed: FixedBits, exempt: UInt64 = 0, register: String, names: Names.Type,
        field: VMCSField, into violations: inout [EntryViolation]
    ) {
        var result = fixed.violations(of: value)
        result.clearButMustBeOne &= ~exempt
        result.setButMustBeZero &= ~exempt
        if let message = result.firstMessage(register: register, names: names) {
            violations.record(field: field, value: value, expected: message)
        }
    }

    /// A register value against the bits the processor defines for it: one violation naming
    /// the reserved bits that are set.
    static func reservedBitsViolation(
        _ value: UInt64, valid: UInt64, field: VMCSField,
        into violations: inout [EntryViolation]
    ) {
        let reserved = value & ~valid
        if reserved != 0 {
            violations.record(
                field: field, value: value, expected: String(text: "reserved bits \(hex: reserved) clear"))
        }
    }

    /// A rule on a 4-KByte aligned structure address used when `applies` holds: "bits 11:0 of
    /// the address must be 0; the address must not set any bits beyond the processor's
    /// physical-address width".
    static func pageAddress(
        _ identifier: String, _ section: String, _ name: String, field: VMCSField,
        applies: @escaping @Sendable (EntryCheckContext) -> Bool,
        value: @escaping @Sendable (EntryCheckContext) -> UInt64
    ) -> EntryRule {
        EntryRule(identifier, section, .controls, name) { c, v in
            guard applies(c) else { return }
            let address = value(c)
            if let problem = c.pageAddressProblem(address) {
                v.record(field: field, value: address, expected: problem)
            }
        }
    }

    /// The name of the capability MSR that reports a 32-bit control field's allowed settings:
    /// the TRUE one when IA32_VMX_BASIC[55] is 1 (SDM A.2).
    static func controlsMSRName(_ plain: String, _ trueName: String, _ c: EntryCheckContext) -> String {
        c.capabilities.hasTrueControls ? trueName : plain
    }
}
