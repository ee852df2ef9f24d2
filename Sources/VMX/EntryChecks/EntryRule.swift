// One VM-entry check of SDM chapter 27 as data: a stable identifier, the SDM section that
// states it, the class that decides how a failure is reported, and the condition itself.
//
// The SDM reports a failed check in one of four ways, by where the check sits:
//   - VMX controls (27.2.1): VMfailValid with VM-instruction error 7;
//   - host-state area (27.2.2-27.2.4): VMfailValid with VM-instruction error 8;
//   - guest-state area (27.3.1): a VM exit with basic reason 33 and bit 31 set, the exit
//     qualification naming the kind of failure (27.8: 0 by default, 2 PDPTE loading, 3 NMI
//     injection with blocking by STI, 4 VMCS link pointer);
//   - VM-entry MSR loading (27.4): a VM exit with basic reason 34, the exit qualification the
//     1-based index of the entry that failed.

/// Where a check sits in chapter 27, which decides the outcome of a failure.
public enum EntryRuleClass: Equatable, Sendable {
    /// SDM 27.2.1: checks on the VM-execution, VM-exit and VM-entry control fields.
    case controls
    /// SDM 27.2.2-27.2.4: checks on the host-state area.
    case hostState
    /// SDM 27.3.1: checks on the guest-state area.
    case guestState
    /// SDM 27.4: processing of the VM-entry MSR-load list.
    case msrLoading

    /// The architectural outcome of a failure of this class with `qualification` (used by the
    /// guest-state and MSR-loading classes only).
    public func outcome(qualification: UInt64) -> EntryOutcome {
        switch self {
        case .controls: return .vmfailValid(.entryWithInvalidControlFields)
        case .hostState: return .vmfailValid(.entryWithInvalidHostStateFields)
        case .guestState: return .entryFailure(.entryFailureGuestState, qualification: qualification)
        case .msrLoading: return .entryFailure(.entryFailureMSRLoading, qualification: qualification)
        }
    }

    /// "controls", "host state", "guest state" or "MSR loading".
    public var name: String {
        switch self {
        case .controls: return "controls"
        case .hostState: return "host state"
        case .guestState: return "guest state"
        case .msrLoading: return "MSR loading"
        }
    }
}

/// The exit qualification of a VM-entry failure due to invalid guest state (SDM 27.8).
public enum EntryFailureQualification {
    /// No further information (the default).
    public static let `default`: UInt64 = 0
    /// The failure was due to a problem loading the PDPTEs (SDM 27.3.1.6).
    public static let pdpteLoading: UInt64 = 2
    /// The failure was due to an attempt to inject an NMI into a guest that is blocking events
    /// through the STI blocking bit of the interruptibility-state field (SDM 27.3.1.5).
    public static let nmiInjectionWithBlockingBySTI: UInt64 = 3
    /// The failure was due to an invalid VMCS link pointer (SDM 27.3.1.5).
    public static let vmcsLinkPointer: UInt64 = 4
}

/// What a VM entry does, as far as the checks of chapter 27 decide it.
public enum EntryOutcome: Equatable, Sendable {
    /// Every check passed: VM entry loads the guest and succeeds.
    case success
    /// The entry failed before loading guest state (error 7 or 8).
    case vmfailValid(VMInstructionError)
    /// The entry failed while or after loading guest state: a VM exit with this basic reason
    /// (33 or 34, reported with bit 31 set) and exit qualification.
    case entryFailure(ExitReason, qualification: UInt64)

    /// One line: "success", "vmfail-valid 7", "entry-failure 33 qual 0" (the words of the
    /// scenario format, docs/SCENARIOS.md, decimal numbers).
    public var summary: String {
        switch self {
        case .success: return "success"
        case .vmfailValid(let error): return String(text: "vmfail-valid \(error.rawValue)")
        case .entryFailure(let reason, let qualification):
            return String(text: "entry-failure \(reason.basicReason) qual \(qualification)")
        }
    }
}

