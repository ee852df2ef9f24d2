// Guest instructions that cause VM exits on the emulated CPU (SDM 26.1), and those whose
// behaviour changes without one (26.3): the exit reason, the exit qualification (SDM 28.2.1),
// the instruction length and information (28.2.5), and the guest RIP and registers saved.
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionInstructionExitTests {
    @Test func cpuidExitsBeforeItExecutes() throws {
        var guest = try GuestMachine(code: try assemble("mov eax, 7\ncpuid"))
        guest.registers.rbx = 0x1234
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 5)
        #expect(try guest.read(.vmExitInstructionLength) == 2)
        #expect(guest.registers.rax == 7)
        #expect(guest.registers.rbx == 0x1234)
        #expect(try guest.read(.exitQualification) == 0)
        #expect(guest.cpu.vmxOperation == .root)
        #expect(guest.cpu.launchState(ofVMCS: GuestMachine.vmcs) == .launched)
    }

    /// The same guest on every captured profile, with EPT where the profile has it.
    /// Every profile that allows a 64-bit host (the nested-KVM capture does not offer "host
    /// address-space size").
    static let profilesWith64BitHost = Profiles.vmxNames.filter {
        (try? Profiles.named($0))?.vmxCapabilities?.exitControls.allowsOne(.hostAddressSpaceSize) ?? false
    }

    @Test(arguments: profilesWith64BitHost)
    func cpuidAndHLTOnEveryProfile(name: String) throws {
        let profile = try Profiles.named(name)
        let hasEPT = profile.vmxCapabilities?.secondaryProcessorBasedControls.allowsOne(.enableEPT) ?? false
        var guest = try GuestMachine(profile: profile, ept: hasEPT, code: try assemble("cpuid\nmov rcx, 5\nhlt"))
        #expect(try guest.run(launch: true) == .cpuid, "\(guest.cpu.lastEntryCheckReport.map { "\($0)" } ?? "")")
        #expect(try guest.skipAndResume() == .hlt)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 7)
        #expect(try guest.read(.vmExitInstructionLength) == 1)
        #expect(guest.registers.rcx == 5)
    }

    @Test func vmcallAndTheVMXInstructionsExit() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                vmcall
                vmxon [rbx + rcx * 4 + 0x10]
                vmread rax, rbx
                vmlaunch
                vmresume
                vmxoff
                vmptrld [rsi - 8]
                vmclear [rdi]
                vmptrst [0x1234]
                vmwrite rdx, [rbp + 0x20]
                invept rax, [rbx]
                invvpid rcx, [rdx + 1]
                """))
        #expect(try guest.run(launch: true) == .vmcall)
        #expect(try guest.read(.vmExitInstructionLength) == 3)
        // vmxon [rbx+rcx*4+0x10]: scaling 2 (x4), 64-bit addresses, DS, index RCX, base RBX.
        #expect(try guest.skipAndResume() == .vmxon)
        #expect(try guest.read(.exitQualification) == 0x10)
        #expect(try guest.read(.vmExitInstructionInformation) == 2 | 2 << 7 | 3 << 15 | 1 << 18 | 3 << 23)
        // vmread rax, rbx: register form, reg1 = RAX, reg2 = RBX.
        #expect(try guest.skipAndResume() == .vmread)
        #expect(try guest.read(.exitQualification) == 0)
        #expect(try guest.read(.vmExitInstructionInformation) == 0 << 3 | 2 << 7 | 1 << 10 | 3 << 28)
        #expect(try guest.skipAndResume() == .vmlaunch)
        #expect(try guest.skipAndResume() == .vmresume)
        #expect(try guest.skipAndResume() == .vmxoff)
        #expect(try guest.skipAndResume() == .vmptrld)
        #expect(try guest.read(.exitQualification) == UInt64(bitPattern: -8))
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 3 << 15 | 1 << 22 | 6 << 23)
        #expect(try guest.skipAndResume() == .vmclear)
        #expect(try guest.skipAndResume() == .vmptrst)
        // A disp32-only operand: neither base nor index.
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 3 << 15 | 1 << 22 | 1 << 27)
        #expect(try guest.read(.exitQualification) == 0x1234)
        #expect(try guest.skipAndResume() == .vmwrite)
        // vmwrite rdx, [rbp+0x20]: SS-based, base RBP, reg2 RDX.
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 2 << 15 | 1 << 22 | 5 << 23 | 2 << 28)
        #expect(try guest.skipAndResume() == .invept)
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 3 << 15 | 1 << 22 | 3 << 23 | 0 << 28)
        #expect(try guest.skipAndResume() == .invvpid)
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 3 << 15 | 1 << 22 | 2 << 23 | 1 << 28)
        #expect(try guest.read(.exitQualification) == 1)
    }

    @Test func ioInstructionsExitThroughTheBitmaps() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                mov dx, 0x3F8
                mov al, 'A'
                out dx, al
                in al, 0x71
                out 0x80, eax
                in al, 0x60
                cpuid
                mov rsi, 0x20000
                rep outsb
                """))
        guest.interceptPort(0x3F8)
        guest.interceptPort(0x71)
        guest.interceptPort(0x80)
        guest.interceptPort(0x83)  // the last byte of the 4-byte OUT at 80H
        #expect(try guest.run(launch: true) == .ioInstruction)
        // OUT DX, AL: size 1 (0), out (bit 3 = 0), DX (bit 6 = 0), port 3F8H.
        #expect(try guest.read(.exitQualification) == 0x03F8_0000)
        #expect(try guest.read(.vmExitInstructionLength) == 1)
        #expect(guest.registers.rax & 0xFF == 0x41)
        #expect(try guest.skipAndResume() == .ioInstruction)
        // IN AL, 71H: in (bit 3), immediate (bit 6).
        #expect(try guest.read(.exitQualification) == 0x0071_0048)
        #expect(try guest.read(.vmExitInstructionLength) == 2)
        #expect(try guest.skipAndResume() == .ioInstruction)
        #expect(try guest.read(.exitQualification) == 0x0080_0043)
        // IN AL, 60H is not intercepted: nothing answers, AL reads FFH.
        #expect(try guest.skipAndResume() == .cpuid)
        #expect(guest.registers.rax & 0xFF == 0xFF)
        guest.interceptPort(0x3F8)
        #expect(try guest.skipAndResume() == .ioInstruction)
        // REP OUTSB: string (bit 4), REP (bit 5), DX; linear address DS:RSI; the
        // instruction information (IA32_VMX_BASIC[54]): 64-bit addresses, DS.
        #expect(try guest.read(.exitQualification) == 0x03F8_0030)
        #expect(try guest.read(.guestLinearAddress) == 0x20000)
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 3 << 15)
        #expect(try guest.read(.vmExitInstructionLength) == 2)
    }

    @Test func msrAccessesExitThroughTheBitmaps() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                mov ecx, 0x277
                rdmsr
                mov ecx, 0x3A
                rdmsr
                wrmsr
                mov ecx, 0x4000_0000
                rdmsr
                mov ecx, 0xC000_0080
                rdmsr
                cpuid
                """))
        guest.interceptMSR(0x3A, write: false)
        guest.interceptMSR(0x3A, write: true)
        // IA32_PAT is not intercepted: the guest reads the emulated CPU's value.
        #expect(try guest.run(launch: true) == .rdmsr)
        #expect(guest.registers.rcx == 0x3A)
        #expect(guest.registers.rax == 0x0007_0406)
        #expect(guest.registers.rdx == 0x0007_0406)
        #expect(try guest.read(.vmExitInstructionLength) == 2)
        #expect(try guest.skipAndResume() == .wrmsr)
        // Outside both bitmap ranges every access exits.
        #expect(try guest.skipAndResume() == .rdmsr)
        #expect(guest.registers.rcx == 0x4000_0000)
        // IA32_EFER (C0000080H) is not intercepted: LME and LMA of the 64-bit guest.
        #expect(try guest.skipAndResume() == .cpuid)
        #expect(guest.registers.rax == 0x500)
    }

    @Test func controlRegisterAccessesFollowMasksAndShadows() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                mov rax, cr0
                mov rbx, cr4
                mov rcx, rax
                mov cr0, rcx
                cpuid
                and ecx, ~0x20
                mov cr0, rcx
                cpuid
                """))
        // The guest owns nothing the host masks: it reads the shadows' bits there.
        try guest.write(.cr0ReadShadow, 0x31)
        try guest.write(.cr4ReadShadow, 0)
        let actualCR0 = try guest.read(.guestCR0), mask = try guest.read(.cr0GuestHostMask)
        let actualCR4 = try guest.read(.guestCR4), mask4 = try guest.read(.cr4GuestHostMask)
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(guest.registers.rax == (actualCR0 & ~mask) | (0x31 & mask))
        #expect(guest.registers.rbx == (actualCR4 & ~mask4))
        // Writing back what it read changes no owned bit: no exit, CR0 unchanged.
        #expect(try guest.read(.guestCR0) == actualCR0)
        // Clearing NE, which the host owns and the shadow has set, exits.
        #expect(try guest.skipAndResume() == .controlRegisterAccess)
        let qualification = ControlRegisterAccessQualification(rawValue: try guest.read(.exitQualification))
        #expect(qualification.controlRegister == 0)
        #expect(qualification.accessType == .movToCR)
        #expect(qualification.generalPurposeRegister == 1)
        #expect(try guest.read(.vmExitInstructionLength) == 3)
    }

    @Test func cr3AndDebugRegisterAndTimestampExits() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                mov rax, cr3
                mov cr3, rax
                mov rdx, dr7
                rdtsc
                invd
                """))
        try guest.setPrimary([.cr3LoadExiting, .cr3StoreExiting, .movDRExiting, .rdtscExiting])
        try guest.write(.cr3TargetCount, 0)
        #expect(try guest.run(launch: true) == .controlRegisterAccess)
        #expect(try guest.read(.exitQualification) == 3 | 1 << 4 | 0 << 8)
        guest.registers.rax = 0x1000
        #expect(try guest.skipAndResume() == .controlRegisterAccess)
        #expect(try guest.read(.exitQualification) == 3)
        #expect(try guest.skipAndResume() == .movDR)
        #expect(try guest.read(.exitQualification) == 7 | 1 << 4 | 2 << 8)
        #expect(try guest.skipAndResume() == .rdtsc)
        #expect(try guest.skipAndResume() == .invd)
    }

    @Test func cr3TargetValuesDoNotExit() throws {
        var guest = try GuestMachine(code: try assemble("mov rax, 0x1000\nmov cr3, rax\ncpuid"))
        try guest.setPrimary([.cr3LoadExiting])
        try guest.write(.cr3TargetCount, 1)
        try guest.write(.cr3TargetValue0, 0x1000)
        #expect(try guest.run(launch: true) == .cpuid)
    }

    @Test func timestampCounterReadsWithTheOffset() throws {
        var guest = try GuestMachine(code: try assemble("nop\nnop\nrdtsc\ncpuid"))
        try guest.setPrimary([.useTSCOffsetting])
        try guest.write(.tscOffset, 0x1_0000_0000)
        guest.cpu.timestampCounter = 1000
        #expect(try guest.run(launch: true) == .cpuid)
        // Two NOPs retired before RDTSC reads the counter.
        #expect(guest.registers.rdx == 1)
        #expect(guest.registers.rax == 1002)
        #expect(guest.cpu.readTimestampCounter() == 1003)
    }

    @Test func exceptionsTakePriorityOverExits() throws {
        // XSETBV with CR4.OSXSAVE = 0 and GETSEC with CR4.SMXE = 0 raise #UD, not exits.
        var guest = try GuestMachine(code: try assemble("xsetbv\ngetsec"))
        try guest.write(.exceptionBitmap, 1 << 6)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0306)
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
        try guest.write(.guestRIP, GuestMachine.code + 3)
        #expect(try guest.run(launch: false) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0306)
    }

    @Test func xsetbvExitsWithOSXSAVE() throws {
        var guest = try GuestMachine(code: try assemble("xor ecx, ecx\nmov eax, 3\nxor edx, edx\nxsetbv"))
        try guest.set(.guestCR4, adding: ControlRegister4.osxsave.rawValue)
        #expect(try guest.run(launch: true) == .xsetbv)
        #expect(try guest.read(.vmExitInstructionLength) == 3)
        #expect(guest.registers.rax == 3)
    }

    @Test func otherControlledInstructionsExit() throws {
        var guest = try GuestMachine(
            code: try assemble(
                """
                invlpg [rax + 0x40]
                pause
                rdrand ecx
                sgdt [rbx + 8]
                str ax
                """))
        try guest.setPrimary([.invlpgExiting, .pauseExiting])
        try guest.set(
            .secondaryProcessorBasedVMExecutionControls,
            adding: UInt64(SecondaryProcessorBasedControls([.rdrandExiting, .descriptorTableExiting]).rawValue))
        guest.registers.rax = 0x5000
        #expect(try guest.run(launch: true) == .invlpg)
        #expect(try guest.read(.exitQualification) == 0x5040)
        #expect(try guest.skipAndResume() == .pause)
        #expect(try guest.skipAndResume() == .rdrand)
        #expect(try guest.read(.vmExitInstructionInformation) == 1 << 3 | 1 << 11)
        #expect(try guest.skipAndResume() == .gdtrOrIDTRAccess)
        #expect(try guest.read(.exitQualification) == 8)
        // SGDT (identity 0), 64-bit addresses, DS, base RBX, no index, 32-bit operand size.
        #expect(
            try guest.read(.vmExitInstructionInformation) == 2 << 7 | 1 << 11 | 3 << 15 | 1 << 22 | 3 << 23 | 0 << 28)
        #expect(try guest.skipAndResume() == .ldtrOrTRAccess)
        // STR AX (identity 1), register form: reg1 = RAX with bit 10.
        #expect(try guest.read(.vmExitInstructionInformation) == 2 << 7 | 1 << 10 | 1 << 28)
    }

    @Test func realModeGuestWithUnrestrictedGuest() throws {
        var guest = try GuestMachine(
            kind: .realMode,
            code: try assemble(
                """
                mov ax, 0x1234
                out 0x80, ax
                vmcall
                vmxon [bx]
                """, bits: 16, origin: 0))
        guest.interceptPort(0x80)
        try guest.write(.exceptionBitmap, 1 << 6)
        #expect(
            try guest.run(launch: true) == .ioInstruction, "\(guest.cpu.lastEntryCheckReport.map { "\($0)" } ?? "")")
        #expect(try guest.read(.exitQualification) == 0x0080_0041)
        #expect(try guest.read(.guestRIP) == 3)
        #expect(guest.registers.rax & 0xFFFF == 0x1234)
        #expect(try guest.skipAndResume() == .vmcall)
        // VMXON with CR0.PE = 0 is #UD, not a VM exit.
        #expect(try guest.skipAndResume() == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0306)
        #expect(try guest.read(.guestCSBase) == 0x10000)
    }
}
