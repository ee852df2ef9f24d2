// A guest for the emulated CPU's guest-execution tests, built without the hypervisor's code so
// that these tests pin the emulated CPU alone: a VMCS that passes every VM-entry rule on the
// profile, host state like the kernel's, and guest memory with the guest's code.
//
// Physical layout (host-physical):
//   0x1000 VMXON region, 0x2000 VMCS, 0x3000/0x4000 I/O bitmaps A/B, 0x5000 MSR bitmaps,
//   0x8000.. EPT tables, 0x400000.. guest memory (guest-physical 0.. when EPT maps it, else the
//   same addresses guest-physical = host-physical).
// Guest-physical layout of a 64-bit guest: 0x1000 PML4, 0x2000 PDPT, 0x3000 PD (2 MiB pages
// identity-mapping the first 4 MiB), 0x6000 GDT, 0x7000 IDT, 0x8000 TSS, 0x10000 code, stack
// top 0x9F000.
import Foundation
import Testing
import VMX
@testable import EmulatedCPU

struct GuestMachine {
    let cpu: EmulatedCPU
    let useEPT: Bool
    var registers = GuestRegisters()

    static let vmxon: UInt64 = 0x1000
    static let vmcs: UInt64 = 0x2000
    static let ioBitmapA: UInt64 = 0x3000
    static let ioBitmapB: UInt64 = 0x4000
    static let msrBitmaps: UInt64 = 0x5000
    static let eptPML4: UInt64 = 0x8000
    /// Host-physical address of guest-physical 0 under EPT.
    static let guestBase: UInt64 = 0x40_0000
    static let code: UInt64 = 0x10000
    static let stackTop: UInt64 = 0x9F000
    static let gdt: UInt64 = 0x6000
    static let idt: UInt64 = 0x7000
    static let tss: UInt64 = 0x8000

    enum Kind { case long64, realMode }

