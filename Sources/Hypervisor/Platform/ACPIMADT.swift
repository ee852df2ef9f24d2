// The Multiple APIC Description Table, "APIC" (ACPI 6.5, 5.2.12, table 5.43): the local APIC
// address and the interrupt controller structures after it, of which this reads the
// processors' local APICs (type 0, 5.2.12.2) and x2APICs (type 9, 5.2.12.12), the I/O APICs
// (type 1, 5.2.12.3) and the local APIC address override (type 5, 5.2.12.8). The walk is
// bounded by the table's checked length; an entry shorter than 2 bytes (which would not
// advance it) or running past the end is an error.
import VMX

public struct ACPIMADT: Equatable, Sendable {
    // MARK: Layout

    /// Local Interrupt Controller Address (4 bytes).
    public static let localAPICAddressOffset: UInt64 = 36
    /// Flags (4 bytes; bit 0 PCAT_COMPAT: dual 8259s are present).
    public static let flagsOffset: UInt64 = 40
    /// The first interrupt controller structure.
    public static let entriesOffset: UInt64 = 44
    /// Every structure starts with Type (1 byte) and Length (1 byte).
    public static let entryTypeOffset: UInt64 = 0
    public static let entryLengthOffset: UInt64 = 1
    public static let entryHeaderSize: UInt64 = 2

    /// Type 0, Processor Local APIC (8 bytes): ACPI Processor UID (1 byte), APIC ID (1 byte),
    /// flags (4 bytes).
    public static let typeLocalAPIC: UInt8 = 0
    public static let localAPICLength: UInt64 = 8
    public static let localAPICProcessorUIDOffset: UInt64 = 2
    public static let localAPICIDOffset: UInt64 = 3
    public static let localAPICFlagsOffset: UInt64 = 4
    /// Type 1, I/O APIC (12 bytes): I/O APIC ID (1 byte), address (4), Global System
    /// Interrupt Base (4).
    public static let typeIOAPIC: UInt8 = 1
    public static let ioAPICLength: UInt64 = 12
    public static let ioAPICIDOffset: UInt64 = 2
    public static let ioAPICAddressOffset: UInt64 = 4
    public static let ioAPICGSIBaseOffset: UInt64 = 8
    /// Type 5, Local APIC Address Override (12 bytes): the 64-bit address.
    public static let typeLocalAPICAddressOverride: UInt8 = 5
    public static let localAPICAddressOverrideLength: UInt64 = 12
    public static let localAPICAddressOverrideAddressOffset: UInt64 = 4
    /// Type 9, Processor Local x2APIC (16 bytes): x2APIC ID (4), flags (4), ACPI Processor UID (4).
    public static let typeLocalX2APIC: UInt8 = 9
    public static let localX2APICLength: UInt64 = 16
    public static let localX2APICIDOffset: UInt64 = 4
    public static let localX2APICFlagsOffset: UInt64 = 8
    public static let localX2APICProcessorUIDOffset: UInt64 = 12

    /// Local APIC flags bit 0: Enabled.
    public static let flagEnabled: UInt32 = 1 << 0
    /// Local APIC flags bit 1: Online Capable (may be enabled later, when Enabled is clear).
    public static let flagOnlineCapable: UInt32 = 1 << 1

    /// One processor's local APIC or x2APIC.
    public struct LocalAPIC: Equatable, Sendable {
        public var processorUID: UInt32
        public var apicID: UInt32
        public var flags: UInt32
        public var isX2APIC: Bool
        public var isEnabled: Bool { flags & ACPIMADT.flagEnabled != 0 }
        public var isOnlineCapable: Bool { flags & ACPIMADT.flagOnlineCapable != 0 }
        public init(processorUID: UInt32, apicID: UInt32, flags: UInt32, isX2APIC: Bool) {
            self.processorUID = processorUID
            self.apicID = apicID
            self.flags = flags
            self.isX2APIC = isX2APIC
        }
    }

