// EPT tables, guest paging walks, the bitmaps, the exit statistics and the starting states,
// on the fake processor's memory.
import Testing
import VMX
@testable import Hypervisor

@Suite struct EPTTests {
    @Test func twoMiBAndFourKiBMappingsTranslateWithTheirRights() throws {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        var arena = PageArena()
        let ept = try #require(EPT(memoryType: 6, arena: &arena, cpu: cpu))
        #expect(ept.pointer == ept.pml4 | 6 | 3 << 3)
        #expect(
            ept.map(
                guestPhysical: 0, host: 0x0200_0000, bytes: 2 << 20, permissions: .all, largePages: true,
                arena: &arena, cpu: cpu))
        #expect(
            ept.map(
                guestPhysical: 0xFFFF_F000, host: 0x0180_0000, bytes: 0x1000, permissions: [.read, .execute],
                largePages: true, arena: &arena, cpu: cpu))
        let low = try #require(ept.translate(0x1_2345, cpu: cpu))
        #expect(low.host == 0x0201_2345 && low.permissions == .all)
        let rom = try #require(ept.translate(0xFFFF_FFF0, cpu: cpu))
        #expect(rom.host == 0x0180_0FF0 && rom.permissions == [.read, .execute])
        #expect(ept.translate(0x20_0000, cpu: cpu) == nil)
        #expect(ept.translate(0x4000_0000, cpu: cpu) == nil)
        // The 2-MiB leaf: PD entry 0 with bit 7 and memory type WB in bits 5:3.
        let pdpt = cpu.readPhysical64(ept.pml4) & EPT.addressMask
        let pd = cpu.readPhysical64(pdpt) & EPT.addressMask
        #expect(cpu.readPhysical64(pd) == 0x0200_0000 | 1 << 7 | 6 << 3 | 7)
    }

    @Test func withoutLargePagesEveryPageIsMappedAlone() throws {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        var arena = PageArena()
        let ept = try #require(EPT(memoryType: 0, arena: &arena, cpu: cpu))
        #expect(
            ept.map(
                guestPhysical: 0, host: 0x0200_0000, bytes: 0x3000, permissions: [.read], largePages: false,
                arena: &arena, cpu: cpu))
        #expect(ept.translate(0x2FFF, cpu: cpu)?.host == 0x0200_2FFF)
        #expect(ept.translate(0x3000, cpu: cpu) == nil)
        #expect(ept.translate(0x1000, cpu: cpu)?.permissions == [.read])
    }
}

