// The soft-off sleep type from the DSDT's \_S5 object (ACPI 6.5, 7.4.2 "\_Sx (System States)":
// a package whose first two integers are the SLP_TYP values for PM1a_CNT and PM1b_CNT; 4.8.3.2.1
// "PM1 Control Registers"). The AML is not interpreted: the definition
// `NameOp "_S5_" PackageOp PkgLength NumElements Element...` (20.2.5.1 "Namespace Modifier
// Objects Encoding", 20.2.5.4 "Expression Opcodes Encoding", 20.2.4 "Package Length Encoding",
// 20.2.3 "Data Objects Encoding") is found by its bytes, with an optional root prefix '\'.
import VMX

/// SLP_TYPa and SLP_TYPb: what to write to PM1a_CNT and PM1b_CNT bits 12:10 with SLP_EN.
public struct ACPISleepType: Equatable, Sendable {
    public var slpTypA: UInt8
    public var slpTypB: UInt8
    public init(slpTypA: UInt8, slpTypB: UInt8) {
        self.slpTypA = slpTypA
        self.slpTypB = slpTypB
    }
}

public enum ACPISleepStates {
    // MARK: AML encodings (chapter 20)

    /// NameOp.
    public static let nameOp: UInt64 = 0x08
    /// RootChar '\'.
    public static let rootChar: UInt64 = 0x5C
    /// The NameSeg "_S5_" as a little-endian 32-bit number.
    public static let s5NameSeg: UInt64 = 0x5F35_535F
    /// The NameSeg's first character '_', checked before reading four bytes.
    static let underscore: UInt64 = 0x5F
    /// PackageOp.
    public static let packageOp: UInt64 = 0x12
    /// ZeroOp, OneOp, OnesOp (constant objects, 20.2.3).
    public static let zeroOp: UInt64 = 0x00
    public static let oneOp: UInt64 = 0x01
    public static let onesOp: UInt64 = 0xFF
    /// BytePrefix, WordPrefix, DWordPrefix, QWordPrefix (computational data, 20.2.3).
    public static let bytePrefix: UInt64 = 0x0A
    public static let wordPrefix: UInt64 = 0x0B
    public static let dwordPrefix: UInt64 = 0x0C
    public static let qwordPrefix: UInt64 = 0x0E
    /// PkgLeadByte bits 7:6: how many bytes follow it (0-3).
    static let pkgFollowingBytesShift: UInt64 = 6
    /// With no following bytes, bits 5:0 are the length; otherwise bits 3:0 are its low nibble
    /// and bits 5:4 must be zero.
    static let pkgShortLengthMask: UInt64 = 0x3F
    static let pkgLowNibbleMask: UInt64 = 0x0F
    static let pkgReservedBits: UInt64 = 0x30
    /// SLP_TYP is a 3-bit field (PM1_CNT bits 12:10).
    public static let slpTypMaximum: UInt64 = 7
    /// A one-element \_S5 (ACPI 1.0 style) holds SLP_TYPa in bits 7:0 and SLP_TYPb in bits 15:8.
    static let oneElementShift: UInt64 = 8
    static let byteMask: UInt64 = 0xFF

    /// Reads and checks the DSDT at `address`, then finds \_S5 in it.
    public static func softOff<P: Processor>(dsdtAddress address: UInt64, cpu: P) throws(ACPIError) -> ACPISleepType {
        try softOff(dsdt: try ACPITable.validate(at: address, signature: .dsdt, cpu: cpu), cpu: cpu)
    }

    /// The \_S5 sleep type of the checked DSDT `dsdt`.
    public static func softOff<P: Processor>(dsdt: ACPITable, cpu: P) throws(ACPIError) -> ACPISleepType {
        let bytes = ImageBytes(cpu: cpu, base: dsdt.address)
        let end = dsdt.length
        var offset = ACPITable.headerSize + 1  // room for NameOp before the name
        while offset + 4 <= end {
            defer { offset += 1 }
            guard bytes.u8(offset) == underscore, bytes.u32(offset) == s5NameSeg else { continue }
            let before = bytes.u8(offset - 1)
            let isDefinition =
                before == nameOp
                || (before == rootChar && offset >= ACPITable.headerSize + 2 && bytes.u8(offset - 2) == nameOp)
            guard isDefinition else { continue }
            return try package(at: offset + 4, end: end, bytes: bytes, dsdt: dsdt)
        }
        throw .noS5(dsdtAddress: dsdt.address)
    }

    /// Decodes `PackageOp PkgLength NumElements Element Element` at `start`.
    static func package<P: Processor>(
        at start: UInt64, end tableEnd: UInt64, bytes: ImageBytes<P>,
        dsdt: ACPITable
    ) throws(ACPIError) -> ACPISleepType {
        let bad = ACPIError.badS5(dsdtAddress: dsdt.address, offset: start)
        guard start + 2 <= tableEnd, bytes.u8(start) == packageOp else { throw bad }
        // PkgLength counts from its own first byte.
        let lengthStart = start + 1
        let lead = bytes.u8(lengthStart)
        let following = lead >> pkgFollowingBytesShift
        var length: UInt64
        if following == 0 {
            length = lead & pkgShortLengthMask
        } else {
            guard lead & pkgReservedBits == 0 else { throw bad }
            length = lead & pkgLowNibbleMask
            for index in 0..<following {
                guard lengthStart + 1 + index < tableEnd else { throw bad }
                length |= bytes.u8(lengthStart + 1 + index) << (4 + 8 * index)
            }
        }
        let packageEnd = lengthStart + length
        var cursor = lengthStart + 1 + following
        guard packageEnd <= tableEnd, cursor < packageEnd else { throw bad }
        let count = bytes.u8(cursor)
        cursor += 1
        guard count >= 1 else { throw bad }
        let first = try integer(at: &cursor, end: packageEnd, bytes: bytes, bad: bad)
        if count == 1 {
            let a = first & byteMask, b = (first >> oneElementShift) & byteMask
            guard a <= slpTypMaximum, b <= slpTypMaximum else { throw bad }
            return ACPISleepType(slpTypA: UInt8(a), slpTypB: UInt8(b))
        }
        let second = try integer(at: &cursor, end: packageEnd, bytes: bytes, bad: bad)
        guard first <= slpTypMaximum, second <= slpTypMaximum else { throw bad }
        return ACPISleepType(slpTypA: UInt8(first), slpTypB: UInt8(second))
    }

    /// One integer element: ZeroOp, OneOp, OnesOp or a Byte/Word/DWord/QWord constant.
    static func integer<P: Processor>(
        at cursor: inout UInt64, end: UInt64, bytes: ImageBytes<P>,
        bad: ACPIError
    ) throws(ACPIError) -> UInt64 {
        guard cursor < end else { throw bad }
        let opcode = bytes.u8(cursor)
        cursor += 1
        let size: UInt64
        switch opcode {
        case zeroOp: return 0
        case oneOp: return 1
        case onesOp: return UInt64.max
        case bytePrefix: size = 1
        case wordPrefix: size = 2
        case dwordPrefix: size = 4
        case qwordPrefix: size = 8
        default: throw bad
        }
        guard cursor + size <= end else { throw bad }
        var value: UInt64 = 0
        for index in 0..<size { value |= bytes.u8(cursor + index) << (8 * index) }
        cursor += size
        return value
    }
}
