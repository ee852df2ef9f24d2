// Guest images (GuestImage.plan): options, flat binaries, ELF files, and every bad input named.
import Testing
import VMX
@testable import Hypervisor

/// Bytes in the fake processor's memory (it keeps 32-bit words).
func store(_ bytes: [UInt8], at address: UInt64, in cpu: FakeProcessor) {
    for (index, byte) in bytes.enumerated() { writeByte(address + UInt64(index), byte, cpu: cpu) }
}

/// A little-endian integer as bytes.
func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}

/// An ELF executable header and program headers (ELF specification, 32- or 64-bit layout).
func elf(
    is64: Bool = true, entry: UInt64, segments: [(offset: UInt64, paddr: UInt64, filesz: UInt64, memsz: UInt64)],
    classByte: UInt8? = nil, machine: UInt16? = nil, type: UInt16 = 2
) -> [UInt8] {
    var b: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, classByte ?? (is64 ? 2 : 1), 1, 1, 0] + Array(repeating: 0, count: 8)
    b += bytes(type) + bytes(machine ?? (is64 ? 62 : 3)) + bytes(UInt32(1))
    let phoff: UInt64 = is64 ? 64 : 52
    if is64 {
        b += bytes(entry) + bytes(phoff) + bytes(UInt64(0)) + bytes(UInt32(0)) + bytes(UInt16(64))
        b += bytes(UInt16(56)) + bytes(UInt16(segments.count)) + bytes(UInt16(0)) + bytes(UInt16(0)) + bytes(UInt16(0))
    } else {
        b += bytes(UInt32(entry)) + bytes(UInt32(phoff)) + bytes(UInt32(0)) + bytes(UInt32(0)) + bytes(UInt16(52))
        b += bytes(UInt16(32)) + bytes(UInt16(segments.count)) + bytes(UInt16(0)) + bytes(UInt16(0)) + bytes(UInt16(0))
    }
    for s in segments {
        if is64 {
            b += bytes(UInt32(1)) + bytes(UInt32(5)) + bytes(s.offset) + bytes(s.paddr) + bytes(s.paddr)
            b += bytes(s.filesz) + bytes(s.memsz) + bytes(UInt64(0x1000))
        } else {
            b += bytes(UInt32(1)) + bytes(UInt32(s.offset)) + bytes(UInt32(s.paddr)) + bytes(UInt32(s.paddr))
            b += bytes(UInt32(s.filesz)) + bytes(UInt32(s.memsz)) + bytes(UInt32(5)) + bytes(UInt32(0x1000))
        }
    }
    return b
}

@Suite struct GuestImageTests {
    static let imageAddress: UInt64 = 0x20_0000

    func plan(_ image: [UInt8], _ commandLine: String) throws(GuestImageError) -> GuestPlan {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        store(image, at: Self.imageAddress, in: cpu)
        return try GuestImage(
            name: "module 0", address: Self.imageAddress, size: UInt64(image.count),
            commandLine: commandLine, isBuiltIn: false
        ).plan(cpu: cpu)
    }

    @Test func flatBinaryWithOptions() throws {
        let p = try plan([0x90, 0xF4], "guest name=tiny mode=real load=0x7c00 memory=3 budget=1000")
        #expect(p.name.string == "tiny" && p.mode == .real && p.entry == 0x7C00 && !p.isELF)
        #expect(p.memorySize == 4 << 20, "rounded up to 2 MiB")
        #expect(p.budget == 1000)
        #expect(p.segments == [GuestPlan.Segment(fileOffset: 0, fileSize: 2, guestPhysical: 0x7C00, memorySize: 2)])
    }

    @Test func defaults() throws {
        let p = try plan([0xF4], "load=0x10000 entry=65540")
        #expect(p.name.string == "module 0" && p.mode == .long && p.entry == 0x10004)
        #expect(p.memorySize == GuestPlan.defaultMemorySize && p.budget == GuestPlan.defaultBudget && !p.requiresEPT)
        #expect(try plan([0xF4], "load=0x10000 ept=required").requiresEPT)
    }

