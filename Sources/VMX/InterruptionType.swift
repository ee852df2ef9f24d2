// Bits 10:8 of the three event fields: the VM-entry interruption-information field (SDM 25.8.3,
// Table 25-17), the VM-exit interruption-information field (25.9.2, Table 25-19) and the
// IDT-vectoring information field (25.9.3, Table 25-20). Types 0 and 2-6 mean the same in
// all three; 1 is reserved (entry) or not used (exit); 7 is "other event" on VM entry and not
// used in the exit fields.

public enum InterruptionType: UInt8, Sendable {
    case externalInterrupt = 0
    /// Reserved in the VM-entry field, not used in the exit fields.
    case reserved = 1
    case nonMaskableInterrupt = 2
    case hardwareException = 3
    case softwareInterrupt = 4
    case privilegedSoftwareException = 5
    case softwareException = 6
    /// VM entry: other event (vector 0: a pending MTF VM exit; reserved without the "monitor
    /// trap flag" control). Not used in the exit fields.
    case otherEvent = 7

    /// The SDM's name of the type, for the VM-entry field; the exit fields never report types
    /// 1 and 7 (SDM Tables 25-19, 25-20: "not used").
    public var name: StaticString {
        switch self {
        case .externalInterrupt: return "external interrupt"
        case .reserved: return "reserved"
        case .nonMaskableInterrupt: return "NMI"
        case .hardwareException: return "hardware exception"
        case .softwareInterrupt: return "software interrupt"
        case .privilegedSoftwareException: return "privileged software exception"
        case .softwareException: return "software exception"
        case .otherEvent: return "other event"
        }
    }

    /// Whether VM entry uses the VM-entry instruction length for the type (SDM 27.2.1.3).
    public var usesInstructionLength: Bool {
        self == .softwareInterrupt || self == .privilegedSoftwareException || self == .softwareException
    }
}
