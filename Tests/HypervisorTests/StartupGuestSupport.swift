// Guests for the start-up tests: the hypervisor's own VMX enable and guest builder on an
// emulated CPU - alone, or one processor of an EmulatedMachine - with the guest's code at
// guest-physical 10000H, so that a SIPI with vector 10H starts an application processor on it.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

enum StartupGuestSupport {
    /// A guest named `name` built by buildGuest on `cpu` (VMXON done first), its VMCS current,
    /// from `arena`; `code` at guest-physical 10000H (the image is planned as a 64-bit guest;
    /// an application processor runs it in real mode after its SIPI).
    static func guest(
        on cpu: EmulatedCPU, arena: inout PageArena, name: String, code: [UInt8], vpid: UInt16 = 1,
        mode: String = "long"
    ) throws -> VirtualCPU<EmulatedCPU> {
        _ = try enableVMX(on: cpu, arena: &arena, quiet: true)
        let capabilities = VMXCapabilities.read(from: cpu)
        let setup = ControlSetup(capabilities: capabilities)
        let pageOrNil = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu)
        let bitmapsOrNil = Bitmaps(arena: &arena, cpu: cpu)
        let imageOrNil = arena.allocate(bytes: 4096, zeroingWith: cpu)
        let page = try #require(pageOrNil), bitmaps = try #require(bitmapsOrNil), image = try #require(imageOrNil)
        for (offset, byte) in code.enumerated() { cpu.memory.write8(image + UInt64(offset), byte) }
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let environment = GuestEnvironment(
            capabilities: capabilities, setup: setup, host: host, bitmaps: bitmaps,
            statistics: ExitStatistics(base: page, cpu: cpu))
        let guestImage = GuestImage(
            name: name, address: image, size: UInt64(code.count),
            commandLine: "mode=\(mode) load=0x10000 budget=2000000 name=\(name)", isBuiltIn: true)
        let plan = try guestImage.plan(cpu: cpu)
        return try buildGuest(
            plan: plan, image: guestImage, environment: environment, vpid: vpid, arena: &arena, cpu: cpu)
    }

    /// `bsp` and `ap` as members 0 and 1 of `group`, the AP waiting for SIPI.
    static func join(_ bsp: VirtualCPU<EmulatedCPU>, _ ap: VirtualCPU<EmulatedCPU>, group: GuestProcessorGroup) {
        bsp.group = group
        ap.group = group
        ap.groupMember = 1
        ap.isApplicationProcessor = true
        #expect(loadStartState(ap, startupVector: nil))
    }

    /// Two processors like corei7_skylake_x's (APIC IDs 0 and 1) over 64 MiB.
    static func twoProcessorMachine() throws -> EmulatedMachine {
        EmulatedMachine(
            profile: try CapabilityProfile.load(named: "corei7_skylake_x"), apicIDs: [0, 1], memorySize: 64 << 20,
            faultReporter: recordIssue)
    }

    /// Half `half` (0 or 1) of the hypervisor arena: one per processor.
    static func arena(half: UInt64) -> PageArena {
        let size = PhysicalLayout.arenaSize / 2
        return PageArena(
            base: PhysicalLayout.arenaBase + half * size, end: PhysicalLayout.arenaBase + (half + 1) * size)
    }

    /// Real mode at 1000:0000: CPUID (exit 10, which the hypervisor completes), then HLT with
    /// RFLAGS.IF = 0 (exit 12 at 1000:0002: the guest stops, halted).
    static let applicationProcessorCode: [UInt8] = [0x0F, 0xA2, 0xF4]

    /// The console lines of `cpu`, kept as they are written.
    static func lines(of cpu: EmulatedCPU) -> GuestRunSupport.Lines {
        let output = GuestRunSupport.Lines()
        cpu.consoleHandler = { output.lines.append($0) }
        return output
    }
}
