// The ACPI readers against Bochs 2.7's real tables (Tests/fixtures/acpi, corei7_skylake_x,
// megs: 256, cpu: count=2), then against malformed variants of them.
import Testing
import VMX
@testable import Hypervisor

@Suite struct PlatformACPITests {
    typealias F = PlatformFixtures

    @Test func theBochsTables() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        let rsdp = try ACPIRSDP.find(cpu: cpu)
        #expect(rsdp == ACPIRSDP(address: F.rsdpAddress, revision: 0, rsdtAddress: 0xFFF_0000, xsdtAddress: 0))
        let root = try ACPIRootTable.read(rsdp: rsdp, cpu: cpu)
        #expect(!root.isExtended && root.entries == [0xFFF_0034, 0xFFF_0F80, 0xFFF_0F38, 0xFFF_0FD8])
        let fadt = try ACPIFADT.read(root: root, cpu: cpu)
        #expect(fadt.table.revision == 1 && fadt.table.length == 116)
        #expect(
            fadt.pm1aControl
                == ACPIGenericAddress(
                    addressSpace: ACPIGenericAddress.systemIO, bitWidth: 16,
                    bitOffset: 0, accessSize: 0, address: 0xB004))
        #expect(fadt.pm1bControl == nil)
        #expect(fadt.resetRegister == nil, "a revision 1 FADT of 116 bytes has no RESET_REG")
        #expect(fadt.dsdtAddress == F.dsdtAddress)
        #expect(
            try ACPISleepStates.softOff(dsdtAddress: fadt.dsdtAddress, cpu: cpu)
                == ACPISleepType(slpTypA: 0, slpTypB: 0))
        let madt = try ACPIMADT.read(root: root, cpu: cpu)
        #expect(madt.localAPICAddress == 0xFEE0_0000 && madt.flags == 1)
        #expect(
            madt.processors == [
                ACPIMADT.LocalAPIC(processorUID: 0, apicID: 0, flags: 1, isX2APIC: false),
                ACPIMADT.LocalAPIC(processorUID: 1, apicID: 1, flags: 1, isX2APIC: false)
            ])
        #expect(madt.processors.allSatisfy { $0.isEnabled && !$0.isOnlineCapable })
        #expect(madt.ioAPICs == [ACPIMADT.IOAPIC(id: 2, address: 0xFEC0_0000, globalSystemInterruptBase: 0)])
        let platform = try ACPIPlatform.discover(cpu: cpu)
        #expect(platform.rsdp == rsdp && platform.fadt == fadt && platform.madt == madt)
    }

    @Test func anRSDPInTheEBDAIsFoundFirst() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        cpu.load(cpu.peek(F.rsdpAddress, count: 20), at: 0x9_FC40)
        #expect(try ACPIRSDP.find(cpu: cpu).address == 0x9_FC40)
        cpu.poke(0x40E, 0)
        cpu.poke(0x40F, 0)  // no EBDA: only the BIOS area is searched
        #expect(try ACPIRSDP.find(cpu: cpu).address == F.rsdpAddress)
    }

    @Test func rsdpChecksums() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        cpu.poke(F.rsdpAddress + 8, cpu.peek(F.rsdpAddress + 8) &+ 1)
        #expect(throws: ACPIError.rsdpBadChecksum(address: F.rsdpAddress)) { try ACPIRSDP.find(cpu: cpu) }
        #expect(throws: ACPIError.rsdpNotFound) { try ACPIRSDP.find(cpu: platformProcessor()) }
        // A good copy later in the area wins over the bad one.
        let copy = cpu.peek(F.rsdpAddress, count: 20)
        cpu.load(copy, at: 0xFFF00)
        cpu.poke(0xFFF08, copy[8] &- 1)
        #expect(try ACPIRSDP.find(cpu: cpu).address == 0xFFF00)
    }

    /// A revision 2 RSDP in the EBDA with an XSDT listing Bochs' tables.
    func withXSDT() throws -> FakeProcessor {
        let cpu = try FakeProcessor.withBochsACPI()
        let xsdt: UInt64 = 0xFFF_8000
        var table = Array("XSDT".utf8) + [0, 0, 0, 0, 1, 0] + [UInt8](repeating: 0x20, count: 26)
        for address: UInt64 in [0xFFF_0034, 0xFFF_0F80] {
            table += (0..<8).map { UInt8(truncatingIfNeeded: address >> (8 * $0)) }
        }
        table[4] = UInt8(table.count)
        cpu.load(table, at: xsdt)
        cpu.fixChecksum(table: xsdt)
        var rsdp = cpu.peek(F.rsdpAddress, count: 20) + [36, 0, 0, 0] + [UInt8](repeating: 0, count: 12)
        rsdp[15] = 2
        for index in 0..<8 { rsdp[24 + index] = UInt8(truncatingIfNeeded: xsdt >> (8 * UInt64(index))) }
        rsdp[8] = 0
        rsdp[8] = 0 &- rsdp[0..<20].reduce(0, &+)
        rsdp[32] = 0 &- rsdp.reduce(0, &+)
        cpu.load(rsdp, at: 0x9_FC00)
        return cpu
    }

    @Test func revision2WithAnXSDT() throws {
        let cpu = try withXSDT()
        let rsdp = try ACPIRSDP.find(cpu: cpu)
        #expect(rsdp.address == 0x9_FC00 && rsdp.revision == 2 && rsdp.xsdtAddress == 0xFFF_8000)
        let root = try ACPIRootTable.read(rsdp: rsdp, cpu: cpu)
        #expect(root.isExtended && root.entries == [0xFFF_0034, 0xFFF_0F80])
        #expect(try ACPIMADT.read(root: root, cpu: cpu).processors.count == 2)
        #expect(throws: ACPIError.tableNotFound(ACPISignature("HPET"))) {
            try root.find(ACPISignature("HPET"), cpu: cpu)
        }
        cpu.poke(0x9_FC20, cpu.peek(0x9_FC20) &+ 1)  // the extended checksum
        #expect(throws: ACPIError.rsdpBadExtendedChecksum(address: 0x9_FC00)) {
            try ACPIRSDP.parse(at: 0x9_FC00, cpu: cpu)
        }
        cpu.poke32(0x9_FC14, 0x10_0000)  // Length 1 MiB
        #expect(throws: ACPIError.rsdpBadLength(address: 0x9_FC00, length: 0x10_0000)) {
            try ACPIRSDP.parse(at: 0x9_FC00, cpu: cpu)
        }
    }

    @Test func tableChecksumsAndLengths() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        let root = try ACPIRootTable.read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu)
        cpu.poke(F.fadtAddress + 64, 0x05)  // PM1a_CNT_BLK B005H, checksum now off by one
        let error = ACPIError.tableBadChecksum(.fadt, address: F.fadtAddress, sum: 1)
        #expect(throws: error) { try ACPIFADT.read(root: root, cpu: cpu) }
        #expect(
            describeText(error.describe(into:))
                == "ACPI: the FACP table at 0xfff0034: bad checksum (the bytes sum to 0x1, not 0)")
        cpu.poke32(F.fadtAddress + 4, 100)  // shorter than an ACPI 1.0 FADT
        cpu.fixChecksum(table: F.fadtAddress)
        #expect(throws: ACPIError.tableBadLength(.fadt, address: F.fadtAddress, length: 100)) {
            try ACPIFADT.read(root: root, cpu: cpu)
        }
        cpu.poke32(F.madtAddress + 4, 0x20_0000)  // absurd: 2 MiB
        #expect(throws: ACPIError.tableBadLength(.madt, address: F.madtAddress, length: 0x20_0000)) {
            try ACPIMADT.read(root: root, cpu: cpu)
        }
        cpu.poke32(F.rsdtAddress + 36, 0xFFF_0100)  // the RSDT's first entry now points at the DSDT
        #expect(throws: ACPIError.tableWrongSignature(.fadt, address: 0xFFF_0100, found: .dsdt)) {
            try ACPITable.validate(at: 0xFFF_0100, signature: .fadt, cpu: cpu)
        }
        #expect(throws: ACPIError.tableBadChecksum(.rsdt, address: F.rsdtAddress, sum: 0xCD)) {
            try ACPIRootTable.read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu)
        }
        #expect(throws: ACPIError.tableBadAddress(.dsdt, address: 0)) {
            try ACPISleepStates.softOff(dsdtAddress: 0, cpu: cpu)
        }
    }

    @Test func aDSDTWithoutS5() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        let dsdt = try PlatformFixtures.bytes("acpi/dsdt-0fff0100.bin")
        let s5 = UInt64(try #require(dsdt.indices.first { Array(dsdt[$0..<$0 + 4]) == Array("_S5_".utf8) }))
        cpu.poke(F.dsdtAddress + s5 + 2, UInt8(ascii: "6"))  // \_S6_
        cpu.fixChecksum(table: F.dsdtAddress)
        let error = ACPIError.noS5(dsdtAddress: F.dsdtAddress)
        #expect(throws: error) { try ACPISleepStates.softOff(dsdtAddress: F.dsdtAddress, cpu: cpu) }
        #expect(
            describeText(error.describe(into:))
                == "ACPI: the DSDT table at 0xfff0100: no \\_S5 object (soft-off sleep type)")
        // A _S5_ that is not after NameOp (a reference) is not the definition either.
        cpu.poke(F.dsdtAddress + s5 + 2, UInt8(ascii: "5"))
        cpu.poke(F.dsdtAddress + s5 - 1, 0x70)  // StoreOp
        cpu.fixChecksum(table: F.dsdtAddress)
        #expect(throws: error) { try ACPISleepStates.softOff(dsdtAddress: F.dsdtAddress, cpu: cpu) }
        // A PackageOp replaced: malformed.
        cpu.poke(F.dsdtAddress + s5 - 1, 0x08)
        cpu.poke(F.dsdtAddress + s5 + 4, 0x13)
        cpu.fixChecksum(table: F.dsdtAddress)
        #expect(throws: ACPIError.badS5(dsdtAddress: F.dsdtAddress, offset: s5 + 4)) {
            try ACPISleepStates.softOff(dsdtAddress: F.dsdtAddress, cpu: cpu)
        }
    }

    /// A DSDT of the header and `aml`, at 0x10000.
    func dsdt(_ aml: [UInt8]) -> FakeProcessor {
        let cpu = platformProcessor()
        var table = Array("DSDT".utf8) + [0, 0, 0, 0, 2, 0] + [UInt8](repeating: 0x20, count: 26) + aml
        table[4] = UInt8(table.count)
        cpu.load(table, at: 0x1_0000)
        cpu.fixChecksum(table: 0x1_0000)
        return cpu
    }

    @Test func s5Encodings() throws {
        func s5(_ aml: [UInt8]) throws(ACPIError) -> ACPISleepType {
            try ACPISleepStates.softOff(dsdtAddress: 0x1_0000, cpu: dsdt(aml))
        }
        let name = Array("_S5_".utf8)
        // Name (\_S5, Package (0x04) {0x05, 0x05, Zero, Zero})
        #expect(
            try s5([0x08, 0x5C] + name + [0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00])
                == ACPISleepType(slpTypA: 5, slpTypB: 5))
        // One, WordConst 7, and a two-byte PkgLength (0x40 | low nibble, then the next 8 bits).
        #expect(
            try s5([0x08] + name + [0x12, 0x47, 0x00, 0x02, 0x01, 0x0B, 0x07, 0x00])
                == ACPISleepType(slpTypA: 1, slpTypB: 7))
        // One element (ACPI 1.0 style): SLP_TYPa in bits 7:0, SLP_TYPb in bits 15:8.
        #expect(try s5([0x08] + name + [0x12, 0x05, 0x01, 0x0B, 0x07, 0x06]) == ACPISleepType(slpTypA: 7, slpTypB: 6))
        let bad = { (offset: UInt64) in ACPIError.badS5(dsdtAddress: 0x1_0000, offset: offset) }
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12, 0x05, 0x02, 0x0A, 0x08, 0x00]) }  // SLP_TYP > 7
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12, 0x04, 0x02, 0x0A, 0x05, 0x00]) }  // past PkgLength
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12, 0x20, 0x02, 0x00, 0x00]) }  // past the table
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12, 0x04, 0x02, 0x0D, 0x00]) }  // a string
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12, 0x03, 0x00]) }  // no elements
        #expect(throws: bad(41)) { try s5([0x08] + name + [0x12]) }  // cut short
    }

    @Test func madtEntries() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        let root = try ACPIRootTable.read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu)
        cpu.poke(F.madtAddress + 52 + 1, 0)  // the second processor's entry, length 0
        cpu.fixChecksum(table: F.madtAddress)
        let error = ACPIError.badMADTEntry(
            address: F.madtAddress, offset: 52, type: 0, length: 0,
            problem: .lengthBelowHeader)
        #expect(throws: error) { try ACPIMADT.read(root: root, cpu: cpu) }
        #expect(
            describeText(error.describe(into:))
                == "ACPI: the APIC table at 0xfff0f80: entry at offset 0x34 (type 0, length 0) is shorter than 2 bytes")
        cpu.poke(F.madtAddress + 52 + 1, 4)  // shorter than a local APIC structure
        cpu.fixChecksum(table: F.madtAddress)
        #expect(
            throws: ACPIError.badMADTEntry(
                address: F.madtAddress, offset: 52, type: 0, length: 4,
                problem: .shorterThanType)
        ) { try ACPIMADT.read(root: root, cpu: cpu) }
        cpu.poke(F.madtAddress + 52 + 1, 8)
        cpu.poke(F.madtAddress + 72 + 1, 11)  // the last entry runs one byte past the table
        cpu.fixChecksum(table: F.madtAddress)
        #expect(
            throws: ACPIError.badMADTEntry(
                address: F.madtAddress, offset: 72, type: 2, length: 11,
                problem: .beyondTable)
        ) { try ACPIMADT.read(root: root, cpu: cpu) }
        cpu.poke(F.madtAddress + 72 + 1, 9)  // leaves one byte: no room for the next header
        cpu.fixChecksum(table: F.madtAddress)
        #expect(
            throws: ACPIError.badMADTEntry(
                address: F.madtAddress, offset: 81, type: 0, length: 0,
                problem: .beyondTable)
        ) { try ACPIMADT.read(root: root, cpu: cpu) }
    }
}
