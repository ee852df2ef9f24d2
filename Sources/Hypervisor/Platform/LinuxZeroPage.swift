// boot_params, the "zero page" of the x86 boot protocol: what a 64-bit loader hands the kernel
// in RSI (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"; the layout of struct
// boot_params in arch/x86/include/uapi/asm/bootparam.h; Documentation/arch/x86/zero-page.rst).
// The page is zeroed, the setup header is copied from the image (1F1H up to 202H + the byte at
// 201H) and the loader's fields are filled in: type_of_loader, loadflags, the command line,
// the ramdisk, the E820 map (128 entries in the page, the rest in a SETUP_E820_EXT
// setup_data node) and the ACPI RSDP's address.
import VMX

public struct LinuxZeroPage: Sendable {
    // MARK: Layout of struct boot_params (bootparam.h)

    /// sizeof(struct boot_params).
    public static let size: UInt64 = 4096
    /// acpi_rsdp_addr (8 bytes; protocol 2.14+).
    public static let acpiRSDPAddrOffset: UInt64 = 0x070
    /// ext_ramdisk_image: bits 63:32 of the ramdisk's address.
    public static let extRamdiskImageOffset: UInt64 = 0x0C0
    /// ext_ramdisk_size: bits 63:32 of the ramdisk's size.
    public static let extRamdiskSizeOffset: UInt64 = 0x0C4
    /// ext_cmd_line_ptr: bits 63:32 of the command line's address.
    public static let extCmdLinePtrOffset: UInt64 = 0x0C8
    /// e820_entries: how many entries e820_table holds.
    public static let e820EntriesOffset: UInt64 = 0x1E8
    /// e820_table: struct boot_e820_entry[E820_MAX_ENTRIES_ZEROPAGE].
    public static let e820TableOffset: UInt64 = 0x2D0
    /// E820_MAX_ENTRIES_ZEROPAGE.
    public static let e820TableCapacity = 128
    /// sizeof(struct boot_e820_entry): addr (8), size (8), type (4).
    public static let e820EntrySize: UInt64 = 20
    /// boot_e820_entry.addr, .size and .type.
    public static let e820EntryAddrOffset: UInt64 = 0
    public static let e820EntrySizeOffset: UInt64 = 8
    public static let e820EntryTypeOffset: UInt64 = 16

    // MARK: struct setup_data (bootparam.h)

    /// next (8 bytes), type (4), len (4), then len bytes of data.
    public static let setupDataHeaderSize: UInt64 = 16
    public static let setupDataNextOffset: UInt64 = 0
    public static let setupDataTypeOffset: UInt64 = 8
    public static let setupDataLengthOffset: UInt64 = 12
    /// SETUP_E820_EXT: the data are more boot_e820_entry records.
    public static let setupE820Ext: UInt64 = 1

    /// type_of_loader FFH: a loader without an assigned ID (boot.rst, "type_of_loader").
    public static let undefinedLoaderType: UInt64 = 0xFF
    /// Bits above 4 GiB go to the ext_ fields.
    static let low32: UInt64 = 0xFFFF_FFFF

    // MARK: What the loader chose

    /// Physical address of the zero-terminated command line (0: none).
    public var commandLineAddress: UInt64
    /// Physical address and size of the initial ramdisk (size 0: none).
    public var ramdiskAddress: UInt64
    public var ramdiskSize: UInt64
    /// The guest's memory map (E820Map.build).
    public var e820: [E820Entry]
    /// Physical address of the ACPI RSDP (0: the kernel searches for it itself).
    public var acpiRSDPAddress: UInt64
    /// Where the SETUP_E820_EXT node may go when there are more than 128 entries
    /// (`setupDataSize(e820Count:)` bytes); nil: more than 128 entries is an error.
    public var setupDataAddress: UInt64?

    public init(
        commandLineAddress: UInt64, ramdiskAddress: UInt64 = 0, ramdiskSize: UInt64 = 0,
        e820: [E820Entry], acpiRSDPAddress: UInt64 = 0, setupDataAddress: UInt64? = nil
    ) {
        self.commandLineAddress = commandLineAddress
        self.ramdiskAddress = ramdiskAddress
        self.ramdiskSize = ramdiskSize
        self.e820 = e820
        self.acpiRSDPAddress = acpiRSDPAddress
        self.setupDataAddress = setupDataAddress
    }

    /// The bytes the SETUP_E820_EXT node needs for `count` entries (0 when they fit the page).
    public static func setupDataSize(e820Count count: Int) -> UInt64 {
        guard count > e820TableCapacity else { return 0 }
        return setupDataHeaderSize + UInt64(count - e820TableCapacity) * e820EntrySize
    }

