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
    /// The enabled processors' distinct APIC IDs, in table order, the BSP's included.
    public var listed: [UInt32] = []
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
}

extension MADTProcessors {
    public init(_ processors: [ACPIMADT.LocalAPIC], bootstrapAPICID: UInt32, x2APIC: Bool) {
        self.init()
        for processor in processors where processor.isEnabled {
            let id = processor.apicID
            if listed.contains(id) {
                if !duplicates.contains(id) { duplicates.append(id) }
                continue
            }
            if id == bootstrapAPICID {
                listsBootstrapProcessor = true
                listed.append(id)
                continue
            }
            if x2APIC ? id == Self.x2APICBroadcast : id >= Self.xAPICBroadcast {
                if !unaddressable.contains(id) { unaddressable.append(id) }
                continue
            }
            listed.append(id)
            applicationProcessors.append(id)
        }
    }
}
