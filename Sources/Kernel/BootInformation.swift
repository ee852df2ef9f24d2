// What the boot loader tells the kernel, whichever multiboot protocol it spoke: the memory map,
// the command line and the modules, plus the physical ranges that information occupies (the
// page allocator must not hand them out). Multiboot1.swift and Multiboot2.swift fill it in.
import Hypervisor
import VMX

public enum BootProtocol: Sendable {
    /// Multiboot Specification 0.6.96 (QEMU `-kernel`); EAX = 0x2BADB002.
    case multiboot1
    /// Multiboot2 Specification 2.0 (GRUB `multiboot2`); EAX = 0x36D76289.
    case multiboot2

    public static let multiboot1Magic: UInt32 = 0x2BAD_B002
    public static let multiboot2Magic: UInt32 = 0x36D7_6289

    public var name: StaticString {
        switch self {
        case .multiboot1: return "multiboot1"
        case .multiboot2: return "multiboot2"
        }
    }
}

/// One entry of the memory map. Types as both multiboot specifications and ACPI define them.
public struct MemoryMapEntry: Sendable {
    public var base: UInt64
    public var length: UInt64
    public var type: UInt32

    public static let available: UInt32 = 1
    public static let reserved: UInt32 = 2
    public static let acpiReclaimable: UInt32 = 3
    public static let acpiNVS: UInt32 = 4
    public static let badMemory: UInt32 = 5

    public var range: PhysicalRange { PhysicalRange(start: base, size: length) }
    public var isAvailable: Bool { type == Self.available }

    public var typeName: StaticString {
        switch type {
        case Self.available: return "available"
        case Self.reserved: return "reserved"
        case Self.acpiReclaimable: return "ACPI reclaimable"
        case Self.acpiNVS: return "ACPI NVS"
        case Self.badMemory: return "bad memory"
        default: return "other"
        }
    }
}

/// Text in the boot information (the command line, a module's name), left where the boot
/// loader put it: the page allocator never hands that memory out, and the early heap holds no
/// copy of it (Heap.swift).
public struct BootText: Sendable {
    /// Where the bytes are (identity-mapped), without the terminating NUL.
    private var address: UInt64
    private var count: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        address = UInt64(UInt(bitPattern: bytes.baseAddress))
        count = bytes.count
    }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: count)
    }

    /// A String copy, for use once the page allocator exists.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// A boot module: a file the boot loader placed in memory (a guest image, later), and its name
/// (the module's command line).
public struct BootModule: Sendable {
    public var range: PhysicalRange
    public var name: BootText
}

public struct BootInformation {
    public var bootProtocol: BootProtocol
    /// Physical address of the information structure.
    public var address: UInt64
    public var memoryMap: [MemoryMapEntry] = []
    public var commandLine: BootText? = nil
    public var modules: [BootModule] = []
    /// Ranges occupied by the information itself and by the modules.
    public var occupied: [PhysicalRange] = []

    public init(bootProtocol: BootProtocol, address: UInt64) {
        self.bootProtocol = bootProtocol
        self.address = address
    }

    /// Parses the information the boot loader handed over with `magic` in EAX.
    public static func parse(magic: UInt32, address: UInt64) throws(MalformedBootInformation) -> BootInformation {
        switch magic {
        case BootProtocol.multiboot1Magic: return try Multiboot1.parse(address)
        case BootProtocol.multiboot2Magic: return try Multiboot2.parse(address)
        default: throw .unknownMagic(magic)
        }
    }

    /// Bytes of available RAM the memory map reports.
    public var availableBytes: UInt64 {
        var total: UInt64 = 0
        for entry in memoryMap where entry.isAvailable { total &+= entry.length }
        return total
    }

    /// Whether `range` lies wholly within one available memory-map entry.
    public func isAvailableRAM(_ range: PhysicalRange) -> Bool {
        for entry in memoryMap where entry.isAvailable && entry.range.contains(range) { return true }
        return false
    }
}

/// Why the boot information cannot be used. Each case names the field or tag at fault, in the
/// specification's terms.
public enum MalformedBootInformation: Error {
    case unknownMagic(UInt32)
    case badInformationAddress(BootProtocol, UInt64)
    /// Boot information the boot page tables do not map (IdentityMap.bootLimit).
    case beyondIdentityMap(StaticString, PhysicalRange)
    case multiboot1NoMemoryMap(flags: UInt32)
    case multiboot1EmptyMemoryMap
    case multiboot1EntryTooSmall(address: UInt64, size: UInt32)
    case multiboot1EntryPastEnd(address: UInt64, mapLength: UInt64)
    case multiboot1TooManyModules(UInt32)
    case moduleEndsBeforeStart(index: Int, start: UInt64, end: UInt64)
    case multiboot2TotalSize(UInt32)
    case multiboot2TagSize(type: UInt32, offset: UInt64, size: UInt32, totalSize: UInt32)
    case multiboot2NoEndTag(totalSize: UInt32)
    case multiboot2NoMemoryMap
    case multiboot2MemoryMapEntrySize(UInt32)
    case multiboot2EmptyMemoryMap

