// A pass-through guest on the emulated CPU: guests/linux/fake-kernel.asm, a kernel image that
// speaks Linux's boot protocol, loaded by the Linux loader onto a small machine and run through
// the same runHypervisor as the kernel's (docs/LINUX.md). It checks from inside that a kept
// port reads as absent, that the hypervisor's memory is answered by a scratch page, that the
// zero page is where RSI says, and ends with the keyboard controller's reset pulse; the passed
// UART (COM3) does not exit, so its bytes reach the machine's port, where the test reads them.
import Foundation
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct PassThroughRunTests {
    static let module: UInt64 = 0x20_0000

    /// A 64-MiB machine: low memory, then RAM from 1 MiB; the hosted arena is at 16-48 MiB.
    static let firmwareMap = [
        E820Entry(base: 0, length: 0x9_F000, type: .available),
        E820Entry(base: 0x9_F000, length: 0x1000, type: .reserved),
        E820Entry(base: 0xF_0000, length: 0x1_0000, type: .reserved),
        E820Entry(base: 0x10_0000, length: 0x3F0_0000, type: .available)
    ]

    func fakeKernel() throws -> [UInt8] {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftvmx-fake-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: work) }
        let directory = GuestRunSupport.repository.appendingPathComponent("guests/linux")
        _ = try GuestRunSupport.run([
            "nasm", "-f", "bin", "-w+all", "-I", directory.path + "/", "-o", work.path,
            directory.appendingPathComponent("fake-kernel.asm").path
        ])
        return [UInt8](try Data(contentsOf: work))
    }

    /// Runs the image with `commandLine`; returns the hypervisor's lines, the bytes the guest
    /// wrote to COM3, and whether the run succeeded.
    func run(_ bytes: [UInt8], commandLine: String, granted: [PhysicalRange]? = nil) throws
        -> (lines: [String], com3: String, healthy: Bool)
    {
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), memorySize: 64 << 20,
            faultReporter: recordIssue)
        for (offset, byte) in bytes.enumerated() { cpu.memory.write8(Self.module + UInt64(offset), byte) }
        let image = GuestImage(
            name: "module 0", address: Self.module, size: UInt64(bytes.count),
            commandLine: commandLine, isBuiltIn: false)
        // What the kernel would grant: low memory but its early memory, the module, the RAM
        // outside the arena.
        let ram =
            granted ?? [
                PhysicalRange(start: 0, end: 0x1000), PhysicalRange(start: 0x9000, end: 0x10_0000),
                PhysicalRange(start: Self.module, end: PhysicalLayout.arenaBase),
                PhysicalRange(start: PhysicalLayout.arenaEnd, end: 64 << 20)
            ]
        let machine = PassThroughMachine(
            firmwareMap: Self.firmwareMap, claimGuestRAM: { ram }, imageChecksum: { 0x1234 })
        var arena = PageArena()
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let healthy = runHypervisor(
            on: cpu, arena: &arena, options: BootOptions(), host: host, guests: [image],
            machine: machine)
        let lines = cpu.consoleLines
        let com3 = String(
            decoding: cpu.portWrites.filter { $0.port == 0x3E8 }.map { UInt8(truncatingIfNeeded: $0.value) },
            as: UTF8.self)
        return (lines, com3, healthy)
    }

    @Test func theBoundariesHoldFromInsideTheGuest() throws {
        let (lines, com3, healthy) = try run(try fakeKernel(), commandLine: "guest name=fake -- console=ttyS2")
        #expect(com3 == "KZSHQ\n")
        #expect(healthy)
        // The hypervisor's pages were answered, each with one violation line and one answer line.
        #expect(
            lines.contains {
                $0.hasPrefix("guest fake: EPT violation at RIP ") && $0.contains(": read of guest-physical 0x1000 ")
            })
        #expect(
            lines.contains(
                """
                guest fake: guest-physical 0x1000 is the hypervisor's: mapped to a scratch page (reads zeros, \
                writes discarded)
                """
            ))
        #expect(
            lines.contains(
                """
                guest fake: guest-physical 0x2000 is the hypervisor's: mapped to a scratch page (reads zeros, \
                writes discarded)
                """
            ))
        #expect(lines.contains("guest fake: E820 reserved [mem 0x0000000000001000-0x0000000000008fff] hypervisor"))
        #expect(lines.contains("guest fake: E820 reserved [mem 0x0000000001000000-0x0000000002ffffff] hypervisor"))
        #expect(
            lines.contains { $0.hasPrefix("guest fake stopped: reset (keyboard controller reset pulse, port 64H) (") })
        #expect(
            lines.contains("hypervisor image: code and read-only data unchanged across guest fake (checksum 0x1234)"))
        #expect(lines.contains { $0.hasPrefix("guest fake: command line \"console=ttyS2\"") })
    }

    @Test func badKernelsAndModuleLinesAreRefusedWithOneLine() throws {
        var bytes = try fakeKernel()
        bytes[0x206] = 0x0B  // protocol 2.11
        var result = try run(bytes, commandLine: "guest name=old --")
        #expect(!result.healthy)
        #expect(result.lines.contains { $0.hasPrefix("guest old: cannot start Linux: ") && $0.contains("2.11") })
        result = try run(try fakeKernel(), commandLine: "guest name=rd initrd=missing --")
        #expect(result.lines.contains("guest rd: cannot start Linux: initrd=missing: no boot module has name=missing"))
        #expect(!result.healthy)
        result = try run(try fakeKernel(), commandLine: "guest name=opt speed=fast --")
        #expect(result.lines.contains { $0.hasPrefix("guest opt: cannot start Linux: unknown option \"speed=fast\"") })
        result = try run(try fakeKernel(), commandLine: "guest name=long -- " + String(repeating: "x", count: 300))
        #expect(result.lines.contains { $0.hasPrefix("guest long: cannot start Linux: ") && $0.contains("255") })
        // Less RAM than init_size (2 MiB at a 2-MiB boundary) outside the arena.
        result = try run(
            try fakeKernel(), commandLine: "guest name=small --",
            granted: [
                PhysicalRange(start: 0, end: 0x1000), PhysicalRange(start: 0x9000, end: 0x10_0000),
                PhysicalRange(start: Self.module, end: Self.module + 0x10_0000)
            ])
        #expect(
            result.lines.contains {
                $0.hasPrefix("guest small: cannot start Linux: no 0x200000-aligned range of 0x200000 bytes")
            })
        #expect(!result.healthy)
    }
}
