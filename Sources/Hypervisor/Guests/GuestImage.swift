// A guest image and how it is loaded: a flat binary or an ELF file in physical memory (built
// into the kernel, or a multiboot module), with options from its command line (docs/GUESTS.md):
//
//   name=NAME       how it is called in the log (default: "module N" / the built-in name)
//   mode=MODE       real, protected or long (default: from the ELF class, else long)
//   load=ADDRESS    guest-physical load address of a flat binary (required for flat binaries)
//   entry=ADDRESS   entry point (default: the ELF entry, else the load address)
//   memory=MIB      guest memory in MiB, 2 to 30, rounded up to 2 (default 2)
//   budget=CYCLES   time budget in TSC cycles (default 20000000)
//   ept=required    run only where EPT exists (a test guest that relies on it)
//
// Every problem is a `GuestImageError` that names the image and the condition; the hypervisor
// reports it and goes on with the next guest.
import VMX

/// An image to run.
public struct GuestImage: Sendable {
    public var name: String
    /// Physical address and size of the image's bytes.
    public var address: UInt64
    public var size: UInt64
    /// The options, `key=value` words separated by spaces (other words are ignored).
    public var commandLine: String
    /// Built into the kernel image (trusted), or supplied by the user as a boot module.
    public var isBuiltIn: Bool

    public init(name: String, address: UInt64, size: UInt64, commandLine: String, isBuiltIn: Bool) {
        self.name = name
        self.address = address
        self.size = size
        self.commandLine = commandLine
        self.isBuiltIn = isBuiltIn
    }
}

/// What to load where, and how to start: the image's plan.
public struct GuestPlan: Sendable {
    public struct Segment: Sendable, Equatable {
        /// Offset of the bytes in the image, and how many there are.
        public var fileOffset: UInt64
        public var fileSize: UInt64
        /// Guest-physical address and size in memory (the rest after fileSize is zero).
        public var guestPhysical: UInt64
        public var memorySize: UInt64
    }
    public var name: OutsideText
    public var mode: GuestMode
    public var entry: UInt64
    public var memorySize: UInt64
    public var budget: UInt64
    public var segments: [Segment]
    public var isELF: Bool
    public var requiresEPT: Bool
    /// `touch=ADDRESS`: the guest-physical pages from ADDRESS up to the hypervisor's structures
    /// are mapped by EPT on the guest's first touch of each (EPTExits.swift); nil: all at once.
    public var firstTouch: UInt64? = nil

    public static let defaultMemorySize: UInt64 = 2 << 20
    /// The arena is 32 MiB (PhysicalLayout); a guest's 2-MiB-aligned block from its top leaves
    /// the bottom 2 MiB for what all guests share and the guest's EPT tables and VMCS.
    public static let maximumMemorySize: UInt64 = PhysicalLayout.arenaSize - (2 << 20)
    public static let defaultBudget: UInt64 = 20_000_000
}

