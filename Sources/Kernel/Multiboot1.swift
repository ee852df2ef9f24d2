// Multiboot1 information (Multiboot Specification 0.6.96, section 3.3), as QEMU `-kernel`
// passes it. The kernel needs the memory map (flags bit 6); the command line (bit 2) and the
// modules (bit 3) are optional.
import Hypervisor
import VMX

enum Multiboot1 {
    // Information structure offsets.
    static let flagsOffset: UInt64 = 0
    static let commandLineOffset: UInt64 = 16
    static let moduleCountOffset: UInt64 = 20
    static let moduleAddressOffset: UInt64 = 24
    static let memoryMapLengthOffset: UInt64 = 44
    static let memoryMapAddressOffset: UInt64 = 48
    static let bootLoaderNameOffset: UInt64 = 64
    /// The structure up to and including the framebuffer fields.
    static let structureSize: UInt64 = 116

    static let flagCommandLine: UInt32 = 1 << 2
    static let flagModules: UInt32 = 1 << 3
    static let flagMemoryMap: UInt32 = 1 << 6
    static let flagBootLoaderName: UInt32 = 1 << 9

    /// A memory-map entry: size (of the rest: base_addr, length, type, at least 20 bytes).
    static let minimumEntrySize: UInt32 = 20
    static let moduleEntrySize: UInt64 = 16
    static let maximumModules: UInt32 = 1024

    static func parse(_ address: UInt64) throws(MalformedBootInformation) -> BootInformation {
        guard address != 0, address & 3 == 0 else { throw .badInformationAddress(.multiboot1, address) }
        var info = BootInformation(bootProtocol: .multiboot1, address: address)
        let fields = try PhysicalBytes.mapped(address, size: structureSize, "multiboot1 information")
        let flags = fields.u32(flagsOffset)
        // The early heap never reuses memory (Heap.swift): each array is sized once, not grown.
        // Occupied: the structure, the map, the command line, the loader's name, the module
        // list, and per module its string and its bytes.
        let moduleCount = flags & flagModules != 0 ? fields.u32(moduleCountOffset) : 0
        info.occupied.reserveCapacity(5 + 2 * Int(min(moduleCount, maximumModules)))
        info.modules.reserveCapacity(Int(min(moduleCount, maximumModules)))
        info.occupied.append(PhysicalRange(start: address, size: structureSize))

        guard flags & flagMemoryMap != 0 else { throw .multiboot1NoMemoryMap(flags: flags) }
        let mapLength = UInt64(fields.u32(memoryMapLengthOffset))
        let mapAddress = UInt64(fields.u32(memoryMapAddressOffset))
        guard mapLength != 0 else { throw .multiboot1EmptyMemoryMap }
        _ = try PhysicalBytes.mapped(mapAddress, size: mapLength, "multiboot1 memory map")
        info.occupied.append(PhysicalRange(start: mapAddress, size: mapLength))
        info.memoryMap.reserveCapacity(Int(mapLength / (UInt64(minimumEntrySize) + 4)))
        var offset: UInt64 = 0
        while offset < mapLength {
            let entry = PhysicalBytes(base: mapAddress + offset)
            guard mapLength - offset >= 4 else {
                throw .multiboot1EntryPastEnd(address: entry.base, mapLength: mapLength)
            }
            let size = entry.u32(0)
            guard size >= minimumEntrySize else { throw .multiboot1EntryTooSmall(address: entry.base, size: size) }
            guard UInt64(size) + 4 <= mapLength - offset else {
                throw .multiboot1EntryPastEnd(address: entry.base, mapLength: mapLength)
            }
            info.memoryMap.append(MemoryMapEntry(base: entry.u64(4), length: entry.u64(12), type: entry.u32(20)))
            offset += UInt64(size) + 4
        }

        if flags & flagCommandLine != 0 {
            let (text, range) = try PhysicalBytes.cString(
                at: UInt64(fields.u32(commandLineOffset)), "multiboot1 cmdline")
            info.commandLine = BootText(text)
            info.occupied.append(range)
        }
        if flags & flagBootLoaderName != 0 {
            info.occupied.append(
                try PhysicalBytes.cString(
                    at: UInt64(fields.u32(bootLoaderNameOffset)),
                    "multiboot1 boot_loader_name"
                ).1)
        }
        if flags & flagModules != 0 {
            let count = moduleCount
            guard count <= maximumModules else { throw .multiboot1TooManyModules(count) }
            let list = UInt64(fields.u32(moduleAddressOffset))
            _ = try PhysicalBytes.mapped(list, size: UInt64(count) * moduleEntrySize, "multiboot1 module list")
            info.occupied.append(PhysicalRange(start: list, size: UInt64(count) * moduleEntrySize))
            for index in 0..<Int(count) {
                let module = PhysicalBytes(base: list + UInt64(index) * moduleEntrySize)
                let start = UInt64(module.u32(0)), end = UInt64(module.u32(4))
                guard start <= end else { throw .moduleEndsBeforeStart(index: index, start: start, end: end) }
                var name = UnsafeRawBufferPointer(start: nil, count: 0)
                if module.u32(8) != 0 {
                    let (text, range) = try PhysicalBytes.cString(at: UInt64(module.u32(8)), "multiboot1 module string")
                    name = text
                    info.occupied.append(range)
                }
                let range = PhysicalRange(start: start, end: end)
                info.modules.append(BootModule(range: range, name: BootText(name)))
                info.occupied.append(range)
            }
        }
        return info
    }
}
