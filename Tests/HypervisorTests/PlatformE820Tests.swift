// E820Map.build: the firmware's map minus the hypervisor's ranges.
import Testing
@testable import Hypervisor

@Suite struct PlatformE820Tests {
    func entry(_ base: UInt64, _ end: UInt64, _ type: E820Type) -> E820Entry {
        E820Entry(base: base, length: end - base, type: type)
    }

    /// Bochs 2.7's map with `megs: 256` (its BIOS's INT 15H E820H).
    var bochs: [E820Entry] {
        [
            entry(0, 0x9_F000, .available), entry(0x9_F000, 0xA_0000, .reserved),
            entry(0xE_8000, 0x10_0000, .reserved), entry(0x10_0000, 0xFFF_0000, .available),
            entry(0xFFF_0000, 0x1000_0000, .acpiReclaimable), entry(0xFFFC_0000, 0x1_0000_0000, .reserved)
        ]
    }

    @Test func bochsMapWithTheHypervisorTakenOut() {
        let map = E820Map.build(
            firmware: bochs,
            hypervisor: [
                PhysicalRange(start: 0x10_0000, end: 0x14_3A21),  // the kernel image, unaligned end
                PhysicalRange(start: 0x100_0000, end: 0x300_0000)  // the arena
            ])
        #expect(
            map == [
                entry(0, 0x9_F000, .available), entry(0x9_F000, 0xA_0000, .reserved),
                entry(0xE_8000, 0x14_4000, .reserved),  // merged with the BIOS area
                entry(0x14_4000, 0x100_0000, .available), entry(0x100_0000, 0x300_0000, .reserved),
                entry(0x300_0000, 0xFFF_0000, .available), entry(0xFFF_0000, 0x1000_0000, .acpiReclaimable),
                entry(0xFFFC_0000, 0x1_0000_0000, .reserved)
            ])
    }

    @Test func roundingAvailableInwardOthersOutward() {
        let map = E820Map.build(
            firmware: [entry(0x1234, 0x9_FC10, .available), entry(0x9_FC10, 0xA_0000, .acpiNVS)],
            hypervisor: [PhysicalRange(start: 0x5_0010, end: 0x5_0020)])
        #expect(
            map == [
                entry(0x2000, 0x5_0000, .available), entry(0x5_0000, 0x5_1000, .reserved),
                entry(0x5_1000, 0x9_F000, .available), entry(0x9_F000, 0xA_0000, .acpiNVS)
            ])
    }

    @Test func overlapsSortingAndMerging() {
        let map = E820Map.build(
            firmware: [
                entry(0x20_0000, 0x40_0000, .available),
                entry(0x10_0000, 0x20_0000, .available),  // unsorted, adjacent: merged
                entry(0x30_0000, 0x31_0000, .unusable),  // inside available: wins
                entry(0x50_0000, 0x60_0000, .acpiNVS),
                entry(0x70_0000, 0x70_0000, .reserved),  // empty: dropped
                entry(0x80_0000, 0x81_0000, E820Type(rawValue: 12))  // unknown type: kept
            ], hypervisor: [PhysicalRange(start: 0x50_0000, end: 0x58_0000)])  // NVS stays NVS
        #expect(
            map == [
                entry(0x10_0000, 0x30_0000, .available), entry(0x30_0000, 0x31_0000, .unusable),
                entry(0x31_0000, 0x40_0000, .available), entry(0x50_0000, 0x60_0000, .acpiNVS),
                entry(0x80_0000, 0x81_0000, E820Type(rawValue: 12))
            ])
    }

    @Test func hypervisorRangeInAHoleAndAtTheTop() {
        let map = E820Map.build(
            firmware: [E820Entry(base: 0xFFFF_FFFF_FFFF_0000, length: 0x2_0000, type: .reserved)],
            hypervisor: [PhysicalRange(start: 0xA_0000, end: 0xA_0001)])
        #expect(
            map == [
                entry(0xA_0000, 0xA_1000, .reserved),
                entry(0xFFFF_FFFF_FFFF_0000, 0xFFFF_FFFF_FFFF_F000, .reserved)
            ])
        #expect(E820Map.build(firmware: [], hypervisor: []) == [])
    }
}
