// What can be wrong with the firmware's ACPI tables (ACPI 6.5, chapter 5.2, "ACPI System
// Description Tables"). Each case names the table (its signature) and the problem, so a
// refusal says which table of which firmware is broken; none is fatal to anything but the
// use of that table.
import VMX

/// A table's 4-byte signature ("FACP", "APIC", ...), as a little-endian number.
public struct ACPISignature: Equatable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From four ASCII characters.
    public init(_ text: StaticString) {
        var value: UInt32 = 0
        let bytes = text.utf8Start
        for index in 0..<min(text.utf8CodeUnitCount, 4) { value |= UInt32(bytes[index]) << (8 * UInt32(index)) }
        rawValue = value
    }

    /// Root System Description Table (5.2.7).
    public static let rsdt = ACPISignature("RSDT")
    /// Extended System Description Table (5.2.8).
    public static let xsdt = ACPISignature("XSDT")
    /// Fixed ACPI Description Table (5.2.9): "FACP".
    public static let fadt = ACPISignature("FACP")
    /// Differentiated System Description Table (5.2.11.1).
    public static let dsdt = ACPISignature("DSDT")
    /// Multiple APIC Description Table (5.2.12): "APIC".
    public static let madt = ACPISignature("APIC")

    /// Appends the four characters, made harmless (they come from the firmware).
    public func describe(into text: inout LogText) {
        withUnsafeBytes(of: rawValue.littleEndian) { text.appendInterpolation(guestBytes: $0) }
    }
}

/// How a MADT entry is wrong.
public enum MADTEntryProblem: Equatable, Sendable {
    /// Length below the two bytes of type and length: the walk could not advance.
    case lengthBelowHeader
    /// The entry runs past the table's end.
    case beyondTable
    /// The entry is shorter than its type's structure.
    case shorterThanType
}

public enum ACPIError: Error, Equatable {
    /// No "RSD PTR " with a valid checksum in the EBDA's first KiB or E0000H-FFFFFH.
    case rsdpNotFound
    /// An RSDP whose first 20 bytes do not sum to zero.
    case rsdpBadChecksum(address: UInt64)
    /// An ACPI 2.0+ RSDP whose Length bytes do not sum to zero.
    case rsdpBadExtendedChecksum(address: UInt64)
    /// An ACPI 2.0+ RSDP whose Length is below 36 or absurd.
    case rsdpBadLength(address: UInt64, length: UInt64)
    /// The RSDT/XSDT lists no table with this signature.
    case tableNotFound(ACPISignature)
    /// A table pointer that is zero, or a table that wraps around the address space.
    case tableBadAddress(ACPISignature, address: UInt64)
    /// A pointer to a table leads to a table with another signature.
    case tableWrongSignature(ACPISignature, address: UInt64, found: ACPISignature)
    /// A table's Length is below its structure's size or above `ACPITable.maximumLength`.
    case tableBadLength(ACPISignature, address: UInt64, length: UInt64)
    /// A table whose bytes do not sum to zero.
    case tableBadChecksum(ACPISignature, address: UInt64, sum: UInt8)
    /// The DSDT defines no \_S5 object.
    case noS5(dsdtAddress: UInt64)
    /// The \_S5 package at this offset in the DSDT cannot be decoded.
    case badS5(dsdtAddress: UInt64, offset: UInt64)
    /// A MADT interrupt controller structure at this offset is malformed.
    case badMADTEntry(address: UInt64, offset: UInt64, type: UInt8, length: UInt8, problem: MADTEntryProblem)

    /// Appends the reason (no line end).
    public func describe(into text: inout LogText) {
        switch self {
        case .rsdpNotFound:
            text.appendLiteral("ACPI: no RSDP (\"RSD PTR \" with a valid checksum) in the EBDA or E0000H-FFFFFH")
        case .rsdpBadChecksum(let address):
            text.append("ACPI: the RSDP at \(hex: address) has a bad checksum")
        case .rsdpBadExtendedChecksum(let address):
            text.append("ACPI: the RSDP at \(hex: address) has a bad extended checksum")
        case .rsdpBadLength(let address, let length):
            text.append("ACPI: the RSDP at \(hex: address) has a bad length \(length)")
        case .tableNotFound(let signature):
            text.appendLiteral("ACPI: no ")
            signature.describe(into: &text)
            text.appendLiteral(" table in the RSDT/XSDT")
        case .tableBadAddress(let signature, let address):
            appendTable(signature, address, into: &text)
            text.appendLiteral(": bad address")
        case .tableWrongSignature(let signature, let address, let found):
            appendTable(signature, address, into: &text)
            text.appendLiteral(": the signature there is \"")
            found.describe(into: &text)
            text.appendLiteral("\"")
        case .tableBadLength(let signature, let address, let length):
            appendTable(signature, address, into: &text)
            text.append(": bad length \(length)")
        case .tableBadChecksum(let signature, let address, let sum):
            appendTable(signature, address, into: &text)
            text.append(": bad checksum (the bytes sum to \(hex: sum), not 0)")
        case .noS5(let dsdtAddress):
            appendTable(.dsdt, dsdtAddress, into: &text)
            text.appendLiteral(": no \\_S5 object (soft-off sleep type)")
        case .badS5(let dsdtAddress, let offset):
            appendTable(.dsdt, dsdtAddress, into: &text)
            text.append(": malformed \\_S5 package at offset \(hex: offset)")
        case .badMADTEntry(let address, let offset, let type, let length, let problem):
            appendTable(.madt, address, into: &text)
            text.append(": entry at offset \(hex: offset) (type \(type), length \(length)) ")
            switch problem {
            case .lengthBelowHeader: text.appendLiteral("is shorter than 2 bytes")
            case .beyondTable: text.appendLiteral("runs past the table's end")
            case .shorterThanType: text.appendLiteral("is shorter than its type's structure")
            }
        }
    }

    private func appendTable(_ signature: ACPISignature, _ address: UInt64, into text: inout LogText) {
        text.appendLiteral("ACPI: the ")
        signature.describe(into: &text)
        text.append(" table at \(hex: address)")
    }
}
