// The pass-through platform's data: how RAM is split between the hypervisor and the guest, the
// identity EPT map, the bitmaps, the port traps that end the machine, the CPUID view and the
// Linux module line (docs/LINUX.md).
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

/// Bochs 2.7's firmware map with 256 MiB (seen in a boot log, docs/LINUX.md).
let bochsFirmwareMap: [E820Entry] = [
    E820Entry(base: 0, length: 0x9_F000, type: .available),
    E820Entry(base: 0x9_F000, length: 0x1000, type: .reserved),
    E820Entry(base: 0xE_8000, length: 0x1_8000, type: .reserved),
    E820Entry(base: 0x10_0000, length: 0xFEF_0000, type: .available),
    E820Entry(base: 0xFFF_0000, length: 0x1_0000, type: .acpiReclaimable),
    E820Entry(base: 0xFFFC_0000, length: 0x4_0000, type: .reserved)
]

@Suite struct PassThroughMemoryTests {
    /// What the kernel grants: low memory but its early memory, and RAM from 3 MiB to the arena.
    let memory = PassThroughMemory(
        firmwareMap: bochsFirmwareMap,
        granted: [
            PhysicalRange(start: 0, end: 0x1000), PhysicalRange(start: 0x9000, end: 0x10_0000),
            PhysicalRange(start: 0x30_0000, end: 0xDE0_0000)
        ])

    @Test func theHypervisorKeepsTheRAMItDidNotGrant() {
        #expect(
            memory.hypervisorRanges == [
                PhysicalRange(start: 0x1000, end: 0x9000), PhysicalRange(start: 0x10_0000, end: 0x30_0000),
                PhysicalRange(start: 0xDE0_0000, end: 0xFFF_0000)
            ])
        // Granted memory outside the firmware's RAM (the reserved 9F000H page) is not the guest's.
        #expect(memory.guestRAM.first == PhysicalRange(start: 0, end: 0x1000))
        #expect(memory.guestRAM[1] == PhysicalRange(start: 0x9000, end: 0x9_F000))
        #expect(memory.isGuestRAM(PhysicalRange(start: 0x120_0000, size: 0x337_8000)))
        #expect(!memory.isGuestRAM(PhysicalRange(start: 0xDD0_0000, size: 0x20_0000)))
    }

    @Test func theIdentityMapLeavesTheHypervisorOutAndKeepsMMIOUncached() throws {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        var arena = PageArena(base: 0x1_0000_0000, end: 0x1_0100_0000)
        let ept = try #require(EPT(memoryType: EPT.writeBack, arena: &arena, cpu: cpu))
        #expect(memory.mapIdentity(into: ept, arena: &arena, cpu: cpu))
        #expect(memory.mappedTop == 1 << 32)
        for address: UInt64 in [0x1000, 0x8FFF, 0x10_0000, 0x2F_FFFF, 0xDE0_0000, 0xFFE_FFFF] {
            #expect(ept.translate(address, cpu: cpu) == nil, "hypervisor page \(hex(address)) is mapped")
        }
        for address: UInt64 in [
            0, 0x9000, 0x30_0000, 0x120_0000, 0xDDF_FFFF, 0xFFF_0000, 0xA_0000, 0xFEC0_0000,
            0xFEE0_0000, 0xFFFF_FFF0
        ] {
            let entry = try #require(ept.translate(address, cpu: cpu), "guest page \(hex(address)) is not mapped")
            #expect(entry.host == address && entry.permissions == .all)
        }
        // Memory types: RAM and ACPI tables write-back, the VGA hole and the APICs uncacheable.
        #expect(try leafType(ept, 0x30_0000, cpu) == EPT.writeBack)
        #expect(try leafType(ept, 0xFFF_0000, cpu) == EPT.writeBack)
        #expect(try leafType(ept, 0xA_0000, cpu) == EPT.uncacheable)
        #expect(try leafType(ept, 0x9_F000, cpu) == EPT.uncacheable)
        #expect(try leafType(ept, 0xFEE0_0000, cpu) == EPT.uncacheable)
    }

    /// Bits 5:3 of the entry that maps `address`.
    private func leafType(_ ept: EPT, _ address: UInt64, _ cpu: FakeProcessor) throws -> UInt64 {
        var table = ept.pml4
        var shift: UInt64 = 39
        while true {
            let entry = cpu.readPhysical64(table + ((address >> shift) & 511) * 8)
            try #require(entry & 7 != 0)
            if shift == 12 || entry & EPT.largePage != 0 { return (entry >> 3) & 7 }
            table = entry & EPT.addressMask
            shift -= 9
        }
    }

    @Test func rangeArithmetic() {
        let merged = PhysicalRange.normalized([
            PhysicalRange(start: 0x3000, end: 0x4000), PhysicalRange(start: 0, end: 0x1000),
            PhysicalRange(start: 0x1000, end: 0x2000), PhysicalRange(start: 5, end: 5)
        ])
        #expect(merged == [PhysicalRange(start: 0, end: 0x2000), PhysicalRange(start: 0x3000, end: 0x4000)])
        let rest = PhysicalRange.subtracting(
            [PhysicalRange(start: 0x800, end: 0x3800)],
            from: [PhysicalRange(start: 0, end: 0x4000)])
        #expect(rest == [PhysicalRange(start: 0, end: 0x800), PhysicalRange(start: 0x3800, end: 0x4000)])
    }

    @Test func placementAvoidsTheBusyRangesAndHonoursAlignment() {
        let busy = [PhysicalRange(start: 0x2AE000, end: 0x113_2500)]
        let kernel = memory.lowestFit(
            size: 0x337_8000, alignment: 2 << 20, from: 0x100_0000, below: 1 << 32, avoiding: busy)
        #expect(kernel == 0x120_0000)
        let initrd = memory.highestFit(size: 1_029_335, alignment: 0x1000, below: 0x8000_0000, avoiding: busy)
        #expect(initrd == (0xDE0_0000 - 1_029_335) & ~0xFFF)
        #expect(
            memory.lowestFit(size: 0xA000, alignment: 0x1000, from: 0x1_0000, below: 1 << 20, avoiding: []) == 0x1_0000)
        #expect(memory.lowestFit(size: 0x1_0000_0000, alignment: 0x1000, from: 0, below: .max, avoiding: []) == nil)
    }
}

