// Events in the guest on the emulated CPU: exceptions through the exception bitmap (SDM 26.2)
// or delivered through the guest IDT by the emulated CPU (SDM 6.12-6.15), the triple fault,
// event injection on VM entry (SDM 27.6), and the IDT-vectoring information of an exit during
// delivery (SDM 28.2.4).
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionEventTests {
    static let handler: UInt64 = 0x11000

    /// A guest whose handler for `vector` executes CPUID (so the test sees it ran).
    func guestWithHandler(_ vector: UInt8, code: String) throws -> GuestMachine {
        let guest = try GuestMachine(code: try assemble(code))
        guest.setInterruptGate(vector, handler: Self.handler)
        guest.writeGuest(Self.handler, [0x0F, 0xA2])
        return guest
    }

    @Test func exceptionBitmapMakesUDExit() throws {
        var guest = try GuestMachine(code: try assemble("nop\nud2"))
        try guest.write(.exceptionBitmap, 1 << 6)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0306)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 1)
        #expect(try guest.read(.idtVectoringInformation) == 0)
        // A fault's RFLAGS image has RF set, and so does the RFLAGS an exit caused by it saves
        // (SDM 28.3.3).
        #expect(try guest.read(.guestRFLAGS) & RFLAGS.rf.rawValue != 0)
    }

    @Test func aContributoryFaultAfterAnExitIsNotADoubleFault() throws {
        // Each #DE exits and the host skips its DIV: every one is a new exception, none met
        // while delivering another (SDM Vol. 3A 6.15 Table 6-5 needs that for #DF). Unicorn
        // raised the second as #DF, still counting the first as being delivered.
        var guest = try GuestMachine(code: try assemble("xor ecx, ecx\ndiv ecx\ndiv ecx\ndiv ecx"))
        try guest.write(.exceptionBitmap, 1 << 0)
        var reason = try guest.run(launch: true)
        for rip in [GuestMachine.code + 2, GuestMachine.code + 4, GuestMachine.code + 6] {
            #expect(reason == .exceptionOrNMI)
            #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0300)
            #expect(try guest.read(.guestRIP) == rip)
            try guest.write(.guestRIP, rip + 2)
            reason = try guest.run(launch: false)
        }
    }

    @Test func exceptionDeliveredThroughTheGuestIDT() throws {
        var guest = try guestWithHandler(6, code: "nop\nud2")
        guest.registers.rax = 0x42
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestRIP) == Self.handler)
        // The IA-32e mode frame: RIP, CS, RFLAGS, RSP, SS (no error code for #UD), with RSP
        // aligned to 16 bytes first.
        let rsp = try guest.read(.guestRSP)
        #expect(rsp == GuestMachine.stackTop - 40)
        #expect(guest.readGuest64(rsp) == GuestMachine.code + 1)
        #expect(guest.readGuest64(rsp + 8) == 0x08)
        #expect(guest.readGuest64(rsp + 16) == 0x2)
        #expect(guest.readGuest64(rsp + 24) == GuestMachine.stackTop)
        #expect(guest.readGuest64(rsp + 32) == 0x10)
        #expect(guest.registers.rax == 0x42)
    }

    @Test func generalProtectionFaultFromUnicornPushesItsErrorCode() throws {
        // Loading DS with a selector beyond the GDT limit: #GP(selector).
        var guest = try guestWithHandler(13, code: "mov ax, 0x48\nmov ds, ax")
        #expect(try guest.run(launch: true) == .cpuid)
        let rsp = try guest.read(.guestRSP)
        #expect(guest.readGuest64(rsp) == 0x48)
        #expect(guest.readGuest64(rsp + 8) == GuestMachine.code + 4)
    }

    @Test func pageFaultExitsWithTheExactAddressAndErrorCode() throws {
        // 800123H is beyond the guest's 4 MiB of page tables: a not-present fault, a write.
        var guest = try GuestMachine(code: try assemble("mov dword [0x800123], 1"))
        try guest.write(.exceptionBitmap, 1 << 14)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B0E)
        #expect(try guest.read(.vmExitInterruptionErrorCode) == 2)
        #expect(try guest.read(.exitQualification) == 0x80_0123)
    }

    @Test func readModifyWriteOfANotPresentPageFaultsAsAWrite() throws {
        // INC and XCHG on memory beyond the guest's page tables: the error code says write
        // (bit 1, SDM Vol. 3A 4.7), though the instruction reads first.
        for code in ["inc dword [0x800100]", "xchg [0x800100], eax"] {
            var guest = try GuestMachine(code: try assemble(code))
            try guest.write(.exceptionBitmap, 1 << 14)
            #expect(try guest.run(launch: true) == .exceptionOrNMI)
            #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B0E)
            #expect(try guest.read(.vmExitInterruptionErrorCode) == 2)
            #expect(try guest.read(.exitQualification) == 0x80_0100)
        }
    }

    @Test func pageFaultErrorCodeMaskAndMatchDecide() throws {
        // Bit 14 set, mask P, match P: only protection faults exit; this not-present one is
        // delivered to the guest, with CR2 and the error code.
        var guest = try guestWithHandler(14, code: "mov rax, [0x800040]")
        try guest.write(.exceptionBitmap, 1 << 14)
        try guest.write(.pageFaultErrorCodeMask, 1)
        try guest.write(.pageFaultErrorCodeMatch, 1)
        #expect(try guest.run(launch: true) == .cpuid)
        let rsp = try guest.read(.guestRSP)
        #expect(guest.readGuest64(rsp) == 0)  // error code: not present, read, supervisor
        #expect(guest.readGuest64(rsp + 8) == GuestMachine.code)
    }

    @Test func tripleFaultWithoutAnIDT() throws {
        var guest = try GuestMachine(code: try assemble("ud2"))
        try guest.write(.guestIDTRLimit, 0)
        #expect(try guest.run(launch: true) == .tripleFault)
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
    }

    @Test func doubleFaultIsDeliveredBeforeTheTripleFault() throws {
        // #GP with the #GP gate not present -> #NP (contributory after contributory) -> #DF.
        var guest = try GuestMachine(code: try assemble("mov ax, 0x48\nmov ds, ax"))
        guest.setInterruptGate(8, handler: Self.handler)
        guest.writeGuest(Self.handler, [0x0F, 0xA2])
        try guest.write(.exceptionBitmap, 1 << 8)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B08)
        #expect(try guest.read(.vmExitInterruptionErrorCode) == 0)
        // "A VM exit is not considered to occur during event delivery [if] the original event
        // results in a double-fault exception that causes the VM exit directly" (SDM 28.2.4).
        #expect(try guest.read(.idtVectoringInformation) == 0)
    }

    @Test func faultDuringDeliveryExitsByItsOwnBitmapBit() throws {
        // #UD through an empty gate (type 0) meets #GP, a contributory fault after a benign
        // one; #GP's bit makes it exit ("a fault occurs during event delivery and causes a VM
        // exit because the bit associated with the fault is set", SDM 28.2.4), with the #UD in
        // the IDT-vectoring information. Through bit 8 alone it would be delivered as #GP.
        var guest = try GuestMachine(code: try assemble("ud2"))
        try guest.write(.exceptionBitmap, 1 << 13)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B0D)
        #expect(try guest.read(.vmExitInterruptionErrorCode) == 6 << 3 | 2 | 1)
        #expect(try guest.read(.idtVectoringInformation) == 0x8000_0306)
    }

    @Test func contributoryFaultDuringContributoryDeliveryExitsBeforeTheDoubleFault() throws {
        // #DE through an empty gate meets #GP: with #GP's bit set the #GP exits, with the #DE
        // being delivered, instead of combining into #DF (SDM 28.2.4, 6.15 Table 6-5).
        var guest = try GuestMachine(code: try assemble("xor ecx, ecx\ndiv ecx"))
        try guest.write(.exceptionBitmap, 1 << 13)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B0D)
        #expect(try guest.read(.idtVectoringInformation) == 0x8000_0300)
    }

    @Test func exitDuringDeliveryOfINT3GivesItsLength() throws {
        // INT3 through an empty gate meets #GP, which exits: the exit occurred while
        // delivering a software exception, so the instruction length is INT3's (SDM 28.2.5).
        var guest = try GuestMachine(code: try assemble("int3"))
        try guest.write(.exceptionBitmap, 1 << 13)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.idtVectoringInformation) == 0x8000_0603)
        #expect(try guest.read(.vmExitInstructionLength) == 1)
    }

    @Test func int3ExitsAsASoftwareException() throws {
        var guest = try GuestMachine(code: try assemble("int3"))
        try guest.write(.exceptionBitmap, 1 << 3)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0603)
        #expect(try guest.read(.vmExitInstructionLength) == 1)
    }

    @Test func softwareInterruptIsDeliveredThroughTheIDT() throws {
        var guest = try guestWithHandler(0x30, code: "int 0x30")
        #expect(try guest.run(launch: true) == .cpuid)
        let rsp = try guest.read(.guestRSP)
        #expect(guest.readGuest64(rsp) == GuestMachine.code + 2)
    }

    @Test func injectedHardwareExceptionWithErrorCode() throws {
        var guest = try guestWithHandler(13, code: "hlt")
        try guest.write(
            .vmEntryInterruptionInformation,
            UInt64(
                VMEntryInterruptionInformation(vector: 13, type: .hardwareException, deliverErrorCode: true).rawValue))
        try guest.write(.vmEntryExceptionErrorCode, 0x1234)
        // The exception bitmap is not consulted for the injected event itself.
        try guest.write(.exceptionBitmap, 1 << 13)
        #expect(try guest.run(launch: true) == .cpuid)
        let rsp = try guest.read(.guestRSP)
        #expect(guest.readGuest64(rsp) == 0x1234)
        #expect(guest.readGuest64(rsp + 8) == GuestMachine.code)
        // The valid bit is cleared by the VM exit.
        #expect(try guest.read(.vmEntryInterruptionInformation) & 0x8000_0000 == 0)
    }

    @Test func injectedExternalInterruptAndSoftwareInterrupt() throws {
        var guest = try guestWithHandler(0x40, code: "nop\nnop\nnop")
        // An external interrupt can be injected only with RFLAGS.IF = 1 (SDM 27.3.1.5).
        try guest.write(.guestRFLAGS, 0x202)
        try guest.write(
            .vmEntryInterruptionInformation,
            UInt64(VMEntryInterruptionInformation(vector: 0x40, type: .externalInterrupt).rawValue))
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(guest.readGuest64(try guest.read(.guestRSP)) == GuestMachine.code)
        // A software interrupt: the return address is RIP + the VM-entry instruction length.
        try guest.write(.guestRIP, GuestMachine.code)
        try guest.write(.guestRSP, GuestMachine.stackTop)
        try guest.write(
            .vmEntryInterruptionInformation,
            UInt64(VMEntryInterruptionInformation(vector: 0x40, type: .softwareInterrupt).rawValue))
        try guest.write(.vmEntryInstructionLength, 2)
        #expect(try guest.run(launch: false) == .cpuid)
        #expect(guest.readGuest64(try guest.read(.guestRSP)) == GuestMachine.code + 2)
    }

    @Test func exitDuringDeliveryRecordsTheEvent() throws {
        // The IDT's page is not mapped by the EPT: delivering the injected #UD meets an EPT
        // violation, and the IDT-vectoring information holds the #UD.
        var guest = try GuestMachine(code: try assemble("nop"))
        guest.cpu.writePhysical64(guest.eptEntry(GuestMachine.idt), 0)
        try guest.write(
            .vmEntryInterruptionInformation,
            UInt64(VMEntryInterruptionInformation(vector: 6, type: .hardwareException).rawValue))
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(try guest.read(.idtVectoringInformation) == 0x8000_0306)
        #expect(try guest.read(.guestPhysicalAddress) == GuestMachine.idt + 6 * 16)
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
    }

    @Test func realModeInterruptGoesThroughTheIVT() throws {
        // IVT entry 10H at linear 40H: handler at 2000:0010 (linear 20010H) executes CPUID.
        var guest = try GuestMachine(kind: .realMode, code: try assemble("int 0x10", bits: 16, origin: 0))
        guest.writeGuest(0x40, [0x10, 0x00, 0x00, 0x20])
        guest.writeGuest(0x20010, [0x0F, 0xA2])
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(try guest.read(.guestCSSelector) == 0x2000)
        #expect(try guest.read(.guestCSBase) == 0x20000)
        #expect(try guest.read(.guestRIP) == 0x10)
        // FLAGS, CS, IP on the stack at SS:SP = 9000:FFEA.
        #expect(try guest.read(.guestRSP) == 0xFFEA)
        let frame = GuestMachine.guestBase + 0x90000 + 0xFFEA
        #expect(guest.cpu.memory.read8(frame) == 2)  // IP = 0002
        #expect(guest.cpu.memory.read8(frame + 2) == 0x00 && guest.cpu.memory.read8(frame + 3) == 0x10)  // CS = 1000
    }
}
