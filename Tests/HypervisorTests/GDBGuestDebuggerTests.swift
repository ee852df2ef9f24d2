// The guest debugger in the real run loop, hosted: the whole hypervisor (runHypervisor) on the
// emulated CPU runs guests/user/debug64.asm, whose instructions Unicorn executes, while a scripted
// gdb conversation breaks at `steps`, single-steps three instructions, reads RAX, writes the
// guest's `exit_code` through its paging and EPT, and continues to the guest's end. The same
// script as tools/gdb-guest-test drives against Bochs, packet by packet.
import Foundation
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

/// gdb's side as a script: bytes arrive only when the stub waits for them (`receiveByte`);
/// nothing is pending while the guest runs (`pollByte`), so no interrupt.
final class ScriptedDebugHost: GuestDebugHost {
    var input: [UInt8]
    var position = 0
    var output: [UInt8] = []
    var debugRegisters: [Int: UInt64] = [:]

    init(_ packets: [String]) { input = conversation(packets) }

    func receiveByte() -> UInt8? {
        guard position < input.count else { return nil }
        defer { position += 1 }
        return input[position]
    }
    func pollByte() -> UInt8? { nil }
    func send(_ byte: UInt8) { output.append(byte) }
    func writeDebugRegister(_ number: Int, _ value: UInt64) { debugRegisters[number] = value }

    var packets: [String] {
        var connection = ScriptedConnection()
        connection.output = output
        return connection.packets
    }
}

@Suite(.serialized) struct GDBGuestDebuggerTests {
    /// debug64.elf linked as the Makefile links user images, and its symbols.
    static func debugGuest() throws -> (bytes: [UInt8], symbols: [String: UInt64]) {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftvmx-debug64-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let guests = GuestRunSupport.repository.appendingPathComponent("guests")
        let object = work.appendingPathComponent("debug64.o"), elf = work.appendingPathComponent("debug64.elf")
        _ = try GuestRunSupport.run([
            "nasm", "-f", "elf64", "-w+all", "-I", guests.path + "/", "-o", object.path,
            guests.appendingPathComponent("user/debug64.asm").path
        ])
        _ = try GuestRunSupport.run([
            GuestRunSupport.linker, "-m", "elf_x86_64", "-static", "-nostdlib", "-e", "start",
            "--image-base=0x100000", "-Ttext=0x101000", "-z", "max-page-size=4096",
            "-z", "noexecstack", "-o", elf.path, object.path
        ])
        var symbols: [String: UInt64] = [:]
        for line in try GuestRunSupport.run(["nm", elf.path]).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 3 { symbols[String(parts[2])] = UInt64(parts[0], radix: 16) }
        }
        return ([UInt8](FileManager.default.contents(atPath: elf.path) ?? Data()), symbols)
    }

    /// Where the snapshot test keeps the debug snapshot: free memory below the guest image.
    static let snapshotBase: UInt64 = 0x8000

    /// Runs the hypervisor with debug64 as its only module, under the scripted gdb, with a debug
    /// snapshot at `snapshotBase` if `snapshot`.
    func run(_ packets: [String], profile: String, snapshot: Bool = false) throws
        -> (host: ScriptedDebugHost, lines: [String], cpu: EmulatedCPU)
    {
        let (bytes, _) = try Self.debugGuest()
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: profile), memorySize: 64 << 20,
            faultReporter: recordIssue)
        cpu.tscCyclesPerInstruction = 64
        cpu.guestInstructionLimit = 1_000_000
        for (offset, byte) in bytes.enumerated() { cpu.memory.write8(GuestRunSupport.imageBase + UInt64(offset), byte) }
        let image = GuestImage(
            name: "module 0", address: GuestRunSupport.imageBase, size: UInt64(bytes.count),
            commandLine: "guest name=debug64", isBuiltIn: false)
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let debugHost = ScriptedDebugHost(packets)
        let debugging = GuestDebugging<EmulatedCPU>(
            snapshot: snapshot ? DebugSnapshot(base: Self.snapshotBase, cpu: cpu) : nil,
            host: debugHost, guestName: Array("debug64".utf8))
        let output = GuestRunSupport.Lines()
        cpu.consoleHandler = { output.lines.append($0) }
        var arena = PageArena()
        _ = Hypervisor.runHypervisor(
            on: cpu, arena: &arena, options: BootOptions(), host: host, guests: [image],
            debugging: debugging.hooks)
        return (debugHost, output.lines, cpu)
    }

    @Test(arguments: ["synthetic-full", "corei7_skylake_x"])
    func breakStepReadWriteContinue(profile: String) throws {
        let symbols = try Self.debugGuest().symbols
        let steps = try #require(symbols["steps"]), exitCode = try #require(symbols["exit_code"])
        let hex = { (value: UInt64) in String(value, radix: 16) }
        let (host, lines, _) = try run(
            [
                "?",
                "Z0,\(hex(steps)),1",
                "c",
                "z0,\(hex(steps)),1",
                "p10",
                "s", "s", "s",
                "p10",
                "p0",
                "M\(hex(exitCode)),4:2a000000",
                "m\(hex(exitCode)),4",
                "c"
            ], profile: profile)
        #expect(
            host.packets == [
                "S05",
                "OK",
                "T05swbreak:;",
                "OK",
                littleEndianHex(steps, bytes: 8),
                "S05", "S05", "S05",
                littleEndianHex(steps + 13, bytes: 8),  // add (3), inc (3), mov [rel result], rax (7)
                littleEndianHex(4, bytes: 8),
                "OK",
                "2a000000",
                "W2a"
            ], "\(lines.joined(separator: "\n"))")
        #expect(
            lines.contains {
                $0.contains("guest debug64 stopped: shut down by the guest (hypercall SHUT_DOWN, code 42)")
            },
            "\(lines.joined(separator: "\n"))")
        // The steps went by the monitor trap flag on the synthetic profile, by RFLAGS.TF on Skylake.
        let monitorTrapFlag = lines.contains { $0.contains("monitor trap flag allowed, and its VM exits arrive") }
        #expect(monitorTrapFlag == (profile == "synthetic-full"))
    }

    @Test func killFromGDB() throws {
        let (host, lines, _) = try run(["?", "k"], profile: "synthetic-full")
        #expect(host.packets == ["S05"])
        #expect(lines.contains { $0.contains("guest debug64: killed by gdb") }, "\(lines.joined(separator: "\n"))")
    }

    /// The same hooks keep the debug snapshot: after the run it shows debug64's last exit, the
    /// SHUT_DOWN VMCALL after `later` (NOP, MOV EAX, MOV EBX: 1 + 5 + 6 bytes), with its GPRs.
    @Test func snapshotShowsTheLastExit() throws {
        let symbols = try Self.debugGuest().symbols
        let later = try #require(symbols["later"])
        let (host, lines, cpu) = try run(["?", "c"], profile: "synthetic-full", snapshot: true)
        #expect(host.packets == ["S05", "W07"], "\(lines.joined(separator: "\n"))")
        let slot = { (slot: DebugSnapshot.Slot) in cpu.readPhysical64(Self.snapshotBase + slot.offset) }
        #expect(slot(.guestName0) == 0x0034_3667_7562_6564 && slot(.guestName1) == 0)  // "debug64"
        #expect(slot(.exitReason) == UInt64(ExitReason.vmcall.rawValue))
        #expect(slot(.guestRIP) == later + 12)
        #expect(slot(.rax) == 2 && slot(.rbx) == 7)
        #expect(slot(.exitsRecorded) > 0)
        #expect(slot(.sequence) % 2 == 0)
    }
}
