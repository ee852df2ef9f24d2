// The debugger's snapshot (Sources/Hypervisor/DebugSnapshot.swift): header, guest name, what
// `record` copies from the VMCS by real VMREADs on the emulated CPU, the sequence word, detail
// off. The gdb helper's copy of the layout is checked in HypervisorTests/SharedConstantsTests.
import Foundation
import Testing
import VMX
import EmulatedCPU
import Hypervisor

@Suite struct DebugSnapshotTests {
    static let base: UInt64 = 0x8000

    /// A CPU in VMX root operation with a current VMCS whose guest-state and exit-information
    /// fields hold distinct values (the synthetic profile allows VMWRITE to any field).
    func cpuWithVMCS() throws -> EmulatedCPU {
        let cpu = makeCPU(try Profiles.synthetic())
        try enterVMXRoot(cpu)
        try loadVMCS(cpu)
        for (index, entry) in DebugSnapshot.vmcsFields.enumerated() {
            try cpu.vmwrite(entry.1, 0x1000 + UInt64(index))
        }
        return cpu
    }

    @Test func headerAfterInit() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        cpu.writePhysical64(Self.base + 8 * 20, 0xDEAD)  // stale contents are cleared
        let snapshot = DebugSnapshot(base: Self.base, cpu: cpu)
        #expect(cpu.readPhysical64(Self.base) == 0x5041_4E53_584D_5653)
        #expect(cpu.readPhysical64(Self.base) == DebugSnapshot.magic)
        #expect(Array("SVMXSNAP".utf8) == withUnsafeBytes(of: DebugSnapshot.magic.littleEndian, Array.init))
        #expect(snapshot.value(.versionAndSize, cpu: cpu) == 1 | 368 << 32)
        #expect(DebugSnapshot.byteCount == 368)
        #expect(DebugSnapshot.byteCount <= DebugSnapshot.reservedBytes)
        #expect(snapshot.value(.detail, cpu: cpu) == 1)
        #expect(snapshot.value(.sequence, cpu: cpu) == 0)
        #expect(snapshot.value(.vmcs, cpu: cpu) == 0)
        #expect(cpu.readPhysical64(Self.base + 8 * 20) == 0)
        #expect(DebugSnapshot(base: Self.base, cpu: cpu, detail: false).value(.detail, cpu: cpu) == 0)
    }

    @Test func slotOffsetsAreDense() {
        for (index, slot) in DebugSnapshot.Slot.allCases.enumerated() {
            #expect(slot.rawValue == index)
            #expect(slot.offset == UInt64(index) * 8)
        }
        #expect(DebugSnapshot.Slot.exitReason.offset == 0x58)
        #expect(DebugSnapshot.Slot.rax.offset == 0xF0)
        #expect(DebugSnapshot.Slot.r15.offset == 0x168)
    }

    @Test func beginGuestWritesNameVMCSAndStatistics() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        let snapshot = DebugSnapshot(base: Self.base, cpu: cpu)
        snapshot.beginGuest(name: "real-mode", vmcs: 0x0100_3000, exitStatistics: 0x0100_4000, cpu: cpu)
        #expect(snapshot.value(.vmcs, cpu: cpu) == 0x0100_3000)
        #expect(snapshot.value(.exitStatistics, cpu: cpu) == 0x0100_4000)
        // "real-mod" little-endian, then "e" and NULs.
        #expect(snapshot.value(.guestName0, cpu: cpu) == 0x646F_6D2D_6C61_6572)
        #expect(snapshot.value(.guestName1, cpu: cpu) == 0x65)
        #expect(snapshot.value(.guestName2, cpu: cpu) == 0)
        #expect(snapshot.value(.sequence, cpu: cpu) == 2)
        #expect(snapshot.value(.exitsRecorded, cpu: cpu) == 0)

        // A name of 40 bytes keeps its first 32; a shorter second name clears the rest.
        snapshot.beginGuest(name: String(repeating: "A", count: 40), vmcs: 1, exitStatistics: 0, cpu: cpu)
        for slot in [DebugSnapshot.Slot.guestName0, .guestName1, .guestName2, .guestName3] {
            #expect(snapshot.value(slot, cpu: cpu) == 0x4141_4141_4141_4141)
        }
        #expect(snapshot.value(.exitReason, cpu: cpu) == 0)
        snapshot.beginGuest(name: "x", vmcs: 2, exitStatistics: 0, cpu: cpu)
        #expect(snapshot.value(.guestName0, cpu: cpu) == 0x78)
        #expect(snapshot.value(.guestName3, cpu: cpu) == 0)
        #expect(snapshot.value(.sequence, cpu: cpu) == 6)
    }

    @Test func recordCopiesVMCSFieldsAndRegisters() throws {
        let cpu = try cpuWithVMCS()
        let snapshot = DebugSnapshot(base: Self.base, cpu: cpu)
        snapshot.beginGuest(name: "g", vmcs: Address.vmcs, exitStatistics: 0, cpu: cpu)
        var registers = GuestRegisters()
        for number in 0..<16 { registers[number] = 0xA0 + UInt64(number) }
        snapshot.record(reason: 10, qualification: 0x55, rip: 0x7C00, registers: registers, cpu: cpu)

        #expect(snapshot.value(.exitReason, cpu: cpu) == 10)
        #expect(snapshot.value(.exitQualification, cpu: cpu) == 0x55)
        #expect(snapshot.value(.guestRIP, cpu: cpu) == 0x7C00)
        for (index, entry) in DebugSnapshot.vmcsFields.enumerated() {
            // Each field keeps what its width allows: 16-bit CS selector, 32-bit fields.
            let written: UInt64 = 0x1000 + UInt64(index)
            #expect(snapshot.value(entry.0, cpu: cpu) == written, "slot \(entry.0)")
        }
        #expect(snapshot.value(.rax, cpu: cpu) == 0xA0)
        #expect(snapshot.value(.rcx, cpu: cpu) == 0xA1)
        #expect(snapshot.value(.unusedRSP, cpu: cpu) == 0)
        #expect(snapshot.value(.rbp, cpu: cpu) == 0xA5)
        #expect(snapshot.value(.r15, cpu: cpu) == 0xAF)
        #expect(snapshot.value(.exitsRecorded, cpu: cpu) == 1)
        #expect(snapshot.value(.sequence, cpu: cpu) == 4)
        snapshot.record(reason: 12, qualification: 0, rip: 0x7C02, registers: registers, cpu: cpu)
        #expect(snapshot.value(.exitsRecorded, cpu: cpu) == 2)
        #expect(snapshot.value(.sequence, cpu: cpu) == 6)
        #expect(snapshot.value(.exitReason, cpu: cpu) == 12)
    }

    @Test func detailOffSkipsVMREAD() throws {
        let cpu = try cpuWithVMCS()
        let snapshot = DebugSnapshot(base: Self.base, cpu: cpu, detail: false)
        snapshot.record(reason: 30, qualification: 0x3F8_0000, rip: 0x10, registers: GuestRegisters(), cpu: cpu)
        #expect(snapshot.value(.exitReason, cpu: cpu) == 30)
        #expect(snapshot.value(.guestRIP, cpu: cpu) == 0x10)
        for entry in DebugSnapshot.vmcsFields { #expect(snapshot.value(entry.0, cpu: cpu) == 0) }
        // A debugger turns detail on by writing the slot.
        cpu.writePhysical64(Self.base + DebugSnapshot.Slot.detail.offset, 1)
        snapshot.record(reason: 30, qualification: 0, rip: 0x12, registers: GuestRegisters(), cpu: cpu)
        #expect(snapshot.value(.guestRSP, cpu: cpu) == 0x1000)
    }

    @Test func fieldsACPULacksReadAsZero() throws {
        // No current VMCS: every VMREAD fails (VMfailInvalid) and the slots hold 0.
        let cpu = makeCPU(try Profiles.synthetic())
        try enterVMXRoot(cpu)
        let snapshot = DebugSnapshot(base: Self.base, cpu: cpu)
        snapshot.record(reason: 1, qualification: 0, rip: 0, registers: GuestRegisters(), cpu: cpu)
        for entry in DebugSnapshot.vmcsFields { #expect(snapshot.value(entry.0, cpu: cpu) == 0) }
        #expect(snapshot.value(.exitsRecorded, cpu: cpu) == 1)
    }
}
