// The processors the kernel starts from an MADT, with the bad inputs a firmware table can
// hold: disabled entries, APIC IDs listed twice, the broadcast IDs, x2APIC IDs in xAPIC mode,
// a table that leaves out the bootstrap processor.
import Testing
import VMX
@testable import Hypervisor

@Suite struct MADTProcessorsTests {
    func apic(_ id: UInt32, enabled: Bool = true, x2: Bool = false) -> ACPIMADT.LocalAPIC {
        ACPIMADT.LocalAPIC(processorUID: id, apicID: id, flags: enabled ? ACPIMADT.flagEnabled : 0, isX2APIC: x2)
    }

    @Test func bochsWithFourProcessors() {
        let list = MADTProcessors([apic(0), apic(1), apic(2), apic(3)], bootstrapAPICID: 0, x2APIC: false)
        #expect(
            list
                == MADTProcessors(
                    applicationProcessors: [1, 2, 3], duplicates: [], unaddressable: [],
                    listsBootstrapProcessor: true))
        #expect(list.count == 4)
    }

    @Test func disabledAndOnlineCapableEntriesAreNotStarted() {
        var onlineCapable = apic(2, enabled: false)
        onlineCapable.flags = ACPIMADT.flagOnlineCapable
        let list = MADTProcessors(
            [apic(0), apic(1, enabled: false), onlineCapable, apic(3)], bootstrapAPICID: 0, x2APIC: false)
        #expect(list.count == 2 && list.applicationProcessors == [3])
    }

    @Test func duplicatesAreStartedOnceAndNamedOnce() {
        let list = MADTProcessors(
            [apic(0), apic(1), apic(1), apic(0), apic(1), apic(2)], bootstrapAPICID: 0, x2APIC: false)
        #expect(list.count == 3)
        #expect(list.applicationProcessors == [1, 2])
        #expect(list.duplicates == [1, 0])
    }

    @Test func theBroadcastIDIsNeverStarted() {
        let xAPIC = MADTProcessors(
            [apic(0), apic(0xFF), apic(0x100, x2: true), apic(5)], bootstrapAPICID: 0, x2APIC: false)
        #expect(xAPIC.applicationProcessors == [5])
        #expect(xAPIC.unaddressable == [0xFF, 0x100] && xAPIC.count == 4)
        // In x2APIC mode FFH and 100H are ordinary IDs; FFFFFFFFH is the broadcast.
        let x2APIC = MADTProcessors(
            [
                apic(0, x2: true), apic(0xFF, x2: true), apic(0x100, x2: true),
                apic(.max, x2: true)
            ], bootstrapAPICID: 0, x2APIC: true)
        #expect(x2APIC.applicationProcessors == [0xFF, 0x100])
        #expect(x2APIC.unaddressable == [.max])
    }

    @Test func aTableWithoutTheBootstrapProcessor() {
        let list = MADTProcessors([apic(1), apic(2)], bootstrapAPICID: 7, x2APIC: false)
        #expect(!list.listsBootstrapProcessor)
        #expect(list.applicationProcessors == [1, 2] && list.count == 3)
        #expect(MADTProcessors([], bootstrapAPICID: 0, x2APIC: false).applicationProcessors.isEmpty)
    }

    /// Bochs's own table (Tests/fixtures/acpi: two processors) with its second entry's APIC ID
    /// changed to the first's, read through the real parser.
    @Test func bochsTableWithADuplicate() throws {
        let cpu = try FakeProcessor.withBochsACPI()
        let root = try ACPIRootTable.read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu)
        cpu.poke(PlatformFixtures.madtAddress + 52 + 3, 0)  // the second local APIC's APIC ID
        cpu.fixChecksum(table: PlatformFixtures.madtAddress)
        let madt = try ACPIMADT.read(root: root, cpu: cpu)
        let list = MADTProcessors(madt.processors, bootstrapAPICID: 0, x2APIC: false)
        #expect(list.count == 1 && list.applicationProcessors.isEmpty && list.duplicates == [0])
    }
}
