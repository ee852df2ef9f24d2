// The guest is untrusted: whatever it does - and whatever gdb sends - the hypervisor answers
// with an error status, an injected fault or a stop of that guest, never a trap of its own.
// Hostile guests run through the whole hypervisor on the emulated CPU (assembled here from the
// sources below, with guests/guest.inc and lib64.inc).
import Foundation
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct UntrustedGuestTests {
    /// A flat guest binary from nasm source (the include path is guests/).
    static func assemble(_ source: String) throws -> [UInt8] {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmx-untrusted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let input = work.appendingPathComponent("guest.asm"), output = work.appendingPathComponent("guest.bin")
        try source.write(to: input, atomically: true, encoding: .utf8)
        let guests = GuestRunSupport.repository.appendingPathComponent("guests")
        _ = try GuestRunSupport.run(["nasm", "-f", "bin", "-w+all", "-I", guests.path + "/", "-o", output.path, input.path])
        return [UInt8](try Data(contentsOf: output))
    }

    /// A 32-bit guest maps linear FFFFF000H with its own paging, executes CPUID at FFFFFFFEH and
    /// goes on at EIP 0, where a PRINT says so. The hypervisor used to move RIP to 100000000H,
    /// and VM entry failed on it (SDM 27.3.1.4: bits 63:32 of RIP are 0 outside 64-bit mode).
    static let eipWrapSource = """
        bits 32
        org 0x10000
        %include "guest.inc"
        start:
            mov edi, 0x100000               ; page directory 100000H, page table 101000H
            xor eax, eax
            mov ecx, 2048
            rep stosd
            mov dword [0x100000], 0x83      ; 0-4 MiB: a 4-MiB page (CR4.PSE)
            mov dword [0x100000 + 1023 * 4], 0x101003
            mov dword [0x101000 + 1023 * 4], 0x102003   ; FFFFF000H -> 102000H
            mov word [0x102FFE], 0xA20F     ; CPUID at FFFFFFFEH
            mov esi, at_zero                ; what runs at EIP 0
            xor edi, edi
            mov ecx, at_zero_end - at_zero
            rep movsb
            mov eax, cr4
            or eax, 1 << 4
            mov cr4, eax
            mov eax, 0x100000
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax
            mov eax, 0xFFFFFFFE
            jmp eax
        at_zero:
            mov eax, HC_PRINT
            mov ebx, message
            mov ecx, message_end - message
            vmcall
            cli
            hlt
        at_zero_end:
        message: db "EIP wrapped to 0 after CPUID at FFFFFFFEH"
        message_end:
        """

    @Test func eipWrapsAtFourGiBOutsideSixtyFourBitMode() throws {
        let image = GuestRunSupport.Image(name: "wrap32", commandLine: "guest name=wrap32 mode=protected load=0x10000",
                                          bytes: try Self.assemble(Self.eipWrapSource), isBuiltIn: false)
        let run = try GuestRunSupport.runHypervisor(profile: "corei7_skylake_x", images: [image])
        let lines = run.lines.filter { $0.hasPrefix("[wrap32]") || $0.hasPrefix("guest wrap32") }.dropFirst()
        #expect(Array(lines) == [
            "[wrap32] EIP wrapped to 0 after CPUID at FFFFFFFEH",
            "guest wrap32 stopped: halted (HLT) (4 VM exits)",   // MOV to CR0, CPUID, VMCALL, HLT
        ], "\(run.lines.joined(separator: "\n"))")
    }
}