public enum GuestImageError: Error, Equatable {
    case unknownOption(String)
    case badValue(option: StaticString, value: String)
    case flatWithoutLoadAddress
    case firstTouchOutsideFreeMemory(address: UInt64, imageEnd: UInt64, structures: UInt64)
    case emptyImage
    case badELFHeader(field: StaticString, value: UInt64)
    case elfNoLoadableSegment
    case elfSegmentOutsideFile(index: Int)
    case elfSegmentFileSizeBeyondMemorySize(index: Int)
    case tooBig(start: UInt64, end: UInt64, limit: UInt64)
    case overlapsHypervisorStructures(start: UInt64, end: UInt64, structures: UInt64)
    case entryOutsideImage(entry: UInt64)
    case realModeEntryAbove1MiB(entry: UInt64)

    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case let (.unknownOption(a), .unknownOption(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.badValue(a, b), .badValue(c, d)):
            return a.utf8Start == c.utf8Start && b.utf8.elementsEqual(d.utf8)
        case (.flatWithoutLoadAddress, .flatWithoutLoadAddress), (.emptyImage, .emptyImage),
            (.elfNoLoadableSegment, .elfNoLoadableSegment):
            return true
        case let (.badELFHeader(a, b), .badELFHeader(c, d)): return a.utf8Start == c.utf8Start && b == d
        case let (.elfSegmentOutsideFile(a), .elfSegmentOutsideFile(b)): return a == b
        case let (.elfSegmentFileSizeBeyondMemorySize(a), .elfSegmentFileSizeBeyondMemorySize(b)): return a == b
        case let (.tooBig(a, b, c), .tooBig(d, e, f)): return a == d && b == e && c == f
        case let (.overlapsHypervisorStructures(a, b, c), .overlapsHypervisorStructures(d, e, f)):
            return a == d && b == e && c == f
        case let (.entryOutsideImage(a), .entryOutsideImage(b)): return a == b
        case let (.firstTouchOutsideFreeMemory(a, b, c), .firstTouchOutsideFreeMemory(d, e, f)):
            return a == d && b == e && c == f
        case let (.realModeEntryAbove1MiB(a), .realModeEntryAbove1MiB(b)): return a == b
        default: return false
        }
    }

    /// Appends the reason (no line end).
    public func describe(into text: inout LogText) {
        switch self {
        case .unknownOption(let word):
            text.append("unknown option \"\(outside: word)\" (name, mode, load, entry, memory, budget, ept)")
        case .badValue(let option, let value): text.append("bad value \"\(outside: value)\" for \(option)=")
        case .flatWithoutLoadAddress: text.appendLiteral("flat binary without a load address (give load=ADDRESS)")
        case .firstTouchOutsideFreeMemory(let address, let imageEnd, let structures):
            text.append(
                """
                touch=\(hex: address) must lie at or above the image's end \(hex: imageEnd) and below the \
                hypervisor's structures at \(hex: structures)
                """
            )
        case .emptyImage: text.appendLiteral("the image is empty")
        case .badELFHeader(let field, let value): text.append("bad ELF header: \(field) = \(hex: value)")
        case .elfNoLoadableSegment: text.appendLiteral("ELF file without a PT_LOAD segment")
        case .elfSegmentOutsideFile(let index):
            text.append("ELF program header \(index): p_offset + p_filesz lies beyond the file")
        case .elfSegmentFileSizeBeyondMemorySize(let index):
            text.append("ELF program header \(index): p_filesz > p_memsz")
        case .tooBig(let start, let end, let limit):
            text.append("too big: [\(hex: start), \(hex: end)) does not fit the guest's memory [0x0, \(hex: limit))")
        case .overlapsHypervisorStructures(let start, let end, let structures):
            text.append(
                """
                [\(hex: start), \(hex: end)) overlaps the hypervisor's structures at \(hex: structures) (top 64 \
                KiB of guest memory)
                """
            )
        case .entryOutsideImage(let entry): text.append("entry point \(hex: entry) lies outside the guest's memory")
        case .realModeEntryAbove1MiB(let entry): text.append("real-mode entry point \(hex: entry) is not below 1 MiB")
        }
    }
}

extension LogText {
    mutating func appendInterpolation(_ text: LogText) {
        text.withBytes { for byte in $0 { append(byte) } }
    }
}

// MARK: Options and the plan

public struct GuestOptions: Sendable {
    public var name: String? = nil
    public var mode: GuestMode? = nil
    public var load: UInt64? = nil
    public var entry: UInt64? = nil
    public var memorySize: UInt64 = GuestPlan.defaultMemorySize
    public var budget: UInt64 = GuestPlan.defaultBudget
    public var requiresEPT = false
    public var firstTouch: UInt64? = nil

    /// The `name=` option's value, found even when other options are wrong.
    public static func name(in commandLine: String) -> String? {
        for word in ByteText(utf8: commandLine).words() {
            if let value = word.dropping(prefix: "name=") { return value.text }
        }
        return nil
    }