    /// Writes boot_params for the kernel `header` describes at `address` (and the setup_data
    /// node, if needed).
    public func write<P: Processor>(
        at address: UInt64, header: LinuxSetupHeader,
        cpu: P
    ) throws(LinuxBootError) {
        try check(header: header)
        cpu.zeroPhysical(address, count: Int(Self.size))
        let page = PhysicalWriter(cpu: cpu, base: address)
        // The setup header, as the image has it (boot.rst, "64-bit Boot Protocol").
        let image = ImageBytes(cpu: cpu, base: header.imageAddress)
        var offset = LinuxSetupHeader.setupSectsOffset
        while offset < header.headerEnd {
            page.u8(offset, image.u8(offset))
            offset += 1
        }
        page.u8(LinuxSetupHeader.typeOfLoaderOffset, Self.undefinedLoaderType)
        // LOADED_HIGH stays (a bzImage); the loader sets no heap (the 16-bit setup code, the
        // heap's only user, does not run), and KASLR_FLAG is the decompressor's own.
        let cleared =
            LinuxSetupHeader.canUseHeap | LinuxSetupHeader.kaslrFlag | LinuxSetupHeader.quietFlag
            | LinuxSetupHeader.keepSegments
        page.u8(LinuxSetupHeader.loadFlagsOffset, UInt64(header.loadFlags & ~cleared))
        page.u16(LinuxSetupHeader.heapEndPtrOffset, 0)
        page.u32(LinuxSetupHeader.cmdLinePtrOffset, commandLineAddress & Self.low32)
        page.u32(Self.extCmdLinePtrOffset, commandLineAddress >> 32)
        page.u32(LinuxSetupHeader.ramdiskImageOffset, ramdiskAddress & Self.low32)
        page.u32(Self.extRamdiskImageOffset, ramdiskAddress >> 32)
        page.u32(LinuxSetupHeader.ramdiskSizeOffset, ramdiskSize & Self.low32)
        page.u32(Self.extRamdiskSizeOffset, ramdiskSize >> 32)
        page.u64(Self.acpiRSDPAddrOffset, acpiRSDPAddress)
        page.u64(LinuxSetupHeader.setupDataOffset, 0)
        // The E820 map: up to 128 entries in the page.
        let inPage = min(e820.count, Self.e820TableCapacity)
        page.u8(Self.e820EntriesOffset, UInt64(inPage))
        for index in 0..<inPage {
            Self.writeEntry(e820[index], to: page, at: Self.e820TableOffset + UInt64(index) * Self.e820EntrySize)
        }
        // The rest in one SETUP_E820_EXT node, linked from hdr.setup_data.
        guard e820.count > Self.e820TableCapacity, let node = setupDataAddress else { return }
        let data = PhysicalWriter(cpu: cpu, base: node)
        let extra = e820.count - Self.e820TableCapacity
        data.u64(Self.setupDataNextOffset, 0)
        data.u32(Self.setupDataTypeOffset, Self.setupE820Ext)
        data.u32(Self.setupDataLengthOffset, UInt64(extra) * Self.e820EntrySize)
        for index in 0..<extra {
            Self.writeEntry(
                e820[Self.e820TableCapacity + index], to: data,
                at: Self.setupDataHeaderSize + UInt64(index) * Self.e820EntrySize)
        }
        page.u64(LinuxSetupHeader.setupDataOffset, node)
    }

    /// Copies `bytes` and a terminating zero to `address`, after checking them against
    /// cmdline_size (boot.rst, "cmdline_size").
    public static func writeCommandLine<P: Processor, Bytes: Collection<UInt8>>(
        _ bytes: Bytes, at address: UInt64, header: LinuxSetupHeader, cpu: P
    ) throws(LinuxBootError) {
        let length = UInt64(bytes.count)
        guard length <= UInt64(header.cmdlineSize) else {
            throw .commandLineTooLong(length: length, limit: UInt64(header.cmdlineSize))
        }
        let line = PhysicalWriter(cpu: cpu, base: address)
        var offset: UInt64 = 0
        for byte in bytes {
            line.u8(offset, UInt64(byte))
            offset += 1
        }
        line.u8(length, 0)
    }

    /// What the kernel can reach: above 4 GiB only with XLF_CAN_BE_LOADED_ABOVE_4G, the ramdisk
    /// below initrd_addr_max, more than 128 E820 entries only with a place for the node.
    func check(header: LinuxSetupHeader) throws(LinuxBootError) {
        if !header.canBeLoadedAbove4G {
            if commandLineAddress > Self.low32 { throw .above4GiB(item: .commandLine, address: commandLineAddress) }
            if ramdiskSize != 0 && ramdiskAddress > Self.low32 {
                throw .above4GiB(item: .ramdisk, address: ramdiskAddress)
            }
            if let node = setupDataAddress, e820.count > Self.e820TableCapacity, node > Self.low32 {
                throw .above4GiB(item: .setupData, address: node)
            }
            if ramdiskSize != 0 {
                let last = ramdiskAddress &+ ramdiskSize &- 1
                guard last >= ramdiskAddress, last <= UInt64(header.initrdAddrMax) else {
                    throw .ramdiskAboveLimit(end: ramdiskAddress &+ ramdiskSize, limit: UInt64(header.initrdAddrMax))
                }
            }
        }
        if e820.count > Self.e820TableCapacity && setupDataAddress == nil {
            throw .tooManyE820Entries(count: e820.count, limit: Self.e820TableCapacity)
        }
    }

    /// One struct boot_e820_entry.
    static func writeEntry<P: Processor>(_ entry: E820Entry, to memory: PhysicalWriter<P>, at offset: UInt64) {
        memory.u64(offset + e820EntryAddrOffset, entry.base)
        memory.u64(offset + e820EntrySizeOffset, entry.length)
        memory.u32(offset + e820EntryTypeOffset, UInt64(entry.type.rawValue))
    }
}