    /// A CPU of `profile` in VMX root operation with a current VMCS that runs `code` at
    /// guest-physical 0x10000: a 64-bit guest with its own page tables, or a real-mode guest
    /// (unrestricted guest). `ept`: map guest memory through the EPT (4 KiB pages).
    /// `processor`: a CPU of a machine to use instead of a new one, with its own VMXON region
    /// and VMCS at `vmxonRegion` and `vmcsRegion` (the rest of the layout is shared).
    init(
        profile: CapabilityProfile? = nil, kind: Kind = .long64, ept: Bool = true, code: [UInt8],
        processor: EmulatedCPU? = nil, vmxonRegion: UInt64 = Self.vmxon, vmcsRegion: UInt64 = Self.vmcs
    ) throws {
        let profile = try profile ?? Profiles.synthetic()
        let cpu = processor ?? EmulatedCPU(profile: profile, memorySize: 16 << 20, faultReporter: recordIssue)
        self.cpu = cpu
        useEPT = ept
        prepareVMXON(cpu, region: vmxonRegion)
        try cpu.vmxon(vmxonRegion)
        #expect(cpu.vmxOperation == .root)
        try loadVMCS(cpu, at: vmcsRegion)
        let caps = cpu.capabilities!

        // Controls: the least each field allows, plus what guest execution needs.
        var secondary = SecondaryProcessorBasedControls(rawValue: 0)
        if ept { secondary.insert(.enableEPT) }
        if kind == .realMode { secondary.insert(.unrestrictedGuest) }
        var primaryRequired: PrimaryProcessorBasedControls = [.hltExiting, .useIOBitmaps, .useMSRBitmaps]
        if secondary.rawValue != 0 { primaryRequired.insert(.activateSecondaryControls) }
        let primary = caps.primaryProcessorBasedControls.adjust(required: primaryRequired).value
        let pin = caps.pinBasedControls.adjust(required: []).value
        let exit = caps.exitControls.adjust(required: [.hostAddressSpaceSize]).value
        let entry = caps.entryControls.adjust(required: kind == .long64 ? [.ia32eModeGuest] : []).value
        try write(.pinBasedVMExecutionControls, UInt64(pin.rawValue))
        try write(.primaryProcessorBasedVMExecutionControls, UInt64(primary.rawValue))
        if secondary.rawValue != 0 {
            try write(
                .secondaryProcessorBasedVMExecutionControls,
                UInt64(caps.secondaryProcessorBasedControls.adjust(required: secondary).value.rawValue))
        }
        try write(.primaryVMExitControls, UInt64(exit.rawValue))
        try write(.vmEntryControls, UInt64(entry.rawValue))
        try write(.ioBitmapAAddress, Self.ioBitmapA)
        try write(.ioBitmapBAddress, Self.ioBitmapB)
        try write(.msrBitmapsAddress, Self.msrBitmaps)
        try write(.vmcsLinkPointer, .max)
        // CR0/CR4: the host owns the VMX-fixed bits; the guest reads them as clear.
        try write(.cr0GuestHostMask, caps.cr0Fixed.fixed0 | ~caps.cr0Fixed.fixed1 & 0xFFFF_FFFF)
        try write(.cr4GuestHostMask, caps.cr4Fixed.fixed0)

        // Host state: the CPU's, with the kernel's selectors.
        try write(.hostCR0, cpu.cr0)
        try write(.hostCR3, cpu.cr3)
        try write(.hostCR4, cpu.cr4)
        try write(.hostCSSelector, 0x08)
        try write(.hostSSSelector, 0x10)
        try write(.hostDSSelector, 0x10)
        try write(.hostESSelector, 0x10)
        try write(.hostTRSelector, 0x18)
        try write(.hostTRBase, 0x9000)
        try write(.hostGDTRBase, 0xA000)
        try write(.hostIDTRBase, 0xB000)
        try write(.hostRIP, 0x10_0000)
        try write(.hostRSP, 0x20_0000)

        // EPT: guest-physical 0..2 MiB -> host-physical 0x400000.. with 4 KiB pages.
        if ept {
            let eptCaps = caps.eptVPIDCapabilities!
            let memoryType: UInt64 = eptCaps.contains(.writeBackMemoryType) ? 6 : 0
            try write(.eptPointer, Self.eptPML4 | 3 << 3 | memoryType)
            cpu.writePhysical64(Self.eptPML4, (Self.eptPML4 + 0x1000) | 7)
            cpu.writePhysical64(Self.eptPML4 + 0x1000, (Self.eptPML4 + 0x2000) | 7)
            cpu.writePhysical64(Self.eptPML4 + 0x2000, (Self.eptPML4 + 0x3000) | 7)
            for page in 0..<UInt64(512) {
                cpu.writePhysical64(
                    Self.eptPML4 + 0x3000 + page * 8, (Self.guestBase + page * 0x1000) | memoryType << 3 | 7)
            }
        }

        switch kind {
        case .long64: try setUp64BitGuest()
        case .realMode: try setUpRealModeGuest()
        }
        writeGuest(Self.code, code)
    }

    /// The host-physical address of guest-physical `address`.
    func host(_ address: UInt64) -> UInt64 { useEPT ? Self.guestBase + address : address }

    func writeGuest(_ address: UInt64, _ bytes: [UInt8]) {
        for (offset, byte) in bytes.enumerated() { cpu.memory.write8(host(address) + UInt64(offset), byte) }
    }

    func writeGuest64(_ address: UInt64, _ value: UInt64) { cpu.writePhysical64(host(address), value) }
    func readGuest64(_ address: UInt64) -> UInt64 { cpu.readPhysical64(host(address)) }

    func write(_ field: VMCSField, _ value: UInt64) throws { try cpu.vmwrite(field, value) }
    func read(_ field: VMCSField) throws -> UInt64 { try cpu.vmread(field) }

