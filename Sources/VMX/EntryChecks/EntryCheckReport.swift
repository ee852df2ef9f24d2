// Running the rules: every violation in rule order, and the architectural outcome of the
// first one. The SDM lets a processor perform the control and host-state checks in any order
// (SDM 27.2); this runs them in the order the SDM lists them - controls, host state, guest
// state, MSR loading - which is also Bochs' order (docs/ENTRY-CHECKS.md).

/// One failed rule and how it failed.
public struct EntryCheckFailure: Sendable {
    public let rule: EntryRule
    public let violation: EntryViolation

    /// The exit qualification a failure of this rule reports (guest state, MSR loading).
    public var qualification: UInt64 { violation.qualification ?? rule.qualification }

    /// What VM entry does when this is the first failure.
    public var outcome: EntryOutcome { rule.ruleClass.outcome(qualification: qualification) }

    /// One line for a log: rule, SDM section, field name and encoding, value, expectation.
    /// "guest.cr0.fixed (SDM 27.3.1.1): Guest CR0 [0x6800] = 0x80000011, expected CR0.NE
    /// must be 1 (IA32_VMX_CR0_FIXED0)".
    public var description: String {
        var text = LogText()
        text.append("\(rule.identifier) (SDM \(rule.section)): ")
        text.append("\(violation.field.name ?? "field") [\(hex: violation.field.rawValue, digits: 4)]")
        if let address = violation.memoryAddress { text.append(" -> memory at \(hex: address)") }
        text.append(" = \(hex: violation.value), expected ")
        // The expectation is appended as a String: it may be long, and a line is not cut.
        return text.string + violation.expected
    }
}

/// The result of running the VM-entry checks.
public struct EntryCheckReport: Sendable {
    /// Every violation, in rule order (the first one decides the outcome).
    public let failures: [EntryCheckFailure]

    public init(failures: [EntryCheckFailure]) { self.failures = failures }

    /// The first failure, which the processor reports.
    public var firstFailure: EntryCheckFailure? { failures.first }

    /// What VM entry does: success, VMfailValid(7 or 8), or a failed entry with reason 33 or
    /// 34 and its exit qualification.
    public var outcome: EntryOutcome { failures.first?.outcome ?? .success }

    public var succeeds: Bool { failures.isEmpty }
}

/// Runs `rules` (by default every rule of SDM chapter 27, `EntryRules.all`) on the VMCS and
/// processor described by `input`. With `stopAtFirstFailure` it returns as soon as the
/// outcome is known (the kernel's check before every VMLAUNCH).
public func checkVMEntry(
    _ input: EntryCheckInput, rules: [EntryRule] = EntryRules.all,
    stopAtFirstFailure: Bool = false
) -> EntryCheckReport {
    let context = EntryCheckContext(input)
    var failures: [EntryCheckFailure] = []
    var violations: [EntryViolation] = []
    var hasMSRLoadingRules = false
    // By index: binding each rule would retain its strings on every check (the kernel may
    // run this before every VMLAUNCH); only the closure is loaded on the passing path.
    for index in rules.indices {
        switch rules[index].check {
        case .state(let check):
            check(context, &violations)
            if !violations.isEmpty {
                for violation in violations {
                    failures.append(EntryCheckFailure(rule: rules[index], violation: violation))
                }
                violations.removeAll(keepingCapacity: true)
                if stopAtFirstFailure { return EntryCheckReport(failures: failures) }
            }
        case .msrLoadEntry:
            hasMSRLoadingRules = true
        }
    }
    if hasMSRLoadingRules, let listAddress = context.entryMSRLoadListAddress {
        loadMSRs(context, listAddress: listAddress, rules: rules, into: &failures)
    }
    return EntryCheckReport(failures: failures)
}

/// SDM 27.4: entries are processed in order; processing of the first entry that fails stops
/// the loading, and that entry's number is the exit qualification. Every rule the failing
/// entry breaks is reported. The loop never passes the recommended maximum plus one entry
/// (the count rule fails there), so a huge count costs at most 4097 reads.
private func loadMSRs(
    _ context: EntryCheckContext, listAddress: UInt64, rules: [EntryRule],
    into failures: inout [EntryCheckFailure]
) {
    let count = min(context.entryMSRLoadCount & 0xFFFF_FFFF, UInt64(context.capabilities.misc.maxMSRListEntries + 1))
    var number: UInt64 = 1
    while number <= count {
        let address = listAddress &+ (number - 1) &* 16
        let entry = MSRLoadEntry(
            number: UInt32(number), address: address,
            indexAndReserved: context.readPhysical64(address),
            data: context.readPhysical64(address &+ 8))
        var failed = false
        for rule in rules {
            guard case .msrLoadEntry(let check) = rule.check else { continue }
            if var violation = check(context, entry) {
                if violation.qualification == nil { violation.qualification = UInt64(entry.number) }
                if violation.memoryAddress == nil { violation.memoryAddress = entry.address }
                failures.append(EntryCheckFailure(rule: rule, violation: violation))
                failed = true
            }
        }
        if failed { return }
        number += 1
    }
}
