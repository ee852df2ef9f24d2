// LinuxZeroPage: boot_params built from the real Debian kernel header, checked field by field
// at the offsets of arch/x86/include/uapi/asm/bootparam.h.
import Testing
import VMX
@testable import Hypervisor

@Suite struct PlatformZeroPageTests {
    static let imageAddress: UInt64 = 0x200_0000
    static let zeroPage: UInt64 = 0x7000
    static let setupData: UInt64 = 0x8000

    func kernel(changes: [(offset: UInt64, byte: UInt8)] = []) throws -> (FakeProcessor, LinuxSetupHeader) {
        let cpu = platformProcessor()
        cpu.load(try PlatformFixtures.bzImageHeader(), at: Self.imageAddress)
        for change in changes { cpu.poke(Self.imageAddress + change.offset, change.byte) }
        let header = try LinuxSetupHeader.parse(
            imageAt: Self.imageAddress, size: PlatformFixtures.bzImageSize,
            cpu: cpu)
        return (cpu, header)
    }

    static func map(_ count: Int) -> [E820Entry] {
        (0..<count).map {
            E820Entry(base: UInt64($0) << 20, length: 0x1000, type: $0 % 2 == 0 ? .available : .reserved)
        }
    }

    @Test func theFieldsOfTheZeroPage() throws {
        let (cpu, header) = try kernel()
        for offset in stride(from: UInt64(0), to: 4096, by: 1) { cpu.poke(Self.zeroPage + offset, 0xAA) }
        let page = LinuxZeroPage(
            commandLineAddress: 0x2_0000, ramdiskAddress: 0x600_0000, ramdiskSize: 0x12_3456,
            e820: Self.map(3), acpiRSDPAddress: 0xF9FE0)
        try page.write(at: Self.zeroPage, header: header, cpu: cpu)
        let z = Self.zeroPage
        // The setup header as the image has it, from 1F1H to its end (26CH), but for the loader's fields.
        let image = try PlatformFixtures.bzImageHeader()
        let loaderFields = Set<UInt64>(
            [0x210, 0x211] + Array(0x218..<0x220) + [0x224, 0x225]
                + Array(0x228..<0x22C))
        for offset in UInt64(0x1F1)..<0x26C where !loaderFields.contains(offset) {
            #expect(cpu.peek(z + offset) == image[Int(offset)], "setup header byte \(offset)")
        }
        #expect(cpu.peek(z + 0x210) == 0xFF, "type_of_loader")
        #expect(cpu.peek(z + 0x211) == 0x01, "loadflags: LOADED_HIGH only")
        #expect(cpu.peek16(z + 0x224) == 0, "heap_end_ptr")
        #expect(cpu.peek32(z + 0x228) == 0x2_0000 && cpu.peek32(z + 0xC8) == 0, "cmd_line_ptr, ext_cmd_line_ptr")
        #expect(cpu.peek32(z + 0x218) == 0x600_0000 && cpu.peek32(z + 0xC0) == 0, "ramdisk_image")
        #expect(cpu.peek32(z + 0x21C) == 0x12_3456 && cpu.peek32(z + 0xC4) == 0, "ramdisk_size")
        #expect(cpu.peek64(z + 0x70) == 0xF9FE0, "acpi_rsdp_addr")
        #expect(cpu.peek(z + 0x1E8) == 3, "e820_entries")
        #expect(cpu.peek64(z + 0x2D0 + 20) == 1 << 20 && cpu.peek64(z + 0x2D0 + 28) == 0x1000)
        #expect(cpu.peek32(z + 0x2D0 + 36) == 2, "second entry's type")
        #expect(cpu.peek64(z + 0x250) == 0, "setup_data")
        #expect(cpu.peek(z + 0x1EF) == 0, "sentinel")
        #expect(cpu.peek(z + 0x26C) == 0 && cpu.peek(z + 0xFFF) == 0 && cpu.peek(z) == 0, "zeroed first")
    }

