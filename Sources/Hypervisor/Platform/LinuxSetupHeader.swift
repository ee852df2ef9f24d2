// The setup header of an x86 Linux kernel image (bzImage), read from physical memory: the x86
// boot protocol, Documentation/arch/x86/boot.rst ("The Real-Mode Kernel Header", "Details of
// Header Fields"), with the layout of struct setup_header in
// arch/x86/include/uapi/asm/bootparam.h. The loader uses the 64-bit boot protocol (boot.rst,
// "64-bit Boot Protocol"), so it needs protocol 2.12 or later (xloadflags) and XLF_KERNEL_64.
import VMX

public struct LinuxSetupHeader: Equatable, Sendable {
    // MARK: Offsets in the image (boot.rst, "The Real-Mode Kernel Header")

    /// setup_sects: the size of the setup code in 512-byte sectors (0 means 4).
    public static let setupSectsOffset: UInt64 = 0x1F1
    /// syssize: the size of the protected-mode code in 16-byte paragraphs (protocol 2.04+).
    public static let syssizeOffset: UInt64 = 0x1F4
    /// boot_flag: AA55H.
    public static let bootFlagOffset: UInt64 = 0x1FE
    /// The byte after the jump instruction at 200H: the header's end is 202H plus this byte.
    public static let headerLengthOffset: UInt64 = 0x201
    /// header: the magic "HdrS".
    public static let headerOffset: UInt64 = 0x202
    /// version: the boot protocol version, major in the high byte.
    public static let versionOffset: UInt64 = 0x206
    /// type_of_loader.
    public static let typeOfLoaderOffset: UInt64 = 0x210
    /// loadflags.
    public static let loadFlagsOffset: UInt64 = 0x211
    /// ramdisk_image: the initial ramdisk's 32-bit load address.
    public static let ramdiskImageOffset: UInt64 = 0x218
    /// ramdisk_size: its size.
    public static let ramdiskSizeOffset: UInt64 = 0x21C
    /// heap_end_ptr: end of the setup heap (meaningful only with CAN_USE_HEAP).
    public static let heapEndPtrOffset: UInt64 = 0x224
    /// cmd_line_ptr: the command line's 32-bit address (protocol 2.02+).
    public static let cmdLinePtrOffset: UInt64 = 0x228
    /// initrd_addr_max: the highest address the ramdisk may occupy (protocol 2.03+).
    public static let initrdAddrMaxOffset: UInt64 = 0x22C
    /// kernel_alignment: the alignment a relocatable kernel needs (protocol 2.05+).
    public static let kernelAlignmentOffset: UInt64 = 0x230
    /// relocatable_kernel: nonzero if the kernel may be loaded anywhere aligned (2.05+).
    public static let relocatableKernelOffset: UInt64 = 0x234
    /// min_alignment: the smallest alignment, as a power of two (2.10+).
    public static let minAlignmentOffset: UInt64 = 0x235
    /// xloadflags (2.12+).
    public static let xloadflagsOffset: UInt64 = 0x236
    /// cmdline_size: the longest command line, without its terminating zero (2.06+).
    public static let cmdlineSizeOffset: UInt64 = 0x238
    /// setup_data: the physical address of the first struct setup_data (2.09+).
    public static let setupDataOffset: UInt64 = 0x250
    /// pref_address: the preferred load address of a relocatable kernel (2.10+).
    public static let prefAddressOffset: UInt64 = 0x258
    /// init_size: the linear memory the kernel needs from its load address while it starts (2.10+).
    public static let initSizeOffset: UInt64 = 0x260
    /// handover_offset: the EFI handover entry (2.11+).
    public static let handoverOffsetOffset: UInt64 = 0x264
    /// kernel_info_offset: the kernel_info structure, from the protected-mode code (2.15+).
    public static let kernelInfoOffsetOffset: UInt64 = 0x268
    /// The end of the last field this loader reads, init_size (protocol 2.12 has it).
    public static let minimumHeaderEnd: UInt64 = 0x264
    /// Where boot_params' next field after the setup header starts (edd_mbr_sig_buffer, 290H):
    /// a longer header would not fit boot_params.
    public static let maximumHeaderEnd: UInt64 = 0x290