@Suite struct GuestPagingTests {
    @Test func fourLevelPagingOfTheHypervisorsOwnTables() throws {
        // Given a 64-bit guest's memory without EPT: linear 0 is the block's first byte
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        let memory = GuestMemory(host: 0x0200_0000, size: 2 << 20, physicalBase: 0x0200_0000, ept: nil)
        writeGuestStructures(memory: memory, cpu: cpu)
        let cr3 = memory.physicalBase + memory.structuresOffset + GuestStructures.pml4
        let cr0 = ControlRegister0.pg.rawValue | ControlRegister0.pe.rawValue
        #expect(
            GuestPaging.translate(
                linear: 0x1_0000, cr0: cr0, cr3: cr3, cr4: 0x20, ia32e: true, memory: memory, cpu: cpu)
                == 0x0201_0000)
        #expect(
            GuestPaging.translate(
                linear: 0x20_0000, cr0: cr0, cr3: cr3, cr4: 0x20, ia32e: true, memory: memory, cpu: cpu)
                == nil)
        // Paging off: linear is physical (32 bits).
        #expect(
            GuestPaging.translate(linear: 0x1_0000_7C00, cr0: 0, cr3: 0, cr4: 0, ia32e: false, memory: memory, cpu: cpu)
                == 0x7C00)
        // The GDT: 64-bit code at 08H, the busy TSS descriptor at 20H pointing at the TSS.
        let gdt = memory.host + memory.structuresOffset + GuestStructures.gdt
        #expect(cpu.readPhysical64(gdt + 8) == 0x00AF_9B00_0000_FFFF)
        // Base 1F3100H in bits 39:16, limit 67H, type 11 (busy 64-bit TSS) with P in byte 5.
        let tssDescriptor: UInt64 = 0x0000_8B1F_3100_0067
        #expect(cpu.readPhysical64(gdt + 0x20) == tssDescriptor)
    }

    @Test func thirtyTwoBitPagingWithFourMiBPages() {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        let memory = GuestMemory(host: 0, size: 32 << 20, physicalBase: 0, ept: nil)
        cpu.writePhysical32(0x1000 + 1 * 4, 0x0040_0000 | 0x83)  // PDE 1: 4 MiB at 4 MiB
        cpu.writePhysical32(0x1000, 0x2000 | 3)  // PDE 0 -> PT at 2000H
        cpu.writePhysical32(0x2000 + 5 * 4, 0x0070_0000 | 3)  // PTE 5 -> 700000H
        let cr0 = ControlRegister0.pg.rawValue | 1
        #expect(
            GuestPaging.translate(
                linear: 0x40_1234, cr0: cr0, cr3: 0x1000, cr4: ControlRegister4.pse.rawValue,
                ia32e: false, memory: memory, cpu: cpu) == 0x40_1234)
        #expect(
            GuestPaging.translate(linear: 0x5ABC, cr0: cr0, cr3: 0x1000, cr4: 0, ia32e: false, memory: memory, cpu: cpu)
                == 0x70_0ABC)
        #expect(
            GuestPaging.translate(
                linear: 0x80_0000, cr0: cr0, cr3: 0x1000, cr4: 0, ia32e: false, memory: memory, cpu: cpu)
                == nil)
    }
}

@Suite struct BitmapsTests {
    @Test func denyByDefaultExceptTheSwitchedMSRs() throws {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        var arena = PageArena()
        let bitmaps = try #require(Bitmaps(arena: &arena, cpu: cpu))
        #expect(
            bitmaps.exits(port: 0x3F8, cpu: cpu) && bitmaps.exits(port: 0xF4, cpu: cpu)
                && bitmaps.exits(port: 0x8900, cpu: cpu))
        #expect(bitmaps.exits(msr: MSR.ia32VMXBasic, write: false, cpu: cpu))
        #expect(bitmaps.exits(msr: MSR.ia32FeatureControl, write: true, cpu: cpu))
        #expect(bitmaps.exits(msr: MSR.ia32EFER, write: true, cpu: cpu))
        #expect(
            !bitmaps.exits(msr: MSR.ia32FSBase, write: true, cpu: cpu)
                && !bitmaps.exits(msr: MSR.ia32LSTAR, write: false, cpu: cpu))
        #expect(!bitmaps.exits(msr: MSR.ia32TimeStampCounter, write: false, cpu: cpu))
        #expect(bitmaps.exits(msr: MSR.ia32TimeStampCounter, write: true, cpu: cpu))
        #expect(bitmaps.exits(msr: 0x4000_0000, write: false, cpu: cpu), "outside both ranges: always")
        // SDM 25.6.9: read-high at 1024, write-low at 2048.
        #expect(bitmaps.bitAddress(msr: 0xC000_0082, write: false)! == (bitmaps.msrBitmap + 1024 + 16, 2))
        #expect(bitmaps.bitAddress(msr: 0x10, write: true)! == (bitmaps.msrBitmap + 2048, 16))
    }
}