@Suite struct PassThroughPortTests {
    func bochsPlatform() -> PassThroughPlatform {
        let platform = PassThroughPlatform()
        platform.pm1aControl = 0xB004
        platform.s5SleepType = 0
        return platform
    }

    @Test func sleepEnableEndsTheMachine() {
        let platform = bochsPlatform()
        // Linux writes SLP_TYP alone, then SLP_TYP | SLP_EN (FACTS.md: 2001H for S5 in Bochs).
        #expect(platform.stop(writing: 0x0001, size: 2, to: 0xB004) == nil)
        #expect(platform.stop(writing: 0x2001, size: 2, to: 0xB004) == .poweredOff)
        #expect(platform.stop(writing: 0x2401, size: 2, to: 0xB004) == .sleep(sleepType: 1))
        // Byte by byte: SLP_EN is bit 5 of the high byte.
        #expect(platform.stop(writing: 0x20, size: 1, to: 0xB005) == .poweredOff)
        #expect(platform.stop(writing: 0x01, size: 1, to: 0xB004) == nil)
        // No \_S5 found: any SLP_EN is a sleep state, not a power-off.
        platform.s5SleepType = nil
        #expect(platform.stop(writing: 0x2001, size: 2, to: 0xB004) == .sleep(sleepType: 0))
    }