    // MARK: Values (boot.rst and bootparam.h)

    /// boot_flag's required value.
    public static let bootFlagMagic: UInt64 = 0xAA55
    /// "HdrS" read as a little-endian 32-bit number.
    public static let headerMagic: UInt64 = 0x5372_6448
    /// The oldest protocol with xloadflags (and so XLF_KERNEL_64): 2.12.
    public static let minimumProtocol: UInt16 = 0x020C
    /// The oldest protocol of a bzImage.
    public static let bzImageProtocol: UInt16 = 0x0200
    /// The sector size of setup_sects.
    public static let sectorSize: UInt64 = 512
    /// The number of setup sectors when setup_sects is 0.
    public static let defaultSetupSects: UInt64 = 4
    /// The unit of syssize: a 16-byte paragraph.
    public static let paragraphSize: UInt64 = 16
    /// The 64-bit entry point's offset from the start of the loaded protected-mode kernel
    /// (boot.rst, "64-bit Boot Protocol").
    public static let entry64Offset: UInt64 = 0x200

    /// loadflags bit 0, LOADED_HIGH: the protected-mode code is loaded at 100000H (bzImage).
    public static let loadedHigh: UInt8 = 1 << 0
    /// loadflags bit 1, KASLR_FLAG: set by the kernel's decompressor, not by a loader.
    public static let kaslrFlag: UInt8 = 1 << 1
    /// loadflags bit 5, QUIET_FLAG: the kernel prints no early messages.
    public static let quietFlag: UInt8 = 1 << 5
    /// loadflags bit 6, KEEP_SEGMENTS: obsolete since protocol 2.07.
    public static let keepSegments: UInt8 = 1 << 6
    /// loadflags bit 7, CAN_USE_HEAP: heap_end_ptr is valid.
    public static let canUseHeap: UInt8 = 1 << 7

    /// xloadflags bit 0, XLF_KERNEL_64: a 64-bit entry point at the load address + 200H.
    public static let xlfKernel64: UInt16 = 1 << 0
    /// xloadflags bit 1, XLF_CAN_BE_LOADED_ABOVE_4G: kernel, boot_params, command line and
    /// ramdisk may lie above 4 GiB.
    public static let xlfCanBeLoadedAbove4G: UInt16 = 1 << 1

    // MARK: The header

    /// Where the image lies in physical memory, and how long it is.
    public var imageAddress: UInt64
    public var imageSize: UInt64
    /// setup_sects as stored (0 means 4).
    public var setupSects: UInt8
    /// syssize: protected-mode code size in 16-byte paragraphs.
    public var syssize: UInt32
    /// version, e.g. 020FH for 2.15.
    public var protocolVersion: UInt16
    /// The header's end in the image: 202H + the byte at 201H.
    public var headerEnd: UInt64
    public var loadFlags: UInt8
    public var xloadflags: UInt16
    public var kernelAlignment: UInt32
    public var relocatableKernel: Bool
    /// min_alignment: log2 of the smallest alignment.
    public var minAlignment: UInt8
    public var cmdlineSize: UInt32
    public var initrdAddrMax: UInt32
    public var prefAddress: UInt64
    public var initSize: UInt32
    public var handoverOffset: UInt32
    /// kernel_info_offset (0 before protocol 2.15).
    public var kernelInfoOffset: UInt32

    /// The number of setup sectors in effect.
    public var setupSectors: UInt64 { setupSects == 0 ? Self.defaultSetupSects : UInt64(setupSects) }
    /// Where the protected-mode kernel starts in the image: (setup sectors + 1) * 512 (the boot
    /// sector counts too; boot.rst, "Loading The Rest of The Kernel").
    public var protectedModeOffset: UInt64 { (setupSectors + 1) * Self.sectorSize }
    /// The protected-mode kernel's size: syssize * 16.
    public var protectedModeSize: UInt64 { UInt64(syssize) * Self.paragraphSize }
    /// Whether the kernel takes a 64-bit entry.
    public var hasKernel64: Bool { xloadflags & Self.xlfKernel64 != 0 }
    /// Whether kernel, boot_params, command line and ramdisk may lie above 4 GiB.
    public var canBeLoadedAbove4G: Bool { xloadflags & Self.xlfCanBeLoadedAbove4G != 0 }