    @Test func elf64TakesModeAddressAndEntryFromItsHeaders() throws {
        let header = elf(entry: 0x10_1000, segments: [(0x100, 0x10_1000, 4, 0x1000)])
        let image = header + Array(repeating: 0, count: 0x100 - header.count) + [1, 2, 3, 4]
        let p = try plan(image, "guest name=e")
        #expect(p.isELF && p.mode == .long && p.entry == 0x10_1000)
        #expect(
            p.segments == [
                GuestPlan.Segment(fileOffset: 0x100, fileSize: 4, guestPhysical: 0x10_1000, memorySize: 0x1000)
            ])
    }

    @Test func elf32StartsInProtectedModeUnlessTold() throws {
        let image = elf(is64: false, entry: 0x10_0000, segments: [(0, 0x10_0000, 52, 64)])
        #expect(try plan(image, "").mode == .protected)
        #expect(try plan(image, "mode=long").mode == .long)
    }

    @Test func badInputIsNamed() throws {
        #expect(throws: GuestImageError.flatWithoutLoadAddress) { try plan([0xF4], "mode=long") }
        #expect(throws: GuestImageError.unknownOption("speed=fast")) { try plan([0xF4], "load=0 speed=fast") }
        #expect(throws: GuestImageError.badValue(option: "mode", value: "warp")) { try plan([0xF4], "mode=warp") }
        #expect(throws: GuestImageError.badValue(option: "load", value: "0xZZ")) { try plan([0xF4], "load=0xZZ") }
        #expect(throws: GuestImageError.badValue(option: "memory", value: "64")) {
            try plan([0xF4], "load=0 memory=64")
        }
        // 30 MiB is the most the 32-MiB arena can give one guest (GuestPlan.maximumMemorySize).
        #expect(throws: GuestImageError.badValue(option: "memory", value: "31")) {
            try plan([0xF4], "load=0 memory=31")
        }
        #expect(try plan([0xF4], "load=0 memory=30").memorySize == 30 << 20)
        #expect(throws: GuestImageError.tooBig(start: 0x30_0000, end: 0x30_0001, limit: 0x20_0000)) {
            try plan([0xF4], "load=0x300000")
        }
        #expect(
            throws: GuestImageError.overlapsHypervisorStructures(
                start: 0x1F_8000, end: 0x1F_8001, structures: 0x1F_0000)
        ) {
            try plan([0xF4], "load=0x1f8000")
        }
        #expect(throws: GuestImageError.entryOutsideImage(entry: 0x1F_0000)) {
            try plan([0xF4], "load=0 entry=0x1f0000")
        }
        #expect(throws: GuestImageError.realModeEntryAbove1MiB(entry: 0x10_0000)) {
            try plan([0xF4], "mode=real load=0x100000")
        }
        #expect(throws: GuestImageError.emptyImage) { try plan([], "load=0") }
        #expect(throws: GuestImageError.badValue(option: "touch", value: "0x100800")) {
            try plan([0xF4], "load=0 touch=0x100800")
        }
        #expect(
            throws: GuestImageError.firstTouchOutsideFreeMemory(
                address: 0x1_0000, imageEnd: 0x1_0001, structures: 0x1F_0000)
        ) {
            try plan([0xF4], "load=0x10000 touch=0x10000")
        }
        #expect(
            throws: GuestImageError.firstTouchOutsideFreeMemory(
                address: 0x1F_0000, imageEnd: 0x1_0001, structures: 0x1F_0000)
        ) {
            try plan([0xF4], "load=0x10000 touch=0x1f0000")
        }
        #expect(try plan([0xF4], "load=0x10000 touch=0x11000").firstTouch == 0x1_1000)
        #expect(try plan([0xF4], "load=0x10000").firstTouch == nil)
    }

    @Test func badELFHeadersAreNamed() {
        let good = elf(entry: 0x10_0000, segments: [(0, 0x10_0000, 0x78, 0x78)])
        #expect(throws: GuestImageError.badELFHeader(field: "EI_CLASS", value: 3)) {
            try plan(elf(entry: 0, segments: [], classByte: 3), "")
        }
        #expect(throws: GuestImageError.badELFHeader(field: "e_machine", value: 40)) {
            try plan(elf(entry: 0, segments: [], machine: 40), "")
        }
        #expect(throws: GuestImageError.badELFHeader(field: "e_type (2 = ET_EXEC)", value: 3)) {
            try plan(elf(entry: 0, segments: [], type: 3), "")
        }
        #expect(throws: GuestImageError.elfNoLoadableSegment) { try plan(elf(entry: 0, segments: []), "") }
        #expect(throws: GuestImageError.elfSegmentOutsideFile(index: 0)) {
            try plan(elf(entry: 0x10_0000, segments: [(0x1000, 0x10_0000, 4, 4)]), "")
        }
        #expect(throws: GuestImageError.elfSegmentFileSizeBeyondMemorySize(index: 0)) {
            try plan(elf(entry: 0x10_0000, segments: [(0, 0x10_0000, 0x78, 4)]), "")
        }
        #expect(throws: GuestImageError.badELFHeader(field: "file size", value: 8)) {
            try plan(Array(good.prefix(8)), "")
        }
        #expect(throws: Never.self) { try plan(good, "") }
    }

    @Test func descriptionsNameTheCondition() {
        var text = LogText()
        GuestImageError.badELFHeader(field: "EI_CLASS", value: 3).describe(into: &text)
        #expect(text.string == "bad ELF header: EI_CLASS = 0x3")
        text = LogText()
        GuestImageError.tooBig(start: 0x30_0000, end: 0x30_0597, limit: 0x20_0000).describe(into: &text)
        #expect(text.string == "too big: [0x300000, 0x300597) does not fit the guest's memory [0x0, 0x200000)")
        text = LogText()
        GuestImageError.firstTouchOutsideFreeMemory(address: 0x1_0000, imageEnd: 0x1_0001, structures: 0x1F_0000)
            .describe(into: &text)
        #expect(
            text.string
                == """
                touch=0x10000 must lie at or above the image's end 0x10001 and below the hypervisor's structures \
                at 0x1f0000
                """
        )
        #expect(GuestOptions.name(in: "guest name=x speed=fast") == "x")
        #expect(GuestOptions.name(in: "guest") == nil)
    }
}
