// The common header of every ACPI description table and its checks (ACPI 6.5, 5.2.6,
// "System Description Table Header"): signature, length, checksum over the whole table.
import VMX

public struct ACPITable: Equatable, Sendable {
    /// Signature (4 bytes).
    public static let signatureOffset: UInt64 = 0
    /// Length of the whole table, header included (4 bytes).
    public static let lengthOffset: UInt64 = 4
    /// Revision (1 byte).
    public static let revisionOffset: UInt64 = 8
    /// The header's size; the table's own fields follow.
    public static let headerSize: UInt64 = 36
    /// The longest table this code accepts: a hostile or broken Length cannot make it read
    /// (or loop over) more than this (the DSDTs of large servers are a few hundred KiB).
    public static let maximumLength: UInt64 = 1 << 20

    public var signature: ACPISignature
    public var address: UInt64
    public var length: UInt64
    public var revision: UInt8

    /// Reads and checks the table at `address`, which must have `signature` and be at least
    /// `minimumLength` bytes long.
    public static func validate<P: Processor>(
        at address: UInt64, signature: ACPISignature,
        minimumLength: UInt64 = headerSize,
        cpu: P
    ) throws(ACPIError) -> ACPITable {
        guard address != 0, address <= UInt64.max - maximumLength else {
            throw .tableBadAddress(signature, address: address)
        }
        let bytes = ImageBytes(cpu: cpu, base: address)
        let found = ACPISignature(rawValue: UInt32(truncatingIfNeeded: bytes.u32(signatureOffset)))
        guard found == signature else { throw .tableWrongSignature(signature, address: address, found: found) }
        let length = bytes.u32(lengthOffset)
        guard length >= max(minimumLength, headerSize), length <= maximumLength else {
            throw .tableBadLength(signature, address: address, length: length)
        }
        let sum = checksum(at: address, count: length, cpu: cpu)
        guard sum == 0 else { throw .tableBadChecksum(signature, address: address, sum: sum) }
        return ACPITable(
            signature: signature, address: address, length: length,
            revision: UInt8(truncatingIfNeeded: bytes.u8(revisionOffset)))
    }

    /// The signature at `address`, without any check (to pick a table from the RSDT's list).
    static func signature<P: Processor>(at address: UInt64, cpu: P) -> ACPISignature {
        ACPISignature(rawValue: UInt32(truncatingIfNeeded: ImageBytes(cpu: cpu, base: address).u32(signatureOffset)))
    }

    /// The 8-bit sum of `count` bytes (ACPI checksums make it zero); 32-bit reads where aligned.
    static func checksum<P: Processor>(at address: UInt64, count: UInt64, cpu: P) -> UInt8 {
        var sum: UInt8 = 0
        var offset: UInt64 = 0
        while offset < count {
            let here = address &+ offset
            if here & 3 == 0 && count - offset >= 4 {
                let word = cpu.readPhysical32(here)
                sum =
                    sum &+ UInt8(truncatingIfNeeded: word) &+ UInt8(truncatingIfNeeded: word >> 8)
                    &+ UInt8(truncatingIfNeeded: word >> 16) &+ UInt8(truncatingIfNeeded: word >> 24)
                offset += 4
            } else {
                sum = sum &+ readByte(here, cpu: cpu)
                offset += 1
            }
        }
        return sum
    }
}
