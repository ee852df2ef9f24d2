// SDM 27.4 "Loading MSRs": VM entry processes the entries of the VM-entry MSR-load list in
// order, loading bits 127:64 into the MSR bits 31:0 index as WRMSR would. Processing of an
// entry fails - and VM entry fails with basic exit reason 34, the exit qualification the
// entry's 1-based number - if any of the conditions below holds. The rules are evaluated per
// entry (`EntryRule.Check.msrLoadEntry`); the first failing entry ends the list.

extension EntryRules {
    static let msrLoading: [EntryRule] = [
        EntryRule(
            "msr-load.count.recommended-maximum", "27.4",
            """
            The entry lies within the recommended maximum list size, 512 * (IA32_VMX_MISC[27:25] + 1) (beyond it \
            the SDM leaves behaviour unpredictable; this model fails the entry, as KVM does)
            """
        ) { c, entry in
            let maximum = c.capabilities.misc.maxMSRListEntries
            guard Int(entry.number) > maximum else { return nil }
            return EntryViolation(
                field: .vmEntryMSRLoadCount, value: c.entryMSRLoadCount,
                expected: String(text: "at most \(maximum) entries (IA32_VMX_MISC[27:25])"))
        },
        EntryRule(
            "msr-load.entry.fs-gs-base", "27.4",
            "The entry's MSR is not IA32_FS_BASE (C0000100H) or IA32_GS_BASE (C0000101H)"
        ) { _, entry in
            guard entry.msrIndex == MSR.ia32FSBase.rawValue || entry.msrIndex == MSR.ia32GSBase.rawValue else {
                return nil
            }
            return EntryViolation(
                field: .vmEntryMSRLoadAddress, value: entry.indexAndReserved,
                expected: String(text: "entry \(entry.number): not IA32_FS_BASE or IA32_GS_BASE"))
        },
        EntryRule(
            "msr-load.entry.x2apic", "27.4",
            "The entry's MSR index bits 31:8 are not 000008H (an x2APIC register, 800H-8FFH)"
        ) { _, entry in
            guard entry.msrIndex >> 8 == 0x8 else { return nil }
            return EntryViolation(
                field: .vmEntryMSRLoadAddress, value: entry.indexAndReserved,
                expected: String(text: "entry \(entry.number): not an x2APIC MSR (800H-8FFH)"))
        },
        EntryRule(
            "msr-load.entry.smm-only", "27.4",
            "Outside SMM, the entry's MSR is not one writable only in SMM (IA32_SMM_MONITOR_CTL, 9BH)"
        ) { c, entry in
            guard !c.processorInSMM, entry.msrIndex == 0x9B else { return nil }
            return EntryViolation(
                field: .vmEntryMSRLoadAddress, value: entry.indexAndReserved,
                expected: String(text: "entry \(entry.number): not IA32_SMM_MONITOR_CTL outside SMM"))
        },
        EntryRule("msr-load.entry.reserved", "27.4", "Bits 63:32 of the entry are 0") { _, entry in
            guard entry.indexAndReserved >> 32 != 0 else { return nil }
            return EntryViolation(
                field: .vmEntryMSRLoadAddress, value: entry.indexAndReserved,
                expected: String(text: "entry \(entry.number): bits 63:32 clear"))
        },
        EntryRule(
            "msr-load.entry.wrmsr-faults", "27.4",
            "WRMSR of the entry's value to its MSR at CPL 0 would not raise #GP"
        ) { c, entry in
            guard let faults = c.msrWriteFaults, faults(entry.msrIndex, entry.data) else { return nil }
            return EntryViolation(
                field: .vmEntryMSRLoadAddress, value: entry.data,
                expected: String(text: "entry \(entry.number): a value WRMSR accepts for MSR \(hex: entry.msrIndex)"))
        }
    ]
}