    /// One I/O APIC.
    public struct IOAPIC: Equatable, Sendable {
        public var id: UInt8
        public var address: UInt32
        public var globalSystemInterruptBase: UInt32
        public init(id: UInt8, address: UInt32, globalSystemInterruptBase: UInt32) {
            self.id = id
            self.address = address
            self.globalSystemInterruptBase = globalSystemInterruptBase
        }
    }

    public var table: ACPITable
    /// The local APIC's physical address (the override's, where there is one).
    public var localAPICAddress: UInt64
    public var flags: UInt32
    public var processors: [LocalAPIC]
    public var ioAPICs: [IOAPIC]

    /// Reads the MADT listed in the root table.
    public static func read<P: Processor>(root: ACPIRootTable, cpu: P) throws(ACPIError) -> ACPIMADT {
        try parse(try root.find(.madt, minimumLength: entriesOffset, cpu: cpu), cpu: cpu)
    }

    /// Walks the checked MADT `table`.
    public static func parse<P: Processor>(_ table: ACPITable, cpu: P) throws(ACPIError) -> ACPIMADT {
        guard table.signature == .madt, table.length >= entriesOffset else {
            throw .tableBadLength(.madt, address: table.address, length: table.length)
        }
        let bytes = ImageBytes(cpu: cpu, base: table.address)
        var madt = ACPIMADT(
            table: table, localAPICAddress: bytes.u32(localAPICAddressOffset),
            flags: UInt32(truncatingIfNeeded: bytes.u32(flagsOffset)), processors: [], ioAPICs: [])
        var offset = entriesOffset
        while offset < table.length {
            let hasHeader = offset + entryHeaderSize <= table.length
            let type = UInt8(truncatingIfNeeded: bytes.u8(offset + entryTypeOffset))
            let length = hasHeader ? UInt8(truncatingIfNeeded: bytes.u8(offset + entryLengthOffset)) : 0
            func bad(_ problem: MADTEntryProblem) -> ACPIError {
                .badMADTEntry(address: table.address, offset: offset, type: type, length: length, problem: problem)
            }
            guard hasHeader else { throw bad(.beyondTable) }
            guard UInt64(length) >= entryHeaderSize else { throw bad(.lengthBelowHeader) }
            guard offset + UInt64(length) <= table.length else { throw bad(.beyondTable) }
            let entry = ImageBytes(cpu: cpu, base: table.address + offset)
            switch type {
            case typeLocalAPIC:
                guard UInt64(length) >= localAPICLength else { throw bad(.shorterThanType) }
                madt.processors.append(
                    LocalAPIC(
                        processorUID: UInt32(entry.u8(localAPICProcessorUIDOffset)),
                        apicID: UInt32(entry.u8(localAPICIDOffset)),
                        flags: UInt32(truncatingIfNeeded: entry.u32(localAPICFlagsOffset)), isX2APIC: false))
            case typeLocalX2APIC:
                guard UInt64(length) >= localX2APICLength else { throw bad(.shorterThanType) }
                madt.processors.append(
                    LocalAPIC(
                        processorUID: UInt32(truncatingIfNeeded: entry.u32(localX2APICProcessorUIDOffset)),
                        apicID: UInt32(truncatingIfNeeded: entry.u32(localX2APICIDOffset)),
                        flags: UInt32(truncatingIfNeeded: entry.u32(localX2APICFlagsOffset)), isX2APIC: true))
            case typeIOAPIC:
                guard UInt64(length) >= ioAPICLength else { throw bad(.shorterThanType) }
                madt.ioAPICs.append(
                    IOAPIC(
                        id: UInt8(truncatingIfNeeded: entry.u8(ioAPICIDOffset)),
                        address: UInt32(truncatingIfNeeded: entry.u32(ioAPICAddressOffset)),
                        globalSystemInterruptBase: UInt32(truncatingIfNeeded: entry.u32(ioAPICGSIBaseOffset))))
            case typeLocalAPICAddressOverride:
                guard UInt64(length) >= localAPICAddressOverrideLength else { throw bad(.shorterThanType) }
                madt.localAPICAddress = entry.u64(localAPICAddressOverrideAddressOffset)
            default:
                break
            }
            offset += UInt64(length)
        }
        return madt
    }
}