    @Test func resetControls() {
        let platform = bochsPlatform()
        #expect(platform.stop(writing: 0xFE, size: 1, to: 0x64) == .reset(.keyboardControllerPulse))
        #expect(platform.stop(writing: 0xFF, size: 1, to: 0x64) == nil)  // bit 0 set: no pulse
        #expect(platform.stop(writing: 0xAE, size: 1, to: 0x64) == nil)
        #expect(platform.stop(writing: 0xD1, size: 1, to: 0x64) == nil)
        #expect(platform.stop(writing: 0xFE, size: 1, to: 0x60) == .reset(.keyboardControllerOutputPort))
        #expect(platform.stop(writing: 0xFE, size: 1, to: 0x60) == nil)  // only right after D1H
        #expect(platform.stop(writing: 0xD1, size: 1, to: 0x64) == nil)
        #expect(platform.stop(writing: 0xDF, size: 1, to: 0x60) == nil)  // A20 on, reset line high
        #expect(platform.stop(writing: 0x01, size: 1, to: 0x92) == .reset(.systemControlPortA))
        #expect(platform.stop(writing: 0x02, size: 1, to: 0x92) == nil)
        #expect(platform.stop(writing: 0x06, size: 1, to: 0xCF9) == .reset(.resetControlRegister))
        #expect(platform.stop(writing: 0x02, size: 1, to: 0xCF9) == nil)
        #expect(platform.stop(writing: 0x8000_0400, size: 4, to: 0xCF8) == nil)  // CONFIG_ADDRESS
        platform.resetPort = 0xCF9
        platform.resetValue = 0x0E
        #expect(platform.stop(writing: 0x0E, size: 1, to: 0xCF9) == .reset(.resetControlRegister))
        platform.resetPort = 0xB2
        #expect(platform.stop(writing: 0x0E, size: 1, to: 0xB2) == .reset(.fadtResetRegister))
        #expect(platform.stop(writing: 0x0D, size: 1, to: 0xB2) == nil)
    }

    @Test func theHypervisorsPortsAreAbsentAndItsExitPortsEndTheGuest() {
        let platform = bochsPlatform()
        for port: UInt16 in [0x3F8, 0x3FF, 0x2F8, 0x2FF, 0xF4, 0xF7, 0x8900] {
            #expect(PassThroughPlatform.isKept(port))
        }
        for port: UInt16 in [0x3E8, 0x2E8, 0x80, 0x60, 0x1F0, 0xF8, 0x8901] {
            #expect(!PassThroughPlatform.isKept(port))
        }
        #expect(platform.stop(writing: 0, size: 4, to: 0xF4) == .exitPort(0xF4))
        #expect(platform.stop(writing: 0x53, size: 1, to: 0x8900) == .exitPort(0x8900))
        #expect(platform.stop(writing: 0x41, size: 1, to: 0x3F8) == nil)  // dropped, not an end
    }

    @Test func onlyTheKeptAndTrappedPortsExit() throws {
        let cpu = FakeProcessor(msrs: [:], leaves: [:])
        var arena = PageArena()
        let platform = bochsPlatform()
        let bitmaps = try #require(
            Bitmaps(
                exitingPorts: platform.exitingPorts, msrs: PassThroughMSRs.intercepted,
                writtenMSRs: PassThroughMSRs.interceptedWrites, arena: &arena, cpu: cpu))
        for port: UInt16 in [0x3F8, 0x3FD, 0x2F8, 0xF4, 0x8900, 0x60, 0x64, 0x92, 0xCF9, 0xB004, 0xB005] {
            #expect(bitmaps.exits(port: port, cpu: cpu), "port \(hex(port)) does not exit")
        }
        for port: UInt16 in [0x3E8, 0x20, 0x21, 0x40, 0x70, 0x1F0, 0xCF8, 0xCFC, 0xB000, 0xB008] {
            #expect(!bitmaps.exits(port: port, cpu: cpu), "port \(hex(port)) exits")
        }
        for msr in [
            MSR.ia32FeatureControl, MSR.ia32VMXBasic, MSR.ia32VMXProcbasedCtls2, MSR.ia32MiscEnable,
            MSR.ia32EFER, MSR.ia32PAT
        ] {
            #expect(bitmaps.exits(msr: msr, write: false, cpu: cpu) && bitmaps.exits(msr: msr, write: true, cpu: cpu))
        }
        #expect(!bitmaps.exits(msr: MSR.ia32APICBase, write: false, cpu: cpu))
        #expect(bitmaps.exits(msr: MSR.ia32APICBase, write: true, cpu: cpu))
        for msr: MSR in [MSR.ia32TimeStampCounter, MSR.ia32LSTAR, MSR.ia32SysenterEIP, 0x6E0, 0x276] {
            #expect(!bitmaps.exits(msr: msr, write: true, cpu: cpu))
        }
        // Outside the bitmap's ranges every MSR exits (SDM 26.1.3).
        #expect(bitmaps.exits(msr: 0xC001_1029, write: false, cpu: cpu))
    }
}

