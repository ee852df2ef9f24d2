// The VM-exit interruption-information field (4404H) and the IDT-vectoring information field
// (4408H) share one format (SDM 25.9.2, Table 25-19 "Format of the VM-Exit
// Interruption-Information Field"; 25.9.3, Table 25-20 "Format of the IDT-Vectoring
// Information Field").

public struct InterruptionInformation: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bits 7:0: the vector of the interrupt or exception.
    public var vector: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// Bits 10:8 (never 1 or 7 here: SDM Table 25-19 "not used").
    public var type: InterruptionType { InterruptionType(rawValue: UInt8((rawValue >> 8) & 7))! }
    /// Bit 11: the error-code field (4406H or 440AH) is valid.
    public var hasErrorCode: Bool { rawValue & (1 << 11) != 0 }
    /// Bit 12 (VM-exit interruption information only): NMI unblocking due to IRET.
    public var isNMIUnblockingDueToIRET: Bool { rawValue & (1 << 12) != 0 }
    /// Bit 31: the field is valid.
    public var isValid: Bool { rawValue & (1 << 31) != 0 }

    /// A valid field for an event (SDM Table 25-19): bits 11:0 and 31 as the VM-entry
    /// interruption-information field packs them (Table 25-17). Bit 12 stays clear: nothing
    /// that builds one here reports NMI unblocking due to IRET.
    public init(vector: UInt8, type: InterruptionType, hasErrorCode: Bool = false) {
        rawValue = VMEntryInterruptionInformation(vector: vector, type: type, deliverErrorCode: hasErrorCode).rawValue
    }

    /// The same event as the VM-entry interruption-information field encodes it (SDM 25.8.3,
    /// Table 25-17), for re-injecting an event whose delivery a VM exit interrupted (SDM
    /// 28.2.4): vector, type and deliver-error-code carry over; bit 12 does not exist there.
    public var asVMEntryInterruptionInformation: UInt32 { rawValue & 0x8000_0FFF }
}
