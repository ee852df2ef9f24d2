// Why a Linux kernel image cannot be booted, or its boot parameters cannot be built: each case
// names the field of the x86 boot protocol (Documentation/arch/x86/boot.rst) and the value.
import VMX

/// A piece of the boot protocol that must lie where the kernel can reach it.
public enum LinuxBootItem: Equatable, Sendable {
    case commandLine, ramdisk, setupData

    func describe(into text: inout LogText) {
        switch self {
        case .commandLine: text.appendLiteral("the command line")
        case .ramdisk: text.appendLiteral("the initial ramdisk")
        case .setupData: text.appendLiteral("the setup_data node")
        }
    }
}

public enum LinuxBootError: Error, Equatable {
    /// The image is shorter than what its header says it holds.
    case imageTruncated(size: UInt64, needed: UInt64)
    /// boot_flag (offset 1FEH) is not AA55H.
    case badBootFlag(found: UInt64)
    /// header (offset 202H) is not "HdrS": not a kernel of boot protocol 2.00 or later.
    case badHeaderMagic(found: UInt64)
    /// version (offset 206H) is older than the loader needs.
    case protocolTooOld(version: UInt16, needed: UInt16)
    /// The header's end (202H + the byte at 201H) lies before the fields the loader reads or
    /// beyond the setup header's room in boot_params.
    case badHeaderLength(end: UInt64)
    /// loadflags bit 0 (LOADED_HIGH) is clear: a zImage, loaded at 10000H, not a bzImage.
    case notBzImage(loadFlags: UInt8)
    /// xloadflags bit 0 (XLF_KERNEL_64) is clear: the kernel has no 64-bit entry point.
    case no64BitEntry(xloadflags: UInt16)
    /// The command line does not fit cmdline_size bytes (without its terminating zero).
    case commandLineTooLong(length: UInt64, limit: UInt64)
    /// Something above 4 GiB for a kernel without XLF_CAN_BE_LOADED_ABOVE_4G.
    case above4GiB(item: LinuxBootItem, address: UInt64)
    /// The ramdisk ends above initrd_addr_max.
    case ramdiskAboveLimit(end: UInt64, limit: UInt64)
    /// More than 128 E820 entries and nowhere to put a SETUP_E820_EXT node.
    case tooManyE820Entries(count: Int, limit: Int)

    /// Appends the reason (no line end).
    public func describe(into text: inout LogText) {
        switch self {
        case .imageTruncated(let size, let needed):
            text.append("truncated kernel image: \(size) bytes, its header needs \(needed)")
        case .badBootFlag(let found):
            text.append("not a Linux kernel: boot_flag at 0x1fe is \(hex: found), not 0xaa55")
        case .badHeaderMagic(let found):
            text.append("not a Linux kernel: header at 0x202 is \(hex: found), not \"HdrS\"")
        case .protocolTooOld(let version, let needed):
            text.appendLiteral("boot protocol ")
            appendVersion(version, into: &text)
            text.appendLiteral(" is too old (this loader needs ")
            appendVersion(needed, into: &text)
            text.appendLiteral(" or later)")
        case .badHeaderLength(let end):
            text.append("setup header ends at \(hex: end), outside the fields of boot protocol 2.12")
        case .notBzImage(let loadFlags):
            text.append("not a bzImage: loadflags \(hex: loadFlags) lack LOADED_HIGH")
        case .no64BitEntry(let xloadflags):
            text.append("no 64-bit entry point: xloadflags \(hex: xloadflags) lack XLF_KERNEL_64")
        case .commandLineTooLong(let length, let limit):
            text.append("command line of \(length) bytes exceeds the kernel's cmdline_size \(limit)")
        case .above4GiB(let item, let address):
            item.describe(into: &text)
            text.append(" at \(hex: address) lies above 4 GiB, and xloadflags lack XLF_CAN_BE_LOADED_ABOVE_4G")
        case .ramdiskAboveLimit(let end, let limit):
            text.append("the initial ramdisk ends at \(hex: end), above initrd_addr_max \(hex: limit)")
        case .tooManyE820Entries(let count, let limit):
            text.append("\(count) E820 entries: more than \(limit) need room for a SETUP_E820_EXT node")
        }
    }

    /// "2.11" from 020BH.
    private func appendVersion(_ version: UInt16, into text: inout LogText) {
        text.append("\(version >> 8).\(version & 0xFF)")
    }
}
