// Finding the ACPI tables: the Root System Description Pointer and the RSDT/XSDT it points to
// (ACPI 6.5, 5.2.5, "Root System Description Pointer (RSDP)"; 5.2.5.1, "Finding the RSDP on
// IA-PC Systems"; 5.2.7 RSDT; 5.2.8 XSDT).
import VMX

public struct ACPIRSDP: Equatable, Sendable {
    // MARK: Layout (5.2.5.3, "Root System Description Pointer (RSDP) Structure")

    /// "RSD PTR " as a little-endian 64-bit number.
    public static let signature: UInt64 = 0x2052_5450_2044_5352
    /// Checksum: the first 20 bytes sum to zero.
    public static let checksumLength: UInt64 = 20
    /// Revision: 0 for ACPI 1.0, 2 for ACPI 2.0 and later.
    public static let revisionOffset: UInt64 = 15
    /// RsdtAddress (4 bytes).
    public static let rsdtAddressOffset: UInt64 = 16
    /// Length of the whole structure (4 bytes; revision 2+).
    public static let lengthOffset: UInt64 = 20
    /// XsdtAddress (8 bytes; revision 2+).
    public static let xsdtAddressOffset: UInt64 = 24
    /// The size of a revision 2 RSDP, over which the extended checksum runs.
    public static let extendedLength: UInt64 = 36
    /// The first revision with Length, XsdtAddress and the extended checksum.
    public static let extendedRevision: UInt8 = 2
    /// The longest RSDP accepted (a larger Length is a broken structure).
    public static let maximumLength: UInt64 = 4096

    // MARK: Where to look (5.2.5.1)

    /// The BIOS data area's word holding the EBDA's real-mode segment.
    public static let ebdaSegmentPointer: UInt64 = 0x40E
    /// How much of the EBDA to search: its first KiB.
    public static let ebdaSearchLength: UInt64 = 1024
    /// The BIOS read-only area searched next: E0000H to FFFFFH.
    public static let biosAreaStart: UInt64 = 0xE0000
    public static let biosAreaEnd: UInt64 = 0x100000
    /// The RSDP lies on a 16-byte boundary.
    public static let alignment: UInt64 = 16
    /// A real-mode segment times 16 is its address.
    static let segmentShift: UInt64 = 4

    public var address: UInt64
    public var revision: UInt8
    public var rsdtAddress: UInt32
    /// XsdtAddress (0 before revision 2).
    public var xsdtAddress: UInt64

    /// Searches the EBDA's first KiB, then E0000H-FFFFFH. A signature with a bad checksum is
    /// passed over (the next one may be right); if no valid RSDP is found, the first bad one
    /// is the error.
    public static func find<P: Processor>(cpu: P) throws(ACPIError) -> ACPIRSDP {
        var firstError: ACPIError? = nil
        let ebda = UInt64(ImageBytes(cpu: cpu, base: 0).u16(ebdaSegmentPointer)) << segmentShift
        if ebda != 0 && ebda + ebdaSearchLength <= biosAreaEnd {
            if let rsdp = search(from: ebda, to: ebda + ebdaSearchLength, firstError: &firstError, cpu: cpu) {
                return rsdp
            }
        }
        if let rsdp = search(from: biosAreaStart, to: biosAreaEnd, firstError: &firstError, cpu: cpu) { return rsdp }
        throw firstError ?? .rsdpNotFound
    }

    static func search<P: Processor>(
        from start: UInt64, to end: UInt64, firstError: inout ACPIError?,
        cpu: P
    ) -> ACPIRSDP? {
        var address = start & ~(alignment - 1)
        while address + checksumLength <= end {  // a revision 0 RSDP is 20 bytes
            if cpu.readPhysical64(address) == signature {
                do throws(ACPIError) {
                    return try parse(at: address, cpu: cpu)
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            address += alignment
        }
        return nil
    }

    /// Checks the RSDP at `address` (found by `find`, or given by a boot loader).
    public static func parse<P: Processor>(at address: UInt64, cpu: P) throws(ACPIError) -> ACPIRSDP {
        let bytes = ImageBytes(cpu: cpu, base: address)
        guard bytes.u64(0) == signature else { throw .rsdpNotFound }
        guard ACPITable.checksum(at: address, count: checksumLength, cpu: cpu) == 0 else {
            throw .rsdpBadChecksum(address: address)
        }
        let revision = UInt8(truncatingIfNeeded: bytes.u8(revisionOffset))
        var xsdt: UInt64 = 0
        if revision >= extendedRevision {
            let length = bytes.u32(lengthOffset)
            guard length >= extendedLength, length <= maximumLength else {
                throw .rsdpBadLength(address: address, length: length)
            }
            guard ACPITable.checksum(at: address, count: length, cpu: cpu) == 0 else {
                throw .rsdpBadExtendedChecksum(address: address)
            }
            xsdt = bytes.u64(xsdtAddressOffset)
        }
        return ACPIRSDP(
            address: address, revision: revision,
            rsdtAddress: UInt32(truncatingIfNeeded: bytes.u32(rsdtAddressOffset)), xsdtAddress: xsdt)
    }
}

/// The RSDT or XSDT: the list of the other tables' addresses.
public struct ACPIRootTable: Equatable, Sendable {
    /// An RSDT entry is a 32-bit address, an XSDT entry a 64-bit one.
    public static let rsdtEntrySize: UInt64 = 4
    public static let xsdtEntrySize: UInt64 = 8

    public var table: ACPITable
    public var entries: [UInt64]
    public var isExtended: Bool { table.signature == .xsdt }

    /// The XSDT where the RSDP has one (revision 2+ and XsdtAddress nonzero), else the RSDT.
    public static func read<P: Processor>(rsdp: ACPIRSDP, cpu: P) throws(ACPIError) -> ACPIRootTable {
        let extended = rsdp.revision >= ACPIRSDP.extendedRevision && rsdp.xsdtAddress != 0
        let signature: ACPISignature = extended ? .xsdt : .rsdt
        let table = try ACPITable.validate(
            at: extended ? rsdp.xsdtAddress : UInt64(rsdp.rsdtAddress),
            signature: signature, cpu: cpu)
        let entrySize = extended ? xsdtEntrySize : rsdtEntrySize
        let bytes = ImageBytes(cpu: cpu, base: table.address)
        var entries: [UInt64] = []
        var offset = ACPITable.headerSize
        while offset + entrySize <= table.length {
            entries.append(extended ? bytes.u64(offset) : bytes.u32(offset))
            offset += entrySize
        }
        return ACPIRootTable(table: table, entries: entries)
    }

    /// The first listed table with `signature`, checked; tables with other signatures are not
    /// read beyond their signature, so a broken unrelated table does not matter.
    public func find<P: Processor>(
        _ signature: ACPISignature, minimumLength: UInt64 = ACPITable.headerSize,
        cpu: P
    ) throws(ACPIError) -> ACPITable {
        for address in entries where address != 0 && ACPITable.signature(at: address, cpu: cpu) == signature {
            return try ACPITable.validate(at: address, signature: signature, minimumLength: minimumLength, cpu: cpu)
        }
        throw .tableNotFound(signature)
    }
}