    @Test func addressesAbove4GiBGoToTheExtFields() throws {
        let (cpu, header) = try kernel()
        let page = LinuxZeroPage(
            commandLineAddress: 0x1_2345_6000, ramdiskAddress: 0x2_0000_1000,
            ramdiskSize: 0x1_0000_0010, e820: [])
        try page.write(at: Self.zeroPage, header: header, cpu: cpu)
        #expect(cpu.peek32(Self.zeroPage + 0x228) == 0x2345_6000 && cpu.peek32(Self.zeroPage + 0xC8) == 1)
        #expect(cpu.peek32(Self.zeroPage + 0x218) == 0x1000 && cpu.peek32(Self.zeroPage + 0xC0) == 2)
        #expect(cpu.peek32(Self.zeroPage + 0x21C) == 0x10 && cpu.peek32(Self.zeroPage + 0xC4) == 1)
    }

    @Test func aKernelThatMustStayBelow4GiB() throws {
        let (cpu, header) = try kernel(changes: [(0x236, 0x7D)])  // XLF_CAN_BE_LOADED_ABOVE_4G clear
        #expect(throws: LinuxBootError.above4GiB(item: .commandLine, address: 1 << 32)) {
            try LinuxZeroPage(commandLineAddress: 1 << 32, e820: []).write(at: Self.zeroPage, header: header, cpu: cpu)
        }
        #expect(throws: LinuxBootError.ramdiskAboveLimit(end: 0x8000_1000, limit: 0x7FFF_FFFF)) {
            try LinuxZeroPage(commandLineAddress: 0x2_0000, ramdiskAddress: 0x7FFF_F000, ramdiskSize: 0x2000, e820: [])
                .write(at: Self.zeroPage, header: header, cpu: cpu)
        }
        try LinuxZeroPage(commandLineAddress: 0x2_0000, ramdiskAddress: 0x7FFF_F000, ramdiskSize: 0x1000, e820: [])
            .write(at: Self.zeroPage, header: header, cpu: cpu)
    }

    @Test func moreThan128EntriesGoToASetupDataNode() throws {
        let (cpu, header) = try kernel()
        let map = Self.map(130)
        #expect(LinuxZeroPage.setupDataSize(e820Count: 130) == 16 + 2 * 20)
        #expect(LinuxZeroPage.setupDataSize(e820Count: 128) == 0)
        try LinuxZeroPage(commandLineAddress: 0x2_0000, e820: map, setupDataAddress: Self.setupData)
            .write(at: Self.zeroPage, header: header, cpu: cpu)
        #expect(cpu.peek(Self.zeroPage + 0x1E8) == 128)
        #expect(cpu.peek64(Self.zeroPage + 0x2D0 + 127 * 20) == 127 << 20)
        #expect(cpu.peek64(Self.zeroPage + 0x250) == Self.setupData, "hdr.setup_data")
        #expect(cpu.peek64(Self.setupData) == 0 && cpu.peek32(Self.setupData + 8) == 1, "next, SETUP_E820_EXT")
        #expect(cpu.peek32(Self.setupData + 12) == 40, "len")
        #expect(cpu.peek64(Self.setupData + 16) == 128 << 20 && cpu.peek32(Self.setupData + 16 + 16) == 1)
        #expect(cpu.peek64(Self.setupData + 36) == 129 << 20 && cpu.peek32(Self.setupData + 36 + 16) == 2)
        #expect(throws: LinuxBootError.tooManyE820Entries(count: 130, limit: 128)) {
            try LinuxZeroPage(commandLineAddress: 0x2_0000, e820: map)
                .write(at: Self.zeroPage, header: header, cpu: cpu)
        }
    }

    @Test func theCommandLine() throws {
        let (cpu, header) = try kernel()
        let text = "console=ttyS0,115200 panic=-1"
        let line = Array(text.utf8)
        for offset in 0..<64 { cpu.poke(0x2_0000 + UInt64(offset), 0xAA) }
        try LinuxZeroPage.writeCommandLine(line, at: 0x2_0000, header: header, cpu: cpu)
        #expect(cpu.peek(0x2_0000, count: line.count + 1) == line + [0])
        try LinuxZeroPage.writeCommandLine(text.utf8, at: 0x3_0000, header: header, cpu: cpu)
        #expect(cpu.peek(0x3_0000, count: line.count + 1) == line + [0])
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 2048)
        #expect(throws: LinuxBootError.commandLineTooLong(length: 2048, limit: 2047)) {
            try LinuxZeroPage.writeCommandLine(long, at: 0x2_0000, header: header, cpu: cpu)
        }
    }
}