    /// Whether the image looks like a bzImage: boot flag, "HdrS", protocol 2.00+, LOADED_HIGH
    /// (boot.rst, "Loading The Rest of The Kernel": is_bzImage).
    public static func isBzImage<P: Processor>(imageAt address: UInt64, size: UInt64, cpu: P) -> Bool {
        guard size >= loadFlagsOffset + 1 else { return false }
        let bytes = ImageBytes(cpu: cpu, base: address)
        return bytes.u16(bootFlagOffset) == bootFlagMagic && bytes.u32(headerOffset) == headerMagic
            && bytes.u16(versionOffset) >= UInt64(bzImageProtocol)
            && UInt8(truncatingIfNeeded: bytes.u8(loadFlagsOffset)) & loadedHigh != 0
    }

    /// Reads and checks the header of the image of `size` bytes at `address`.
    public static func parse<P: Processor>(
        imageAt address: UInt64, size: UInt64,
        cpu: P
    ) throws(LinuxBootError) -> LinuxSetupHeader {
        let bytes = ImageBytes(cpu: cpu, base: address)
        guard size >= versionOffset + 2 else { throw .imageTruncated(size: size, needed: versionOffset + 2) }
        let bootFlag = bytes.u16(bootFlagOffset)
        guard bootFlag == bootFlagMagic else { throw .badBootFlag(found: bootFlag) }
        let magic = bytes.u32(headerOffset)
        guard magic == headerMagic else { throw .badHeaderMagic(found: magic) }
        let version = UInt16(truncatingIfNeeded: bytes.u16(versionOffset))
        guard version >= minimumProtocol else { throw .protocolTooOld(version: version, needed: minimumProtocol) }
        let headerEnd = headerOffset + bytes.u8(headerLengthOffset)
        guard headerEnd >= minimumHeaderEnd, headerEnd <= maximumHeaderEnd else {
            throw .badHeaderLength(end: headerEnd)
        }
        guard size >= headerEnd else { throw .imageTruncated(size: size, needed: headerEnd) }
        let header = LinuxSetupHeader(
            imageAddress: address, imageSize: size,
            setupSects: UInt8(truncatingIfNeeded: bytes.u8(setupSectsOffset)),
            syssize: UInt32(truncatingIfNeeded: bytes.u32(syssizeOffset)),
            protocolVersion: version, headerEnd: headerEnd,
            loadFlags: UInt8(truncatingIfNeeded: bytes.u8(loadFlagsOffset)),
            xloadflags: UInt16(truncatingIfNeeded: bytes.u16(xloadflagsOffset)),
            kernelAlignment: UInt32(truncatingIfNeeded: bytes.u32(kernelAlignmentOffset)),
            relocatableKernel: bytes.u8(relocatableKernelOffset) != 0,
            minAlignment: UInt8(truncatingIfNeeded: bytes.u8(minAlignmentOffset)),
            cmdlineSize: UInt32(truncatingIfNeeded: bytes.u32(cmdlineSizeOffset)),
            initrdAddrMax: UInt32(truncatingIfNeeded: bytes.u32(initrdAddrMaxOffset)),
            prefAddress: bytes.u64(prefAddressOffset),
            initSize: UInt32(truncatingIfNeeded: bytes.u32(initSizeOffset)),
            handoverOffset: headerEnd >= handoverOffsetOffset + 4
                ? UInt32(truncatingIfNeeded: bytes.u32(handoverOffsetOffset)) : 0,
            kernelInfoOffset: headerEnd >= kernelInfoOffsetOffset + 4
                ? UInt32(truncatingIfNeeded: bytes.u32(kernelInfoOffsetOffset)) : 0)
        guard header.loadFlags & loadedHigh != 0 else { throw .notBzImage(loadFlags: header.loadFlags) }
        guard header.hasKernel64 else { throw .no64BitEntry(xloadflags: header.xloadflags) }
        let needed = header.protectedModeOffset + header.protectedModeSize
        guard size >= needed else { throw .imageTruncated(size: size, needed: needed) }
        return header
    }
}
