// Multiboot2 boot information (Multiboot2 Specification 2.0, section 3.6), as GRUB passes it:
// total_size, reserved, then 8-byte-aligned tags (type, size), ending with a type 0 tag. The
// kernel needs the memory map tag (type 6); command line (1) and modules (3) are optional.
import Hypervisor
import VMX

enum Multiboot2 {
    static let tagEnd: UInt32 = 0
    static let tagCommandLine: UInt32 = 1
    static let tagModule: UInt32 = 3
    static let tagMemoryMap: UInt32 = 6

    /// Information larger than this is taken as garbage rather than walked.
    static let maximumTotalSize: UInt32 = 1 << 20
    /// base_addr, length, type, reserved.
    static let minimumEntrySize: UInt32 = 24
    /// type, size, mod_start, mod_end (then the string).
    static let moduleTagHeaderSize: UInt32 = 16
    /// type, size, entry_size, entry_version (then the entries).
    static let memoryMapTagHeaderSize: UInt32 = 16

    static func parse(_ address: UInt64) throws(MalformedBootInformation) -> BootInformation {
        guard address != 0, address & 7 == 0 else { throw .badInformationAddress(.multiboot2, address) }
        var info = BootInformation(bootProtocol: .multiboot2, address: address)
        let totalSize = try PhysicalBytes.mapped(address, size: 8, "multiboot2 information").u32(0)
        guard totalSize >= 16, totalSize <= maximumTotalSize else { throw .multiboot2TotalSize(totalSize) }
        _ = try PhysicalBytes.mapped(address, size: UInt64(totalSize), "multiboot2 information")
        // The early heap never reuses memory (Heap.swift): each array is sized once, not grown.
        let moduleCount = countModules(address, totalSize: totalSize)
        info.modules.reserveCapacity(moduleCount)
        info.occupied.reserveCapacity(1 + moduleCount)
        info.occupied.append(PhysicalRange(start: address, size: UInt64(totalSize)))

        var sawMemoryMap = false
        let sawEnd = try walkTags(address, totalSize: totalSize) { (tag, type, size) throws(MalformedBootInformation) in
            switch type {
            case tagCommandLine:
                info.commandLine = BootText(string(in: tag, size: size, from: 8))
            case tagModule:
                guard size >= moduleTagHeaderSize else {
                    throw .multiboot2TagSize(type: type, offset: tag.base - address, size: size, totalSize: totalSize)
                }
                let start = UInt64(tag.u32(8)), end = UInt64(tag.u32(12))
                guard start <= end else {
                    throw .moduleEndsBeforeStart(index: info.modules.count, start: start, end: end)
                }
                let range = PhysicalRange(start: start, end: end)
                info.modules.append(BootModule(range: range, name: BootText(string(in: tag, size: size, from: 16))))
                info.occupied.append(range)
            case tagMemoryMap:
                guard size >= memoryMapTagHeaderSize else {
                    throw .multiboot2TagSize(type: type, offset: tag.base - address, size: size, totalSize: totalSize)
                }
                let entrySize = tag.u32(8)
                guard entrySize >= minimumEntrySize, entrySize % 8 == 0 else {
                    throw .multiboot2MemoryMapEntrySize(entrySize)
                }
                let count = (UInt64(size) - UInt64(memoryMapTagHeaderSize)) / UInt64(entrySize)
                guard count > 0 else { throw .multiboot2EmptyMemoryMap }
                info.memoryMap.reserveCapacity(info.memoryMap.count + Int(count))
                for index in 0..<count {
                    let entry = PhysicalBytes(
                        base: tag.base + UInt64(memoryMapTagHeaderSize) + index * UInt64(entrySize))
                    info.memoryMap.append(MemoryMapEntry(base: entry.u64(0), length: entry.u64(8), type: entry.u32(16)))
                }
                sawMemoryMap = true
            default:
                break
            }
        }
        guard sawEnd else { throw .multiboot2NoEndTag(totalSize: totalSize) }
        guard sawMemoryMap else { throw .multiboot2NoMemoryMap }
        return info
    }

    /// The bytes of the NUL-terminated string inside a tag, cut at the tag's end (the whole
    /// information is already known to be mapped).
    private static func string(in tag: PhysicalBytes, size: UInt32, from start: UInt64) -> UnsafeRawBufferPointer {
        guard UInt64(size) > start else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var length = 0
        while UInt64(length) < UInt64(size) - start && tag.u8(start + UInt64(length)) != 0 { length += 1 }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(tag.base + start)), count: length)
    }

    /// How many module tags the information holds, counted before anything is allocated (a
    /// tag the parse rejects ends the count; the parse then throws on it).
    private static func countModules(_ address: UInt64, totalSize: UInt32) -> Int {
        var count = 0
        _ = try? walkTags(address, totalSize: totalSize) { (_, type, _) throws(MalformedBootInformation) in
            if type == tagModule { count += 1 }
        }
        return count
    }

    /// Calls `body` with each tag before the end tag (its bytes, type and size), 8-byte aligned
    /// from offset 8. Throws on a tag whose size is below 8 or beyond the information; returns
    /// whether the end tag was met.
    private static func walkTags(
        _ address: UInt64, totalSize: UInt32,
        _ body: (PhysicalBytes, UInt32, UInt32) throws(MalformedBootInformation) -> Void
    ) throws(MalformedBootInformation) -> Bool {
        var offset: UInt64 = 8
        while offset + 8 <= UInt64(totalSize) {
            let tag = PhysicalBytes(base: address + offset)
            let type = tag.u32(0), size = tag.u32(4)
            guard size >= 8, UInt64(size) <= UInt64(totalSize) - offset else {
                throw .multiboot2TagSize(type: type, offset: offset, size: size, totalSize: totalSize)
            }
            if type == tagEnd { return true }
            try body(tag, type, size)
            offset += (UInt64(size) + 7) & ~7
        }
        return false
    }
}