    private func setUp64BitGuest() throws {
        let caps = cpu.capabilities!
        // Page tables: identity map of 0..4 MiB with 2 MiB pages.
        writeGuest64(0x1000, 0x2000 | 7)
        writeGuest64(0x2000, 0x3000 | 7)
        writeGuest64(0x3000, 0x0000_0000 | 0x87)
        writeGuest64(0x3008, 0x0020_0000 | 0x87)
        // GDT: null, 64-bit code 0x08, data 0x10, TSS 0x18 (16 bytes).
        writeGuest64(Self.gdt + 0x08, 0x00AF_9B00_0000_FFFF)
        writeGuest64(Self.gdt + 0x10, 0x00CF_9300_0000_FFFF)
        try write(
            .guestCR0,
            caps.cr0Fixed.apply(
                to: ControlRegister0.pg.rawValue | ControlRegister0.pe.rawValue
                    | ControlRegister0.ne.rawValue | ControlRegister0.et.rawValue))
        try write(.guestCR3, 0x1000)
        try write(.guestCR4, caps.cr4Fixed.apply(to: ControlRegister4.pae.rawValue))
        try write(.guestDR7, 0x400)
        try write(.guestRFLAGS, 0x2)
        try write(.guestRIP, Self.code)
        try write(.guestRSP, Self.stackTop)
        try write(.guestCSSelector, 0x08)
        try write(.guestCSLimit, 0xFFFF_FFFF)
        try write(.guestCSAccessRights, 0xA09B)
        for (selector, limit, rights) in [
            (VMCSField.guestSSSelector, VMCSField.guestSSLimit, VMCSField.guestSSAccessRights),
            (.guestDSSelector, .guestDSLimit, .guestDSAccessRights),
            (.guestESSelector, .guestESLimit, .guestESAccessRights),
            (.guestFSSelector, .guestFSLimit, .guestFSAccessRights),
            (.guestGSSelector, .guestGSLimit, .guestGSAccessRights)
        ] {
            try write(selector, 0x10)
            try write(limit, 0xFFFF_FFFF)
            try write(rights, 0xC093)
        }
        try write(.guestTRSelector, 0x18)
        try write(.guestTRBase, Self.tss)
        try write(.guestTRLimit, 0x67)
        try write(.guestTRAccessRights, 0x8B)
        try write(.guestLDTRAccessRights, 0x1_0000)
        try write(.guestGDTRBase, Self.gdt)
        try write(.guestGDTRLimit, 0x1F)
        try write(.guestIDTRBase, Self.idt)
        try write(.guestIDTRLimit, 0xFFF)
    }

    private func setUpRealModeGuest() throws {
        let caps = cpu.capabilities!
        var cr0Fixed = caps.cr0Fixed
        cr0Fixed.fixed0 &= ~(ControlRegister0.pg.rawValue | ControlRegister0.pe.rawValue)
        try write(.guestCR0, cr0Fixed.apply(to: ControlRegister0.et.rawValue))
        try write(.guestCR4, caps.cr4Fixed.apply(to: 0))
        try write(.guestDR7, 0x400)
        try write(.guestRFLAGS, 0x2)
        // CS:IP = 1000:0000 -> linear 0x10000.
        try write(.guestRIP, 0)
        try write(.guestRSP, 0xFFF0)
        try write(.guestCSSelector, 0x1000)
        try write(.guestCSBase, 0x10000)
        try write(.guestCSLimit, 0xFFFF)
        try write(.guestCSAccessRights, 0x9B)
        for (selector, base, limit, rights) in [
            (VMCSField.guestSSSelector, VMCSField.guestSSBase, VMCSField.guestSSLimit, VMCSField.guestSSAccessRights),
            (.guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights),
            (.guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights),
            (.guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights),
            (.guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights)
        ] {
            try write(selector, 0x9000)
            try write(base, 0x90000)
            try write(limit, 0xFFFF)
            try write(rights, 0x93)
        }
        try write(.guestTRAccessRights, 0x8B)
        try write(.guestTRLimit, 0xFFFF)
        try write(.guestLDTRAccessRights, 0x1_0000)
        try write(.guestIDTRLimit, 0x3FF)
        try write(.guestGDTRLimit, 0xFFFF)
    }

