// Shared by the Platform tests: physical memory holding real bytes (the fixtures under
// Tests/fixtures/linux and Tests/fixtures/acpi) at their original addresses.
import Foundation
import Testing
import VMX
@testable import Hypervisor

enum PlatformFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The first KiB of Debian's vmlinuz-6.1.0-57-cloud-amd64, and the whole file's size.
    static func bzImageHeader() throws -> [UInt8] { try bytes("linux/bzimage-header.bin") }
    static let bzImageSize: UInt64 = 14_189_056

    /// The Bochs 2.7 ACPI capture (Tests/fixtures/acpi/README.md): file and original address.
    static let acpiFiles: [(name: String, address: UInt64)] = [
        ("bios-e0000-fffff.bin", 0xE0000), ("ebda-9fc00.bin", 0x9FC00),
        ("rsdt-0fff0000.bin", 0xFFF_0000), ("facp-0fff0034.bin", 0xFFF_0034), ("facs-0fff00c0.bin", 0xFFF_00C0),
        ("dsdt-0fff0100.bin", 0xFFF_0100), ("ssdt-0fff0f38.bin", 0xFFF_0F38), ("apic-0fff0f80.bin", 0xFFF_0F80),
        ("hpet-0fff0fd8.bin", 0xFFF_0FD8)
    ]
    static let rsdpAddress: UInt64 = 0xF9FE0
    static let rsdtAddress: UInt64 = 0xFFF_0000
    static let fadtAddress: UInt64 = 0xFFF_0034
    static let dsdtAddress: UInt64 = 0xFFF_0100
    static let madtAddress: UInt64 = 0xFFF_0F80
    /// The BIOS data area's EBDA segment as Bochs' BIOS left it.
    static let ebdaSegment: UInt16 = 0x9FC0
}

/// A processor whose physical memory the test fills byte by byte.
func platformProcessor() -> FakeProcessor { FakeProcessor(msrs: [:], leaves: [:]) }

extension FakeProcessor {
    func load(_ bytes: [UInt8], at address: UInt64) {
        for (index, byte) in bytes.enumerated() { poke(address + UInt64(index), byte) }
    }

    func poke(_ address: UInt64, _ byte: UInt8) {
        let word = address & ~3, shift = (address & 3) * 8
        memory[word] = (readPhysical32(word) & ~(UInt32(0xFF) << shift)) | UInt32(byte) << shift
    }

    func peek(_ address: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: readPhysical32(address & ~3) >> ((address & 3) * 8))
    }

    func peek(_ address: UInt64, count: Int) -> [UInt8] { (0..<count).map { peek(address + UInt64($0)) } }

    func peek16(_ address: UInt64) -> UInt64 { UInt64(peek(address)) | UInt64(peek(address + 1)) << 8 }
    func peek32(_ address: UInt64) -> UInt64 { peek16(address) | peek16(address + 2) << 16 }
    func peek64(_ address: UInt64) -> UInt64 { peek32(address) | peek32(address + 4) << 32 }

    func poke32(_ address: UInt64, _ value: UInt32) {
        for index in 0..<4 { poke(address + UInt64(index), UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))) }
    }

    /// Makes the table at `address` sum to zero again after a test changed it (checksum at 9).
    func fixChecksum(table address: UInt64) {
        let length = Int(peek32(address + 4))
        poke(address + 9, 0)
        let sum = peek(address, count: length).reduce(UInt8(0), &+)
        poke(address + 9, 0 &- sum)
    }

    /// Every Bochs ACPI fixture at its address, and the BDA's EBDA pointer.
    static func withBochsACPI() throws -> FakeProcessor {
        let cpu = platformProcessor()
        for file in PlatformFixtures.acpiFiles {
            cpu.load(try PlatformFixtures.bytes("acpi/" + file.name), at: file.address)
        }
        cpu.poke(0x40E, UInt8(PlatformFixtures.ebdaSegment & 0xFF))
        cpu.poke(0x40F, UInt8(PlatformFixtures.ebdaSegment >> 8))
        return cpu
    }
}

/// What `describe(into:)` says.
func describeText(_ body: (inout LogText) -> Void) -> String {
    var text = LogText()
    body(&text)
    return text.string
}
