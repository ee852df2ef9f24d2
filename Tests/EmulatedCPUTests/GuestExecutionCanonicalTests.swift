// Non-canonical addresses in a 64-bit guest on the emulated CPU (SDM Vol. 1 3.3.7.1): a data
// access to one raises #GP(0), or #SS(0) when it goes through the stack segment (an operand
// based on RSP or RBP, an implicit stack access with a non-canonical RSP), before any
// translation; a canonical address in the upper half is translated as usual.
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionCanonicalTests {
    static let nonCanonical: UInt64 = 0x8000_0000_0000_0000

    /// Runs `code` with #GP, #SS and #PF exiting and returns the guest's first exit.
    func firstExit(_ code: String, setUp: (inout GuestMachine) -> Void = { _ in }) throws -> (
        reason: ExitReason, interruption: UInt64, errorCode: UInt64, rip: UInt64
    ) {
        var guest = try GuestMachine(code: try assemble(code))
        try guest.write(.exceptionBitmap, 1 << 12 | 1 << 13 | 1 << 14)
        setUp(&guest)
        let reason = try guest.run(launch: true)
        return (
            reason, try guest.read(.vmExitInterruptionInformation), try guest.read(.vmExitInterruptionErrorCode),
            try guest.read(.guestRIP)
        )
    }

    @Test func aReadThroughANonCanonicalAddressIsAGeneralProtectionFault() throws {
        // Bits 47:0 are 0: truncated, the address would be the mapped page 0.
        let exit = try firstExit("nop\nmov rax, 0x8000000000000000\nmov rbx, [rax]")
        #expect(exit.reason == .exceptionOrNMI)
        #expect(exit.interruption == 0x8000_0B0D)
        #expect(exit.errorCode == 0)
        #expect(exit.rip == GuestMachine.code + 11)
    }

    @Test func aWriteAndAnSSOverrideAreGeneralProtectionFaultsToo() throws {
        // In 64-bit mode an SS override prefix changes nothing: [RAX] is a DS reference.
        let write = try firstExit("mov rax, 0x00f0000000001000\nmov [rax], ebx")
        #expect(write.interruption == 0x8000_0B0D)
        let override = try firstExit("mov rax, 0x00f0000000001000\nmov ebx, [ss:rax]")
        #expect(override.interruption == 0x8000_0B0D)
    }

    @Test func anOperandBasedOnRBPOrRSPIsAStackFault() throws {
        let rbp = try firstExit("mov rbp, 0x8000000000000000\nmov rbx, [rbp+8]")
        #expect(rbp.reason == .exceptionOrNMI)
        #expect(rbp.interruption == 0x8000_0B0C)
        #expect(rbp.errorCode == 0)
        #expect(rbp.rip == GuestMachine.code + 10)
        // An FS override makes it an FS reference again.
        let fs = try firstExit("mov rbp, 0x8000000000000000\nmov rbx, [fs:rbp+8]")
        #expect(fs.interruption == 0x8000_0B0D)
    }

    @Test func aPushWithANonCanonicalStackPointerIsAStackFault() throws {
        let exit = try firstExit("push rax") { guest in
            try? guest.write(.guestRSP, Self.nonCanonical)
        }
        #expect(exit.interruption == 0x8000_0B0C)
        #expect(exit.rip == GuestMachine.code)
        // With a canonical RSP the stack is fine and the non-canonical operand is #GP.
        let operand = try firstExit("mov rax, 0x8000000000000000\npush qword [rax]")
        #expect(operand.interruption == 0x8000_0B0D)
    }

    @Test func aCanonicalUpperHalfAddressIsTranslatedAsUsual() throws {
        // FFFF800000000000H is canonical and not mapped: a not-present page fault, CR2 the
        // address.
        var guest = try GuestMachine(code: try assemble("mov rax, 0xffff800000000010\nmov rbx, [rax]"))
        try guest.write(.exceptionBitmap, 1 << 13 | 1 << 14)
        #expect(try guest.run(launch: true) == .exceptionOrNMI)
        #expect(try guest.read(.vmExitInterruptionInformation) == 0x8000_0B0E)
        #expect(try guest.read(.exitQualification) == 0xFFFF_8000_0000_0010)
    }
}