    /// Parses `key=value` words; other words (a leading "guest", say) are ignored.
    public init(commandLine: String) throws(GuestImageError) {
        for word in ByteText(utf8: commandLine).words() {
            guard let equals = word.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = word[..<equals]
            let value = word[(equals + 1)...]
            let valueText = value.text
            if key.equals("name") {
                name = valueText
            } else if key.equals("mode") {
                guard let mode = GuestMode(option: value) else { throw .badValue(option: "mode", value: valueText) }
                self.mode = mode
            } else if key.equals("load") {
                guard let address = parseNumber(value) else { throw .badValue(option: "load", value: valueText) }
                load = address
            } else if key.equals("entry") {
                guard let address = parseNumber(value) else { throw .badValue(option: "entry", value: valueText) }
                entry = address
            } else if key.equals("memory") {
                guard let mib = parseNumber(value), mib >= 1, mib <= GuestPlan.maximumMemorySize >> 20
                else { throw .badValue(option: "memory", value: valueText) }
                memorySize = ((mib + 1) & ~1) << 20
            } else if key.equals("ept") {
                guard value.equals("required") else { throw .badValue(option: "ept", value: valueText) }
                requiresEPT = true
            } else if key.equals("touch") {
                guard let address = parseNumber(value), address % PhysicalLayout.pageSize == 0
                else { throw .badValue(option: "touch", value: valueText) }
                firstTouch = address
            } else if key.equals("budget") {
                guard let cycles = parseNumber(value), cycles > 0 else {
                    throw .badValue(option: "budget", value: valueText)
                }
                budget = cycles
            } else {
                throw .unknownOption(word.text)
            }
        }
    }
}

/// A decimal number, or hexadecimal with 0x.
func parseNumber(_ text: ByteText) -> UInt64? {
    if text.hasPrefix("0x") || text.hasPrefix("0X") { return parseHex(text) }
    guard !text.isEmpty, text.count <= 19 else { return nil }
    var value: UInt64 = 0
    for byte in text {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
    }
    return value
}

/// Reads the image's bytes (physical memory, any alignment).
struct ImageBytes<P: Processor> {
    let cpu: P
    let base: UInt64

    // Not inlined: the ELF parser reads some thirty fields.
    @inline(never)
    func u8(_ offset: UInt64) -> UInt64 { UInt64(readByte(base &+ offset, cpu: cpu)) }
    @inline(never)
    func u16(_ offset: UInt64) -> UInt64 { u8(offset) | u8(offset &+ 1) << 8 }
    @inline(never)
    func u32(_ offset: UInt64) -> UInt64 { u16(offset) | u16(offset &+ 2) << 16 }
    @inline(never)
    func u64(_ offset: UInt64) -> UInt64 { u32(offset) | u32(offset &+ 4) << 32 }
}

extension GuestImage {
    /// Whether the image starts with the ELF magic (7FH 'E' 'L' 'F').
    public func isELF<P: Processor>(cpu: P) -> Bool {
        guard size >= 4 else { return false }
        let bytes = ImageBytes(cpu: cpu, base: address)
        return bytes.u32(0) == 0x464C_457F
    }

    /// Works out where the image goes, checking everything against the guest's memory.
    public func plan<P: Processor>(cpu: P) throws(GuestImageError) -> GuestPlan {
        let options = try GuestOptions(commandLine: commandLine)
        guard size > 0 else { throw .emptyImage }
        let memorySize = options.memorySize
        let structures = memorySize - GuestMemory.structuresSize
        var segments: [GuestPlan.Segment] = []
        var mode = options.mode ?? .long
        var entry: UInt64
        let elf = isELF(cpu: cpu)
        if elf {
            let header = try elfSegments(cpu: cpu)
            segments = header.segments
            entry = options.entry ?? header.entry
            mode = options.mode ?? (header.is64Bit ? .long : .protected)
        } else {
            guard let load = options.load else { throw .flatWithoutLoadAddress }
            segments = [GuestPlan.Segment(fileOffset: 0, fileSize: size, guestPhysical: load, memorySize: size)]
            entry = options.entry ?? load
        }
        for segment in segments {
            let end = segment.guestPhysical &+ segment.memorySize
            guard end >= segment.guestPhysical, end <= memorySize else {
                throw .tooBig(start: segment.guestPhysical, end: end, limit: memorySize)
            }
            guard end <= structures else {
                throw .overlapsHypervisorStructures(start: segment.guestPhysical, end: end, structures: structures)
            }
        }
        guard entry < structures else { throw .entryOutsideImage(entry: entry) }
        if let touch = options.firstTouch {
            // Only memory no segment loads into: the image is copied in before the first entry.
            let loaded = segments.map { $0.guestPhysical &+ $0.memorySize }.max() ?? 0
            guard touch >= loaded, touch < structures else {
                throw .firstTouchOutsideFreeMemory(address: touch, imageEnd: loaded, structures: structures)
            }
        }
        if mode == .real && entry >= 1 << 20 { throw .realModeEntryAbove1MiB(entry: entry) }
        return GuestPlan(
            name: OutsideText(options.name ?? name), mode: mode, entry: entry, memorySize: memorySize,
            budget: options.budget, segments: segments, isELF: elf, requiresEPT: options.requiresEPT,
            firstTouch: options.firstTouch)
    }

