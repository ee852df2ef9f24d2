// Which of the processors the MADT lists the kernel may start (ACPI 6.5 5.2.12.2 and
// 5.2.12.12; SDM Vol. 3A 9.4 "Multiple-Processor (MP) Initialization"). The table comes from
// firmware and is trusted no more than any outside input: an entry that is not enabled is
// skipped; an APIC ID listed twice is started once (INIT to a processor already running
// kernel code would reset it); an APIC ID that an IPI cannot name alone - the broadcast
// destination (FFH in xAPIC mode, FFFFFFFFH in x2APIC mode, SDM Vol. 3A 12.6.2.1 and 12.12.9)
// or an x2APIC ID above FEH while the local APIC is in xAPIC mode (its ICR holds 8 bits of
// destination) - is left out, since INIT to it would reach every processor or the wrong one.
// APIC IDs nobody answers are found by the start-up itself (a bounded wait).
import VMX

public struct MADTProcessors: Equatable, Sendable {
    /// The APs to start, in table order.
    public var applicationProcessors: [UInt32] = []
    /// APIC IDs listed more than once (each named once).
    public var duplicates: [UInt32] = []
    /// APIC IDs an INIT or SIPI cannot address alone.
    public var unaddressable: [UInt32] = []
    /// Whether the MADT lists the bootstrap processor itself (it should).
    public var listsBootstrapProcessor = false

    public static let xAPICBroadcast: UInt32 = 0xFF
    public static let x2APICBroadcast: UInt32 = .max

    /// The distinct processors the table lists as enabled, the BSP counted even where the
    /// table leaves it out.
    public var count: Int { applicationProcessors.count + unaddressable.count + 1 }
}

extension MADTProcessors {
    public init(_ processors: [ACPIMADT.LocalAPIC], bootstrapAPICID: UInt32, x2APIC: Bool) {
        self.init()
        for processor in processors where processor.isEnabled {
            let id = processor.apicID
            let seen =
                id == bootstrapAPICID
                ? listsBootstrapProcessor
                : applicationProcessors.contains(id) || unaddressable.contains(id)
            if seen {
                if !duplicates.contains(id) { duplicates.append(id) }
            } else if id == bootstrapAPICID {
                listsBootstrapProcessor = true
            } else if x2APIC ? id == Self.x2APICBroadcast : id >= Self.xAPICBroadcast {
                unaddressable.append(id)
            } else {
                applicationProcessors.append(id)
            }
        }
    }
}