    /// Writes the one-line reason (without a line end).
    public func writeReason() {
        switch self {
        case .unknownMagic(let magic):
            logText("unknown boot magic \(hex: magic, digits: 8) in EAX (multiboot1 0x2badb002, multiboot2 0x36d76289)")
        case .badInformationAddress(let bootProtocol, let address):
            logText("\(bootProtocol.name) information address \(hex: address) (EBX) is null or misaligned")
        case .beyondIdentityMap(let what, let range):
            logText("\(what) at \(range) lies beyond the boot identity map (first \(IdentityMap.bootLimit >> 20) MiB)")
        case .multiboot1NoMemoryMap(let flags):
            logText(
                """
                multiboot1 information has no memory map (flags \(hex: flags, digits: 8): \
                bit 6, mmap_* valid, is clear)
                """)
        case .multiboot1EmptyMemoryMap:
            logText("multiboot1 memory map is empty (mmap_length = 0)")
        case .multiboot1EntryTooSmall(let address, let size):
            logText("multiboot1 memory map entry at \(hex: address) is malformed: size = \(size), less than 20")
        case .multiboot1EntryPastEnd(let address, let mapLength):
            logText(
                "multiboot1 memory map entry at \(hex: address) is malformed: it runs past mmap_length = \(mapLength)")
        case .multiboot1TooManyModules(let count):
            logText("multiboot1 mods_count = \(count) is implausible")
        case .moduleEndsBeforeStart(let index, let start, let end):
            logText("boot module \(index) is malformed: mod_end \(hex: end) is below mod_start \(hex: start)")
        case .multiboot2TotalSize(let size):
            logText("multiboot2 information is malformed: total_size = \(size) (must be 16 to 1 MiB)")
        case .multiboot2TagSize(let type, let offset, let size, let totalSize):
            logText(
                """
                multiboot2 tag type \(type) at offset \(offset) is malformed: size = \(size) does not fit \
                total_size = \(totalSize)
                """
            )
        case .multiboot2NoEndTag(let totalSize):
            logText("multiboot2 information is malformed: no end tag (type 0) within total_size = \(totalSize)")
        case .multiboot2NoMemoryMap:
            logText("multiboot2 information has no memory map tag (type 6)")
        case .multiboot2MemoryMapEntrySize(let size):
            logText(
                """
                multiboot2 memory map tag (type 6) is malformed: entry_size = \(size) (must be a multiple of 8, at \
                least 24)
                """
            )
        case .multiboot2EmptyMemoryMap:
            logText("multiboot2 memory map tag (type 6) has no entries")
        }
    }
}

/// Reads boot-information memory: identity-mapped physical addresses, any alignment. Made
/// only through `mapped`, which refuses memory the boot page tables do not map (a read there
/// would page-fault).
struct PhysicalBytes {
    let base: UInt64

    static func mapped(_ base: UInt64, size: UInt64, _ what: StaticString) throws(MalformedBootInformation)
        -> PhysicalBytes
    {
        let range = PhysicalRange(start: base, size: size)
        guard range.end <= IdentityMap.limit, range.end >= base else { throw .beyondIdentityMap(what, range) }
        return PhysicalBytes(base: base)
    }

    func u8(_ offset: UInt64) -> UInt8 { load(offset) }
    func u32(_ offset: UInt64) -> UInt32 { load(offset) }
    func u64(_ offset: UInt64) -> UInt64 { load(offset) }

    private func load<T: FixedWidthInteger>(_ offset: UInt64) -> T {
        UnsafeRawPointer(bitPattern: UInt(base + offset))!.loadUnaligned(as: T.self)
    }

    /// The NUL-terminated string at `address`, at most `limit` bytes and never past the
    /// identity map: its bytes without the NUL, and its range with the NUL.
    static func cString(at address: UInt64, limit: Int = 4096, _ what: StaticString)
        throws(MalformedBootInformation) -> (UnsafeRawBufferPointer, PhysicalRange)
    {
        let bytes = try mapped(address, size: 1, what)
        let reach = Int(min(UInt64(limit), IdentityMap.limit - address))
        var length = 0
        while length < reach && bytes.u8(UInt64(length)) != 0 { length += 1 }
        let buffer = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: length)
        return (buffer, PhysicalRange(start: address, size: UInt64(length) + 1))
    }
}
