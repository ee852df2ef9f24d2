// The Fixed ACPI Description Table, "FACP" (ACPI 6.5, 5.2.9, table 5.9 "FADT Format"): where
// the PM1 control registers are (SLP_TYP and SLP_EN for soft-off), the reset register and the
// DSDT. The 64-bit X_ fields (ACPI 2.0+) are used where the table is long enough to hold them
// and they are nonzero.
import VMX

/// A Generic Address Structure (5.2.3.2): a register in some address space.
public struct ACPIGenericAddress: Equatable, Sendable {
    /// Address Space ID (1 byte).
    public static let addressSpaceOffset: UInt64 = 0
    /// Register Bit Width (1 byte).
    public static let bitWidthOffset: UInt64 = 1
    /// Register Bit Offset (1 byte).
    public static let bitOffsetOffset: UInt64 = 2
    /// Access Size (1 byte: 0 undefined, 1 byte, 2 word, 3 dword, 4 qword).
    public static let accessSizeOffset: UInt64 = 3
    /// Address (8 bytes).
    public static let addressOffset: UInt64 = 4
    /// The structure's size.
    public static let size: UInt64 = 12

    /// Address Space ID 0: system memory.
    public static let systemMemory: UInt8 = 0
    /// Address Space ID 1: system I/O (ports).
    public static let systemIO: UInt8 = 1

    public var addressSpace: UInt8
    public var bitWidth: UInt8
    public var bitOffset: UInt8
    public var accessSize: UInt8
    public var address: UInt64

    public init(addressSpace: UInt8, bitWidth: UInt8, bitOffset: UInt8, accessSize: UInt8, address: UInt64) {
        self.addressSpace = addressSpace
        self.bitWidth = bitWidth
        self.bitOffset = bitOffset
        self.accessSize = accessSize
        self.address = address
    }

    static func read<P: Processor>(_ bytes: ImageBytes<P>, at offset: UInt64) -> ACPIGenericAddress {
        ACPIGenericAddress(
            addressSpace: UInt8(truncatingIfNeeded: bytes.u8(offset + addressSpaceOffset)),
            bitWidth: UInt8(truncatingIfNeeded: bytes.u8(offset + bitWidthOffset)),
            bitOffset: UInt8(truncatingIfNeeded: bytes.u8(offset + bitOffsetOffset)),
            accessSize: UInt8(truncatingIfNeeded: bytes.u8(offset + accessSizeOffset)),
            address: bytes.u64(offset + addressOffset))
    }
}

public struct ACPIFADT: Equatable, Sendable {
    // MARK: Offsets (table 5.9)

    /// DSDT: 32-bit physical address of the DSDT.
    public static let dsdtOffset: UInt64 = 40
    /// PM1a_CNT_BLK: system port of the PM1a control register block (4 bytes).
    public static let pm1aControlBlockOffset: UInt64 = 64
    /// PM1b_CNT_BLK: the same for PM1b (0: none).
    public static let pm1bControlBlockOffset: UInt64 = 68
    /// PM1_CNT_LEN: bytes decoded by PM1a_CNT_BLK and PM1b_CNT_BLK (1 byte).
    public static let pm1ControlLengthOffset: UInt64 = 89
    /// Flags (4 bytes).
    public static let flagsOffset: UInt64 = 112
    /// RESET_REG: a Generic Address Structure.
    public static let resetRegisterOffset: UInt64 = 116
    /// RESET_VALUE: the value to write to RESET_REG (1 byte).
    public static let resetValueOffset: UInt64 = 128
    /// X_DSDT: 64-bit physical address of the DSDT.
    public static let xDSDTOffset: UInt64 = 140
    /// X_PM1a_CNT_BLK and X_PM1b_CNT_BLK: Generic Address Structures.
    public static let xPM1aControlBlockOffset: UInt64 = 172
    public static let xPM1bControlBlockOffset: UInt64 = 184
    /// The ACPI 1.0 FADT's size: everything up to and including Flags; shorter is malformed.
    public static let minimumLength: UInt64 = 116
    /// Flags bit 10, RESET_REG_SUP: the reset register is supported.
    public static let resetRegisterSupported: UInt32 = 1 << 10
    /// Bits per byte, for a PM1 block's width from PM1_CNT_LEN.
    static let bitsPerByte: UInt8 = 8

    public var table: ACPITable
    /// The PM1a control register (nil when zero: hardware-reduced ACPI has none).
    public var pm1aControl: ACPIGenericAddress?
    /// The PM1b control register (nil: none).
    public var pm1bControl: ACPIGenericAddress?
    /// The reset register, when the table holds one (length 129+), flags it as supported and it
    /// is nonzero.
    public var resetRegister: ACPIGenericAddress?
    public var resetValue: UInt8
    /// The DSDT's address: X_DSDT where present and nonzero, else DSDT.
    public var dsdtAddress: UInt64
    public var flags: UInt32

    /// Reads the FADT listed in the root table.
    public static func read<P: Processor>(root: ACPIRootTable, cpu: P) throws(ACPIError) -> ACPIFADT {
        try parse(try root.find(.fadt, minimumLength: minimumLength, cpu: cpu), cpu: cpu)
    }

    /// Reads the fields of the checked FADT `table`.
    public static func parse<P: Processor>(_ table: ACPITable, cpu: P) throws(ACPIError) -> ACPIFADT {
        guard table.signature == .fadt, table.length >= minimumLength else {
            throw .tableBadLength(.fadt, address: table.address, length: table.length)
        }
        let bytes = ImageBytes(cpu: cpu, base: table.address)
        let has = { (offset: UInt64, size: UInt64) -> Bool in table.length >= offset + size }
        let portWidth = UInt8(truncatingIfNeeded: bytes.u8(pm1ControlLengthOffset)) &* bitsPerByte
        func block(legacy: UInt64, extended: UInt64) -> ACPIGenericAddress? {
            if has(extended, ACPIGenericAddress.size) {
                let gas = ACPIGenericAddress.read(bytes, at: extended)
                if gas.address != 0 { return gas }
            }
            let port = bytes.u32(legacy)
            guard port != 0 else { return nil }
            return ACPIGenericAddress(
                addressSpace: ACPIGenericAddress.systemIO, bitWidth: portWidth, bitOffset: 0,
                accessSize: 0, address: port)
        }
        let flags = UInt32(truncatingIfNeeded: bytes.u32(flagsOffset))
        var reset: ACPIGenericAddress? = nil
        var resetValue: UInt8 = 0
        if has(resetValueOffset, 1) && flags & resetRegisterSupported != 0 {
            let gas = ACPIGenericAddress.read(bytes, at: resetRegisterOffset)
            if gas.address != 0 {
                reset = gas
                resetValue = UInt8(truncatingIfNeeded: bytes.u8(resetValueOffset))
            }
        }
        var dsdt = bytes.u32(dsdtOffset)
        if has(xDSDTOffset, 8) && bytes.u64(xDSDTOffset) != 0 { dsdt = bytes.u64(xDSDTOffset) }
        return ACPIFADT(
            table: table,
            pm1aControl: block(legacy: pm1aControlBlockOffset, extended: xPM1aControlBlockOffset),
            pm1bControl: block(legacy: pm1bControlBlockOffset, extended: xPM1bControlBlockOffset),
            resetRegister: reset, resetValue: resetValue, dsdtAddress: dsdt, flags: flags)
    }
}