@Suite struct PassThroughCPUIDTests {
    @Test func thePassThroughViewHidesX2APICLA57AndTheMSRsBochsLacks() throws {
        let host = CPUIDResult(eax: .max, ebx: .max, ecx: .max, edx: .max)
        let setup = try ControlSetupTests.setup("corei7_skylake_x")
        let leaf1 = GuestCPUID.result(leaf: 1, subleaf: 0, host: host, setup: setup, view: .passThrough)
        #expect(leaf1.ecx & (1 << 21 | 1 << 15 | 1 << 8 | 1 << 5) == 0)
        #expect(leaf1.ecx & 1 << 31 != 0)
        #expect(leaf1.edx & (1 << 22 | 1 << 29) == 0)
        #expect(GuestCPUID.result(leaf: 6, subleaf: 0, host: host, setup: setup, view: .passThrough).eax == 0)
        #expect(GuestCPUID.result(leaf: 6, subleaf: 0, host: host, setup: setup, view: .passThrough).ecx & 9 == 0)
        #expect(GuestCPUID.result(leaf: 7, subleaf: 0, host: host, setup: setup, view: .passThrough).ecx & 1 << 16 == 0)
        // Sandboxed guests keep them.
        let sandboxed = GuestCPUID.result(leaf: 1, subleaf: 0, host: host, setup: setup)
        #expect(sandboxed.ecx & 1 << 21 != 0 && sandboxed.edx & 1 << 29 != 0)
        #expect(GuestCPUID.result(leaf: 6, subleaf: 0, host: host, setup: setup).eax == .max)
    }
}

@Suite struct PassThroughControlsTests {
    /// Interrupts, NMIs, HLT and CR8 are the guest's; the preemption timer only with a budget.
    @Test func theDefaultSetUpLessWhatWouldTakeTheMachine() throws {
        let caps = try #require(try CapabilityProfile.load(named: "corei7_skylake_x").vmxCapabilities)
        let base = ControlSetup(capabilities: caps)
        let free = base.passThrough(capabilities: caps, budget: false)
        #expect(base.pinBased.rawValue == 0x5F && free.pinBased.rawValue == 0x16)
        #expect(free.primary.rawValue == 0x9600_6172)
        #expect(free.exit.rawValue == 0x003F_EFFF)
        #expect(free.secondary == base.secondary && free.entryBase == base.entryBase)
        let timed = base.passThrough(capabilities: caps, budget: true)
        #expect(timed.pinBased.rawValue == 0x56 && timed.exit.rawValue == 0x007F_EFFF)
    }
}

@Suite struct LinuxModuleLineTests {
    @Test func optionsBeforeTheSeparatorAndTheKernelsLineAfterIt() throws {
        let line = try LinuxModuleLine("guest name=lx initrd=rd budget=0x100 -- console=ttyS2,115200 -- x=1 panic=-1")
        #expect(line.name.string == "lx" && line.initrdName == "rd" && line.budget == 0x100)
        #expect(line.kernelCommandLine == "console=ttyS2,115200 -- x=1 panic=-1")
        let bare = try LinuxModuleLine("guest")
        #expect(bare.name.string == "linux" && bare.initrdName == nil && bare.kernelCommandLine.isEmpty)
        #expect(try LinuxModuleLine("guest --").kernelCommandLine.isEmpty)
    }

    @Test func unknownOptionsAndBadValuesAreRefused() {
        #expect(throws: GuestImageError.unknownOption("console=ttyS0")) { try LinuxModuleLine("guest console=ttyS0") }
        #expect(throws: GuestImageError.badValue(option: "budget", value: "soon")) {
            try LinuxModuleLine("budget=soon --")
        }
    }
}