    /// The PT_LOAD segments and the entry of an ELF file (ELF specification, "ELF Header" and
    /// "Program Header"; 32- and 64-bit, little-endian, executable, x86).
    func elfSegments<P: Processor>(cpu: P) throws(GuestImageError) -> (
        segments: [GuestPlan.Segment], entry: UInt64, is64Bit: Bool
    ) {
        let b = ImageBytes(cpu: cpu, base: address)
        guard size >= 52 else { throw .badELFHeader(field: "file size", value: size) }
        let elfClass = b.u8(4)
        guard elfClass == 1 || elfClass == 2 else { throw .badELFHeader(field: "EI_CLASS", value: elfClass) }
        let is64 = elfClass == 2
        guard b.u8(5) == 1 else { throw .badELFHeader(field: "EI_DATA (1 = little-endian)", value: b.u8(5)) }
        guard b.u8(6) == 1 else { throw .badELFHeader(field: "EI_VERSION", value: b.u8(6)) }
        guard b.u16(16) == 2 else { throw .badELFHeader(field: "e_type (2 = ET_EXEC)", value: b.u16(16)) }
        let machine = b.u16(18)
        guard machine == (is64 ? 62 : 3) else { throw .badELFHeader(field: "e_machine", value: machine) }
        guard !is64 || size >= 64 else { throw .badELFHeader(field: "file size", value: size) }
        let entry = is64 ? b.u64(24) : b.u32(24)
        let phoff = is64 ? b.u64(32) : b.u32(28)
        let phentsize = is64 ? b.u16(54) : b.u16(42)
        let phnum = is64 ? b.u16(56) : b.u16(44)
        guard phentsize == (is64 ? 56 : 32) else { throw .badELFHeader(field: "e_phentsize", value: phentsize) }
        guard phoff <= size, phnum * phentsize <= size - phoff else {
            throw .badELFHeader(field: "e_phoff", value: phoff)
        }
        var segments: [GuestPlan.Segment] = []
        for index in 0..<phnum {
            let ph = phoff + index * phentsize
            guard b.u32(ph) == 1 else { continue }  // PT_LOAD
            let offset = is64 ? b.u64(ph + 8) : b.u32(ph + 4)
            let paddr = is64 ? b.u64(ph + 24) : b.u32(ph + 12)
            let filesz = is64 ? b.u64(ph + 32) : b.u32(ph + 16)
            let memsz = is64 ? b.u64(ph + 40) : b.u32(ph + 20)
            guard offset <= size, filesz <= size - offset else { throw .elfSegmentOutsideFile(index: Int(index)) }
            guard filesz <= memsz else { throw .elfSegmentFileSizeBeyondMemorySize(index: Int(index)) }
            segments.append(
                GuestPlan.Segment(fileOffset: offset, fileSize: filesz, guestPhysical: paddr, memorySize: memsz))
        }
        guard !segments.isEmpty else { throw .elfNoLoadableSegment }
        return (segments, entry, is64)
    }
}