    // MARK: Controls the tests change

    func set(_ field: VMCSField, adding bits: UInt64) throws { try write(field, try read(field) | bits) }
    func set(_ field: VMCSField, removing bits: UInt64) throws { try write(field, try read(field) & ~bits) }

    func setPrimary(_ controls: PrimaryProcessorBasedControls) throws {
        try set(.primaryProcessorBasedVMExecutionControls, adding: UInt64(controls.rawValue))
    }

    func clearPrimary(_ controls: PrimaryProcessorBasedControls) throws {
        try set(.primaryProcessorBasedVMExecutionControls, removing: UInt64(controls.rawValue))
    }

    /// Sets the I/O bitmap bit of `port`.
    func interceptPort(_ port: UInt16) {
        let bitmap = port < 0x8000 ? Self.ioBitmapA : Self.ioBitmapB
        let bit = UInt64(port & 0x7FFF)
        cpu.memory.write8(bitmap + bit / 8, cpu.memory.read8(bitmap + bit / 8) | 1 << UInt8(bit % 8))
    }

    /// Sets the read (or write) bitmap bit of `msr`.
    func interceptMSR(_ msr: UInt32, write: Bool) {
        let (base, bit): (UInt64, UInt64) =
            msr >= 0xC000_0000 ? (write ? 3072 : 1024, UInt64(msr - 0xC000_0000)) : (write ? 2048 : 0, UInt64(msr))
        let address = Self.msrBitmaps + base + bit / 8
        cpu.memory.write8(address, cpu.memory.read8(address) | 1 << UInt8(bit % 8))
    }

    /// The EPT PTE of guest-physical `address`.
    func eptEntry(_ address: UInt64) -> UInt64 { Self.eptPML4 + 0x3000 + (address >> 12) * 8 }

    /// A 64-bit interrupt gate for `vector` to `handler` (code selector 0x08).
    func setInterruptGate(_ vector: UInt8, handler: UInt64, ist: UInt8 = 0) {
        let low = (handler & 0xFFFF) | 0x08 << 16 | UInt64(ist) << 32 | 0x8E << 40 | (handler >> 16 & 0xFFFF) << 48
        writeGuest64(Self.idt + UInt64(vector) * 16, low)
        writeGuest64(Self.idt + UInt64(vector) * 16 + 8, handler >> 32)
    }

    // MARK: Running

    /// Enters the guest (VMLAUNCH the first time, then VMRESUME) and returns the exit reason.
    mutating func run(launch: Bool) throws -> ExitReason {
        try cpu.enterGuest(&registers, launch: launch)
        return ExitReason(rawValue: UInt32(try read(.exitReason)))
    }

    /// Skips the instruction that exited (RIP += VM-exit instruction length) and resumes.
    mutating func skipAndResume() throws -> ExitReason {
        try write(.guestRIP, try read(.guestRIP) + (try read(.vmExitInstructionLength)))
        return try run(launch: false)
    }
}

// MARK: Assembling guest code

enum AssemblyError: Error, CustomStringConvertible {
    case failed(String)
    var description: String {
        switch self {
        case .failed(let message): return message
        }
    }
}

/// Assembles `source` with nasm as a flat binary at `origin` (`bits` 16, 32 or 64).
func assemble(_ source: String, bits: Int = 64, origin: UInt64 = GuestMachine.code) throws -> [UInt8] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmx-asm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = directory.appendingPathComponent("guest.asm"), output = directory.appendingPathComponent("guest.bin")
    try "bits \(bits)\norg \(origin)\n\(source)\n".write(to: input, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["nasm", "-f", "bin", "-o", output.path, input.path]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        throw AssemblyError.failed("nasm failed: \(message)")
    }
    return [UInt8](try Data(contentsOf: output))
}