/// One broken condition: the field whose value breaks it, that value, and what the rule
/// expected instead.
public struct EntryViolation: Sendable {
    /// The VMCS field the condition is about (for a condition between fields, the one whose
    /// value the message quotes).
    public var field: VMCSField
    /// The value the field held (for `memoryAddress` violations, the value read from memory).
    public var value: UInt64
    /// What the rule wanted, in a few words, e.g. "bits 11:0 clear (4-KByte aligned)".
    public var expected: String
    /// Set when the offending value lies in memory the VMCS points to (an MSR-load entry, a
    /// PDPTE, the VMCS the link pointer names, the VTPR): its physical address.
    public var memoryAddress: UInt64?
    /// The exit qualification this violation reports, when it differs from the rule's (the
    /// 1-based entry number of an MSR-load failure).
    public var qualification: UInt64?

    public init(
        field: VMCSField, value: UInt64, expected: String,
        memoryAddress: UInt64? = nil, qualification: UInt64? = nil
    ) {
        self.field = field
        self.value = value
        self.expected = expected
        self.memoryAddress = memoryAddress
        self.qualification = qualification
    }
}

extension Array where Element == EntryViolation {
    /// Appends `violation`: one call in each rule, where an inlined `append` would repeat the
    /// array's growth code in every one of them (docs/KERNEL.md, size).
    @inline(never)
    public mutating func record(_ violation: EntryViolation) { append(violation) }

    /// Appends a violation of `field`, which holds `value`, where the rule wanted `expected`.
    @inline(never)
    public mutating func record(field: VMCSField, value: UInt64, expected: String) {
        append(EntryViolation(field: field, value: value, expected: expected))
    }
}

/// One 16-byte entry of the VM-entry MSR-load list (SDM 25.8.2, Table 25-15).
public struct MSRLoadEntry: Equatable, Sendable {
    /// 1-based position in the list: the exit qualification when the entry fails (SDM 27.4).
    public var number: UInt32
    /// Physical address of the entry.
    public var address: UInt64
    /// Bits 63:0: the MSR index in bits 31:0, reserved bits 63:32.
    public var indexAndReserved: UInt64
    /// Bits 127:64: the value to load.
    public var data: UInt64

    public init(number: UInt32, address: UInt64, indexAndReserved: UInt64, data: UInt64) {
        self.number = number
        self.address = address
        self.indexAndReserved = indexAndReserved
        self.data = data
    }

    /// Bits 31:0 of the entry.
    public var msrIndex: UInt32 { UInt32(truncatingIfNeeded: indexAndReserved) }
}

/// One VM-entry check: one readable condition of SDM chapter 27, like one `CC()` in KVM.
public struct EntryRule: Sendable {
    /// How the condition is evaluated.
    public enum Check: Sendable {
        /// A condition on the VMCS (and the memory it points to): appends a violation for each
        /// field that breaks it.
        case state(@Sendable (EntryCheckContext, inout [EntryViolation]) -> Void)
        /// A condition on one entry of the VM-entry MSR-load list, evaluated entry by entry in
        /// list order (SDM 27.4).
        case msrLoadEntry(@Sendable (EntryCheckContext, MSRLoadEntry) -> EntryViolation?)
    }

    /// Stable short name, e.g. "guest.cr0.fixed"; scenario files and tests refer to it.
    public let identifier: String
    /// The condition in words, close to the SDM's.
    public let name: String
    /// The SDM section stating the condition, e.g. "27.2.1.1" (edition 325462-080US).
    public let section: String
    public let ruleClass: EntryRuleClass
    /// The exit qualification of a failure (guest-state class; 0 unless the SDM gives one).
    public let qualification: UInt64
    public let check: Check

    @inline(__always)
    public init(
        _ identifier: String, _ section: String, _ ruleClass: EntryRuleClass,
        _ name: String, qualification: UInt64 = EntryFailureQualification.default,
        check: @escaping @Sendable (EntryCheckContext, inout [EntryViolation]) -> Void
    ) {
        self.identifier = identifier
        self.name = name
        self.section = section
        self.ruleClass = ruleClass
        self.qualification = qualification
        self.check = .state(check)
    }

    @inline(__always)
    public init(
        _ identifier: String, _ section: String, _ name: String,
        msrLoadEntry check: @escaping @Sendable (EntryCheckContext, MSRLoadEntry) -> EntryViolation?
    ) {
        self.identifier = identifier
        self.name = name
        self.section = section
        self.ruleClass = .msrLoading
        self.qualification = 0
        self.check = .msrLoadEntry(check)
    }
}
