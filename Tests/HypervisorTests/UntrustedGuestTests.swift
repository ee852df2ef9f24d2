// The guest is untrusted: whatever it does - and whatever gdb sends - the hypervisor answers
// with an error status, an injected fault or a stop of that guest, never a trap of its own.
// Hostile guests run through the whole hypervisor on the emulated CPU (assembled here from the
// sources below, with guests/guest.inc and lib64.inc), and the exit handlers and the debugger's
// target are fed arbitrary exit information, registers, guest page tables and packets.
import Foundation
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct UntrustedGuestTests {
    /// A flat guest binary from nasm source (the include path is guests/).
    static func assemble(_ source: String) throws -> [UInt8] {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftvmx-untrusted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let input = work.appendingPathComponent("guest.asm"), output = work.appendingPathComponent("guest.bin")
        try source.write(to: input, atomically: true, encoding: .utf8)
        let guests = GuestRunSupport.repository.appendingPathComponent("guests")
        _ = try GuestRunSupport.run([
            "nasm", "-f", "bin", "-w+all", "-I", guests.path + "/", "-o", output.path, input.path
        ])
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
        let image = GuestRunSupport.Image(
            name: "wrap32", commandLine: "guest name=wrap32 mode=protected load=0x10000",
            bytes: try Self.assemble(Self.eipWrapSource), isBuiltIn: false)
        let run = try GuestRunSupport.runHypervisor(profile: "corei7_skylake_x", images: [image])
        let lines = run.lines.filter { $0.hasPrefix("[wrap32]") || $0.hasPrefix("guest wrap32") }.dropFirst()
        #expect(
            Array(lines) == [
                "[wrap32] EIP wrapped to 0 after CPUID at FFFFFFFEH",
                "guest wrap32 stopped: halted (HLT) (4 VM exits)"  // MOV to CR0, CPUID, VMCALL, HLT
            ], "\(run.lines.joined(separator: "\n"))")
    }

    /// Hypercalls with arguments at every edge, string I/O that walks off the guest's memory or
    /// wraps its index register, port accesses that reach past the emulated ports, and
    /// register values no processor would accept: each gets its status or #GP(0).
    static let hostileSource = """
        bits 64
        org 0x10000
        %include "guest.inc"
        PAGE_DIRECTORY equ 0x1F2000

        %macro HC 3
            mov rax, %1
            mov rbx, %2
            mov rcx, %3
            vmcall
        %endmacro

        start:
            call setup_idt
            HC HC_PRINT, -16, 256           ; wraps around 2^64
            PRINT_HEX "print wrap: ", rax
            HC HC_PRINT, 0x10000, -1
            PRINT_HEX "print huge: ", rax
            HC HC_PRINT, 0x1FFF80, 256      ; runs off the end of memory
            PRINT_HEX "print across end: ", rax
            HC HC_RAISE_INTERRUPT, -1, 0
            PRINT_HEX "raise -1: ", rax
            HC HC_SINGLE_STEP, -1, 0
            PRINT_HEX "step -1: ", rax
            HC HC_SINGLE_STEP, 0, 0
            PRINT_HEX "step 0: ", rax
            HC -1, 0, 0
            PRINT_HEX "function -1: ", rax
            mov rax, 0x000FFFFFFFFFF000 | 3 ; linear 200000H: a page table far outside memory
            mov [PAGE_DIRECTORY + 8], rax
            invlpg [0x200000]
            HC HC_PRINT, 0x200000, 16
            PRINT_HEX "print via a page table outside memory: ", rax
            mov rax, 0x0001000000000000 | 0x83 ; linear 200000H: a 2-MiB page at guest-physical 2^48
            mov [PAGE_DIRECTORY + 8], rax
            invlpg [0x200000]
            HC HC_PRINT, 0x200000, 16
            PRINT_HEX "print via a page at 2^48: ", rax
            mov qword [PAGE_DIRECTORY + 8], 0
            invlpg [0x200000]
            mov rbx, 0x8000000000010000     ; bits 47:0 would name the code, but it is not canonical
            HC HC_PRINT, rbx, 16
            PRINT_HEX "print non-canonical: ", rax

            EXPECT_FAULT after_outs         ; REP OUTSB until RSI leaves the memory (256 exits)
            mov rsi, 0x100000
            mov rcx, -1
            mov dx, 0x80
            rep outsb
        after_outs:
            PRINT_HEX "outs stopped at RSI ", rsi
            mov rcx, 0xFFFFFFFF00000003     ; 32-bit address size: ECX counts, RCX[63:32] stay
            mov esi, 0x100000
            a32 rep outsb
            PRINT_HEX "a32 rep outsb: RCX ", rcx
            EXPECT_FAULT after_std          ; DF = 1 from RSI 0: the second byte is at 2^64 - 1
            std
            xor esi, esi
            mov rcx, 5
            rep outsb
        after_std:
            cld
            PRINT_HEX "backwards outs: RCX ", rcx
            EXPECT_FAULT after_ins
            mov rdi, -8
            mov rcx, 8
            mov dx, 0x3F8
            rep insb
        after_ins:
            PRINT_HEX "ins at 2^64 - 8: RCX ", rcx
            EXPECT_FAULT after_in
            mov dx, 0x3FE                   ; 3FEH-401H: 400H is not emulated
            in eax, dx
        after_in:
            EXPECT_FAULT after_out
            mov dx, 0xFFFF
            out dx, eax
        after_out:
            mov eax, -1
            mov ecx, -1
            cpuid
            PRINT "CPUID FFFFFFFFH answered"
            EXPECT_FAULT after_rdmsr
            mov ecx, -1
            rdmsr
        after_rdmsr:
            EXPECT_FAULT after_cr8
            mov rax, -1
            mov cr8, rax
        after_cr8:
            EXPECT_FAULT after_cr0
            mov rax, -1
            mov cr0, rax
        after_cr0:
            HC HC_SHUT_DOWN, 0x55, 0

        %include "lib64.inc"
        """

    @Test(arguments: ["corei7_skylake_x", "core2_penryn_t9600"])
    func hostileGuestGetsStatusesAndFaults(profile: String) throws {
        // Built-in, so that it runs without EPT too (on core2_penryn_t9600). Its REP OUTS over
        // all 2 MiB of its memory costs the host about 200 million cycles, which count against
        // its budget (VirtualCPU.armBudget): the budget is set well above that.
        let image = GuestRunSupport.Image(
            name: "hostile", commandLine: "mode=long load=0x10000 budget=4000000000",
            bytes: try Self.assemble(Self.hostileSource), isBuiltIn: true)
        let run = try GuestRunSupport.runHypervisor(profile: profile, images: [image])
        let lines = run.lines.filter { $0.hasPrefix("[hostile]") || $0.hasPrefix("guest hostile") }.dropFirst()
        let gp: [String] = ["[hostile] caught exception 0xd", "[hostile]   error code 0x0"]
        var expected = [
            "[hostile] print wrap: 0x3", "[hostile] print huge: 0x2", "[hostile] print across end: 0x3",
            "[hostile] raise -1: 0x2", "[hostile] step -1: 0x2", "[hostile] step 0: 0x2", "[hostile] function -1: 0x1",
            "[hostile] print via a page table outside memory: 0x3",
            "[hostile] print via a page at 2^48: 0x3", "[hostile] print non-canonical: 0x3",
            "guest hostile: string I/O operand at linear 0x200000 is not in the guest's memory: #GP(0) injected"
        ]
        expected +=
            gp + [
                "[hostile] outs stopped at RSI 0x200000", "[hostile] a32 rep outsb: RCX 0xffffffff00000000",
                """
                guest hostile: string I/O operand at linear 0xffffffffffffffff is not in the guest's memory: \
                #GP(0) injected
                """
            ]
        expected +=
            gp + [
                "[hostile] backwards outs: RCX 0x4",
                """
                guest hostile: string I/O operand at linear 0xfffffffffffffff8 is not in the guest's memory: \
                #GP(0) injected
                """
            ]
        expected +=
            gp + [
                "[hostile] ins at 2^64 - 8: RCX 0x8",
                "guest hostile: IN from port 0x0400 (not emulated) denied: #GP(0) injected"
            ]
        expected += gp + ["guest hostile: OUT to port 0xffff (not emulated) denied: #GP(0) injected"]
        expected +=
            gp + [
                "[hostile] CPUID FFFFFFFFH answered",
                "guest hostile: RDMSR 0xffffffff (not emulated) denied: #GP(0) injected"
            ]
        expected += gp + ["guest hostile: MOV to CR8 0xffffffffffffffff sets reserved bits: #GP(0) injected"]
        expected +=
            gp + [
                """
                guest hostile: MOV to CR0 0xffffffffffffffff: #GP(0) injected (cr0.reserved-63-32, SDM Vol. 2B MOV \
                CR; 3A 2.5)
                """
            ]
        // 42 VMCALL, 262 I/O instructions, 2 MOV to CR, CPUID, RDMSR.
        expected += gp + ["guest hostile stopped: shut down by the guest (hypercall SHUT_DOWN, code 85) (308 VM exits)"]
        #expect(Array(lines) == expected, "\(run.lines.joined(separator: "\n"))")
        #expect(run.succeeded)
    }

    /// Values a guest can put in a register or field, the edges weighted.
    static func value(_ generator: inout SplitMix64) -> UInt64 {
        switch generator.next() % 8 {
        case 0: return 0
        case 1: return .max
        case 2: return 1 << (generator.next() % 64)
        case 3: return generator.next() & 0xFFFF
        case 4: return generator.next() & 0xFFFF_FFFF
        case 5: return 0x8000_0000_0000_0000 | (generator.next() & 0xFFF)
        default: return generator.next()
        }
    }

    /// Every handler of the standard table, reached through the run loop's dispatch, with
    /// arbitrary registers, guest-state fields the guest controls, exit information (as the
    /// processor stores it, whatever its format allows), scribbled guest page tables, and now
    /// and then a failed VM entry (its rules run on that state); with and without EPT.
    @Test(arguments: ["corei7_skylake_x", "core2_penryn_t9600"])
    func exitHandlersSurviveArbitraryExits(profile: String) throws {
        let (vcpu, output) = try DiagnosticsEntryFailureTests.guest(profile: profile)
        let cpu = vcpu.cpu
        let vmcs = try #require(cpu.currentVMCS)
        var generator = SplitMix64(state: 0x5EED_0101)
        let guestFields: [VMCSField] = [
            .guestRIP, .guestRSP, .guestRFLAGS, .guestCR0, .guestCR3, .guestCR4, .cr0ReadShadow, .cr4ReadShadow,
            .guestCSAccessRights, .guestSSAccessRights, .guestInterruptibilityState, .guestDR7, .guestIA32EFER,
            .guestESBase, .guestCSBase, .guestSSBase, .guestDSBase, .guestFSBase, .guestGSBase
        ]
        let exitFields: [VMCSField] = [
            .exitQualification, .vmExitInstructionInformation, .vmExitInterruptionInformation,
            .vmExitInterruptionErrorCode, .idtVectoringInformation, .idtVectoringErrorCode,
            .guestPhysicalAddress, .guestLinearAddress
        ]
        let handled: [UInt64] = [0, 1, 7, 10, 11, 12, 13, 18, 19, 28, 30, 31, 32, 37, 48, 49, 52, 55]
        let entry = try cpu.vmread(VMCSField.vmEntryControls)
        let ia32eMode = UInt64(VMEntryControls.ia32eModeGuest.rawValue)
        let hasEPT = cpu.supports(.guestPhysicalAddress)
        for round in 0..<3000 {
            for number in 0..<16 { vcpu.registers[number] = Self.value(&generator) }
            for field in guestFields where generator.next() % 3 == 0 { try? cpu.vmwrite(field, Self.value(&generator)) }
            for field in exitFields { cpu.store(Self.value(&generator), in: field, of: vmcs) }
            cpu.store(generator.next() % 16, in: .vmExitInstructionLength, of: vmcs)
            try cpu.vmwrite(
                VMCSField.vmEntryControls, generator.next() % 2 == 0 ? entry | ia32eMode : entry & ~ia32eMode)
            if generator.next() % 4 == 0 {
                for _ in 0..<64 {
                    cpu.memory.write64(
                        vcpu.memory.host + (generator.next() % (vcpu.memory.size / 8)) * 8, Self.value(&generator))
                }
            }
            var reason =
                generator.next() % 4 == 0
                ? generator.next() % 80 : handled[Int(generator.next() % UInt64(handled.count))]
            // EPT violations and misconfigurations need EPT (SDM 29.3.3); a processor without it
            // has no guest-physical-address field to report them either.
            if (reason == 48 || reason == 49) && !hasEPT { continue }
            if reason == 18 && generator.next() % 2 == 0 {  // mostly well-formed hypercalls, small pointers
                vcpu.registers.rax = generator.next() % 6
                vcpu.registers.rbx = generator.next() % 0x40_0000
                vcpu.registers.rcx = generator.next() % 300
            }
            if reason == 30 && generator.next() % 2 == 0 {  // the emulated ports, string I/O among them
                let port: UInt64 = generator.next() % 3 == 0 ? 0x80 : 0x3F8 + generator.next() % 8
                cpu.store(port << 16 | (generator.next() & 0x3F), in: .exitQualification, of: vmcs)
                vcpu.registers.rcx = generator.next() % 9000
                vcpu.registers.rsi = generator.next() % 0x40_0000
                vcpu.registers.rdi = generator.next() % 0x40_0000
            }
            if generator.next() % 200 == 0 { reason |= 1 << 31 }
            cpu.store(reason, in: .exitReason, of: vmcs)
            _ = vcpu.dispatchExit(record: true)
            if round % 100 == 0 { output.lines.removeAll(keepingCapacity: true) }
        }
    }

    /// The debugger's target over a real guest (paging, EPT or none, DR7) with its page tables
    /// and control registers scribbled on, and packets with arbitrary addresses, lengths and
    /// register numbers.
    @Test(arguments: ["corei7_skylake_x", "core2_penryn_t9600"])
    func debugTargetSurvivesArbitraryPackets(profile: String) throws {
        let (vcpu, _) = try DiagnosticsEntryFailureTests.guest(profile: profile)
        var generator = SplitMix64(state: 0x5EED_0102)
        func number() -> String { String(Self.value(&generator), radix: 16) }
        let kinds = ["m", "M", "Z0,", "z0,", "Z1,", "z1,", "p", "P", "G", "g", "qXfer:features:read:target.xml:"]
        for round in 0..<400 {
            if round % 20 == 0 {
                for _ in 0..<64 {
                    vcpu.cpu.memory.write64(
                        vcpu.memory.host + (generator.next() % (vcpu.memory.size / 8)) * 8, Self.value(&generator))
                }
                for field in [VMCSField.guestCR0, .guestCR3, .guestCR4, .guestDR7] {
                    try? vcpu.cpu.vmwrite(field, Self.value(&generator))
                }
            }
            var packets: [String] = []
            for _ in 0..<8 {
                let kind = kinds[Int(generator.next() % UInt64(kinds.count))]
                switch kind {
                case "m": packets.append("m" + number() + "," + String(generator.next() % 0x1200, radix: 16))
                case "M":
                    let count = Int(generator.next() % 40)
                    packets.append(
                        "M" + number() + "," + String(count, radix: 16) + ":" + String(repeating: "cc", count: count))
                case "p": packets.append("p" + number())
                case "P":
                    packets.append(
                        "P" + String(generator.next() % 70, radix: 16) + "="
                            + String(repeating: "ab", count: Int(generator.next() % 12)))
                case "G": packets.append("G" + String(repeating: "01", count: Int(generator.next() % 700)))
                case "g": packets.append("g")
                case "qXfer:features:read:target.xml:": packets.append(kind + number() + "," + number())
                default: packets.append(kind + number() + ",1")
                }
            }
            let host = ScriptedDebugHost(packets + ["D"])
            var target = VirtualCPUDebugTarget(vcpu: vcpu, host: host)
            var connection = GuestDebugConnection(host: host)
            var stub = GDBStub()
            _ = stub.stopped(.attached, target: &target, connection: &connection)
            #expect(stub.softwareBreakpoints.isEmpty && stub.hardwareBreakpoints.isEmpty)
        }
    }
}
