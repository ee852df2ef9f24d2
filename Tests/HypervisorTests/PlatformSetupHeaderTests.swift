// LinuxSetupHeader against the real header of Debian's linux-image-6.1.0-57-cloud-amd64
// (Tests/fixtures/linux) and malformed variants of it.
import Testing
import VMX
@testable import Hypervisor

@Suite struct PlatformSetupHeaderTests {
    static let imageAddress: UInt64 = 0x200_0000

    func parse(
        _ bytes: [UInt8],
        size: UInt64 = PlatformFixtures.bzImageSize
    ) throws(LinuxBootError) -> LinuxSetupHeader {
        let cpu = platformProcessor()
        cpu.load(bytes, at: Self.imageAddress)
        return try LinuxSetupHeader.parse(imageAt: Self.imageAddress, size: size, cpu: cpu)
    }

    func modified(_ changes: [(offset: Int, byte: UInt8)]) throws -> [UInt8] {
        var bytes = try PlatformFixtures.bzImageHeader()
        for change in changes { bytes[change.offset] = change.byte }
        return bytes
    }

    @Test func theDebianKernelsHeader() throws {
        let header = try parse(try PlatformFixtures.bzImageHeader())
        #expect(header.protocolVersion == 0x020F)
        #expect(header.xloadflags == 0x7F && header.hasKernel64 && header.canBeLoadedAbove4G)
        #expect(header.loadFlags & LinuxSetupHeader.loadedHigh != 0)
        #expect(header.kernelAlignment == 2 << 20 && header.relocatableKernel && header.minAlignment == 21)
        #expect(header.prefAddress == 16 << 20)
        #expect(header.initSize == 0x337_8000)
        #expect(header.cmdlineSize == 2047)
        #expect(header.initrdAddrMax == 0x7FFF_FFFF)
        #expect(header.setupSects == 39 && header.protectedModeOffset == 40 * 512)
        #expect(
            header.protectedModeOffset + header.protectedModeSize == PlatformFixtures.bzImageSize,
            "setup sectors + syssize paragraphs are exactly the file")
        #expect(header.headerEnd == 0x26C, "protocol 2.15 ends with kernel_info_offset")
        #expect(header.kernelInfoOffset != 0 && header.handoverOffset != 0)
    }

    @Test func isBzImage() throws {
        let cpu = platformProcessor()
        cpu.load(try PlatformFixtures.bzImageHeader(), at: Self.imageAddress)
        #expect(LinuxSetupHeader.isBzImage(imageAt: Self.imageAddress, size: 1024, cpu: cpu))
        #expect(!LinuxSetupHeader.isBzImage(imageAt: Self.imageAddress, size: 0x200, cpu: cpu))
        cpu.poke(Self.imageAddress + 0x211, 0)  // LOADED_HIGH clear: a zImage
        #expect(!LinuxSetupHeader.isBzImage(imageAt: Self.imageAddress, size: 1024, cpu: cpu))
        #expect(!LinuxSetupHeader.isBzImage(imageAt: 0, size: 1024, cpu: platformProcessor()))
    }

    @Test func truncatedImages() throws {
        let bytes = try PlatformFixtures.bzImageHeader()
        #expect(throws: LinuxBootError.imageTruncated(size: 1024, needed: PlatformFixtures.bzImageSize)) {
            try parse(bytes, size: 1024)
        }
        #expect(throws: LinuxBootError.imageTruncated(size: 0x200, needed: 0x208)) { try parse(bytes, size: 0x200) }
        #expect(throws: LinuxBootError.imageTruncated(size: 0x260, needed: 0x26C)) { try parse(bytes, size: 0x260) }
    }

    @Test func wrongMagic() throws {
        #expect(throws: LinuxBootError.badBootFlag(found: 0xAA54)) { try parse(try modified([(0x1FE, 0x54)])) }
        #expect(throws: LinuxBootError.badHeaderMagic(found: 0x5372_6468)) { try parse(try modified([(0x202, 0x68)])) }
    }

    @Test func protocolTooOld() throws {
        let error = LinuxBootError.protocolTooOld(version: 0x020B, needed: 0x020C)
        #expect(throws: error) { try parse(try modified([(0x206, 0x0B)])) }
        #expect(
            describeText(error.describe(into:))
                == "boot protocol 2.11 is too old (this loader needs 2.12 or later)")
    }

    @Test func no64BitEntryOrNotBzImage() throws {
        let error = LinuxBootError.no64BitEntry(xloadflags: 0x7E)
        #expect(throws: error) { try parse(try modified([(0x236, 0x7E)])) }
        #expect(describeText(error.describe(into:)) == "no 64-bit entry point: xloadflags 0x7e lack XLF_KERNEL_64")
        #expect(throws: LinuxBootError.notBzImage(loadFlags: 0)) { try parse(try modified([(0x211, 0)])) }
    }

    @Test func headerLengthOutsideTheFields() throws {
        #expect(throws: LinuxBootError.badHeaderLength(end: 0x202 + 0x50)) { try parse(try modified([(0x201, 0x50)])) }
        #expect(throws: LinuxBootError.badHeaderLength(end: 0x202 + 0x90)) { try parse(try modified([(0x201, 0x90)])) }
    }

    @Test func zeroSetupSectsMeansFour() throws {
        // setup_sects 0: 4 sectors; the image then must hold (4 + 1) * 512 + syssize * 16 bytes.
        let header = try parse(try modified([(0x1F1, 0)]), size: PlatformFixtures.bzImageSize)
        #expect(header.setupSectors == 4 && header.protectedModeOffset == 5 * 512)
    }

    @Test func describeTexts() {
        #expect(
            describeText(LinuxBootError.imageTruncated(size: 10, needed: 20).describe(into:))
                == "truncated kernel image: 10 bytes, its header needs 20")
        #expect(
            describeText(LinuxBootError.badHeaderMagic(found: 0).describe(into:))
                == "not a Linux kernel: header at 0x202 is 0x0, not \"HdrS\"")
        #expect(
            describeText(LinuxBootError.above4GiB(item: .ramdisk, address: 1 << 32).describe(into:))
                == "the initial ramdisk at 0x100000000 lies above 4 GiB, "
                + "and xloadflags lack XLF_CAN_BE_LOADED_ABOVE_4G")
    }
}