@Suite struct ExitStatisticsTests {
    @Test func countsAndKeepsTheLastThirtyTwo() {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        let statistics = ExitStatistics(base: 0x0100_1000, cpu: cpu)
        #expect(cpu.readPhysical64(0x0100_1000) == ExitStatistics.magic)
        for index in 0..<40 {
            statistics.record(
                reason: index % 2 == 0 ? 10 : 0x8000_0021, qualification: UInt64(index), rip: 0x1000 + UInt64(index),
                cpu: cpu)
        }
        #expect(statistics.total(cpu: cpu) == 40)
        #expect(statistics.count(basicReason: 10, cpu: cpu) == 20)
        #expect(statistics.count(basicReason: 33, cpu: cpu) == 20)
        let last = statistics.lastExits(cpu: cpu)
        #expect(last.count == 32)
        #expect(last.first == ExitStatistics.Entry(reason: .cpuid, qualification: 8, rip: 0x1008))
        #expect(last.last?.reason == ExitReason.entryFailureGuestState.asEntryFailure && last.last?.rip == 0x1027)
        #expect(ExitStatistics.linesNotWrittenOffset == 0x5A0)
        #expect(ExitStatistics.byteCount == 0x5A0 + 8 * 7)
        statistics.countLineNotWritten(kind: .refusedMSR, cpu: cpu)
        statistics.countLineNotWritten(kind: .refusedMSR, cpu: cpu)
        #expect(statistics.linesNotWritten(kind: .refusedMSR, cpu: cpu) == 2)
        #expect(cpu.readPhysical64(0x0100_1000 + 0x5A0 + 8 * 4) == 2, "the layout of tools/gdb/swiftvmx.py")
        #expect(statistics.linesNotWritten(kind: .print, cpu: cpu) == 0)
    }
}

@Suite struct GuestStartStateTests {
    static let cr0 = FixedBits(fixed0: 0x8000_0021 & ~0x8000_0001, fixed1: 0xFFFF_FFFF)
    static let cr4 = FixedBits(fixed0: 0x2000, fixed1: 0x3727FF)
    static let memory = GuestMemory(host: 0x0200_0000, size: 2 << 20, physicalBase: 0, ept: nil)

    @Test func realModeLooksLikeReset() {
        let s = GuestStartState.make(
            mode: .real, entry: 0x7C00, memory: Self.memory, cr0Fixed: Self.cr0, cr4Fixed: Self.cr4,
            signature: 0x506E3)
        #expect(s.cr0Shadow == 0x6000_0010 && s.cr0 == 0x30)
        #expect(s.cr4 == 0x2000 && s.cr4Shadow == 0)
        #expect(s.cs == SegmentState(selector: 0xF000, base: 0xFFFF_0000, limit: 0xFFFF, accessRights: 0x9B))
        #expect(s.rip == 0xFFF0 && s.rdx == 0x506E3 && s.rflags == 2 && s.efer == 0)
        #expect(s.ldtr.accessRights == 0x82 && s.tr.accessRights == 0x8B && s.idtrLimit == 0xFFFF)
    }

    @Test func longModeUsesTheHypervisorsStructures() {
        let cr0 = FixedBits(fixed0: 0x8000_0021, fixed1: 0xFFFF_FFFF)
        let s = GuestStartState.make(
            mode: .long, entry: 0x1_0000, memory: Self.memory, cr0Fixed: cr0, cr4Fixed: Self.cr4,
            signature: 0)
        #expect(s.cr0 == 0x8001_0033 && s.cr0Shadow == 0x8001_0033)
        #expect(s.cr4 == 0x2620 && s.cr4Shadow == 0x620)
        #expect(s.efer == 0x500 && s.cr3 == 0x1F_0000)
        #expect(s.cs.accessRights == 0xA09B && s.ss.accessRights == 0xC093 && s.ldtr == .unusable)
        #expect(s.tr == SegmentState(selector: 0x20, base: 0x1F_3100, limit: 0x67, accessRights: 0x8B))
        #expect(s.gdtrBase == 0x1F_3000 && s.rsp == 0x1F_0000 && s.rip == 0x1_0000)
    }

    @Test func protectedModeIsFlatWithPagingOff() {
        let s = GuestStartState.make(
            mode: .protected, entry: 0x10_1000, memory: Self.memory, cr0Fixed: Self.cr0,
            cr4Fixed: Self.cr4, signature: 0)
        #expect(s.cr0 == 0x31 && s.cs.selector == 0x18 && s.cs.accessRights == 0xC09B && s.efer == 0)
    }
}
