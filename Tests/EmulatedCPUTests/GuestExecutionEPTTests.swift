// EPT on the emulated CPU: guest memory mapped through the EPT the EPTP names, EPT violations
// with the exit qualification of SDM 28.2.1 Table 28-7 and the guest-physical and guest-linear
// addresses, EPT misconfigurations (SDM 29.3.3.1), and guests without EPT.
import Testing
import VMX
@testable import EmulatedCPU

@Suite struct GuestExecutionEPTTests {
    /// Table 28-7 bits.
    enum Bit {
        static let read: UInt64 = 1 << 0, write: UInt64 = 1 << 1, fetch: UInt64 = 1 << 2
        static let readable: UInt64 = 1 << 3, writable: UInt64 = 1 << 4, executable: UInt64 = 1 << 5
        static let linearValid: UInt64 = 1 << 7, translated: UInt64 = 1 << 8
        static let userLinear: UInt64 = 1 << 9, writableLinear: UInt64 = 1 << 10
    }

    @Test func guestMemoryIsMappedThroughTheEPT() throws {
        var guest = try GuestMachine(code: try assemble("mov rax, [0x20008]\nmov qword [0x20010], 0x55\ncpuid"))
        guest.writeGuest64(0x20008, 0xABCD)
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(guest.registers.rax == 0xABCD)
        #expect(guest.cpu.readPhysical64(GuestMachine.guestBase + 0x20010) == 0x55)
    }

    @Test func writeToAReadOnlyPage() throws {
        var guest = try GuestMachine(code: try assemble("mov byte [0x20123], 1"))
        // Read and execute only (bits 2:0 = 101), memory type WB.
        guest.cpu.writePhysical64(guest.eptEntry(0x20000), (GuestMachine.guestBase + 0x20000) | 6 << 3 | 5)
        #expect(try guest.run(launch: true) == .eptViolation)
        // The synthetic profile reports the advanced information (EPT_VPID_CAP[22]): the guest
        // page is a user-mode, writable one.
        #expect(
            try guest.read(.exitQualification)
                == Bit.write | Bit.readable | Bit.executable | Bit.linearValid | Bit.translated | Bit.userLinear
                | Bit.writableLinear)
        #expect(try guest.read(.guestPhysicalAddress) == 0x20123)
        #expect(try guest.read(.guestLinearAddress) == 0x20123)
        #expect(try guest.read(.guestRIP) == GuestMachine.code)
        // The write did not happen.
        #expect(guest.cpu.memory.read8(GuestMachine.guestBase + 0x20123) == 0)
    }

    @Test func readModifyWriteOfANotPresentPageIsAWrite() throws {
        // ADD to memory reads, then writes: SDM 28.2.1 sets bit 1 (data write) for an EPT
        // violation of a read-modify-write operation (bit 0 implementation-specific, clear here).
        var guest = try GuestMachine(code: try assemble("mov rax, 0x20010\nadd [rax], ebx"))
        guest.cpu.writePhysical64(guest.eptEntry(0x20000), 0)
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(
            try guest.read(.exitQualification) == Bit.write | Bit.linearValid | Bit.translated | Bit.userLinear
                | Bit.writableLinear)
        #expect(try guest.read(.guestPhysicalAddress) == 0x20010)
        #expect(try guest.read(.guestRIP) == GuestMachine.code + 5)
    }

    @Test func readOfANotPresentPageAcrossAPageBoundary() throws {
        // An 8-byte read at 1FFFCH: its second half is in the page the EPT does not map.
        var guest = try GuestMachine(code: try assemble("mov rax, [0x1FFFC]"))
        guest.cpu.writePhysical64(guest.eptEntry(0x20000), 0)
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(
            try guest.read(.exitQualification) == Bit.read | Bit.linearValid | Bit.translated | Bit.userLinear
                | Bit.writableLinear)
        #expect(try guest.read(.guestPhysicalAddress) == 0x20000)
        #expect(try guest.read(.guestLinearAddress) == 0x20000)
    }

    @Test func instructionFetchFromANonExecutablePage() throws {
        var guest = try GuestMachine(code: try assemble("mov rax, 0x30040\njmp rax"))
        guest.writeGuest(0x30040, [0x0F, 0xA2])
        guest.cpu.writePhysical64(guest.eptEntry(0x30000), (GuestMachine.guestBase + 0x30000) | 6 << 3 | 3)
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(
            try guest.read(.exitQualification)
                == Bit.fetch | Bit.readable | Bit.writable | Bit.linearValid | Bit.translated | Bit.userLinear
                | Bit.writableLinear)
        #expect(try guest.read(.guestPhysicalAddress) == 0x30040)
        #expect(try guest.read(.guestRIP) == 0x30040)
    }

    @Test func fetchOfAnInstructionThatCrossesIntoAnUnmappedPage() throws {
        // Two NOPs at 30FFCH, then a 5-byte MOV starting at 30FFEH whose last three bytes are in
        // 31000H, which the EPT does not map: the violation is the MOV's, at 31000H.
        var guest = try GuestMachine(code: try assemble("mov rax, 0x30FFC\njmp rax"))
        guest.writeGuest(0x30FFC, [0x90, 0x90, 0xB8, 0x01])
        guest.cpu.writePhysical64(guest.eptEntry(0x31000), 0)
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(try guest.read(.guestRIP) == 0x30FFE)
        #expect(try guest.read(.guestPhysicalAddress) == 0x31000)
        #expect(try guest.read(.guestLinearAddress) == 0x31000)
        #expect(try guest.read(.exitQualification) & 7 == Bit.fetch)
    }

    @Test func violationOnAGuestPagingStructure() throws {
        // The guest's page directory (guest-physical 3000H) is not mapped: the walk for the
        // first fetch meets it (bit 8 clear: not the translated address).
        var guest = try GuestMachine(code: try assemble("cpuid"))
        guest.cpu.writePhysical64(guest.eptEntry(0x3000), 0)
        #expect(try guest.run(launch: true) == .eptViolation)
        #expect(try guest.read(.exitQualification) == Bit.read | Bit.linearValid)
        #expect(try guest.read(.guestPhysicalAddress) == 0x3000)
        #expect(try guest.read(.guestLinearAddress) == GuestMachine.code)
    }

    @Test func misconfiguredEntry() throws {
        var guest = try GuestMachine(code: try assemble("mov rax, [0x40000]"))
        // Write-only (bits 2:0 = 010) is a misconfiguration.
        guest.cpu.writePhysical64(guest.eptEntry(0x40000), (GuestMachine.guestBase + 0x40000) | 6 << 3 | 2)
        #expect(try guest.run(launch: true) == .eptMisconfiguration)
        #expect(try guest.read(.guestPhysicalAddress) == 0x40000)
        // A reserved memory type (2) in a leaf as well.
        guest.cpu.writePhysical64(guest.eptEntry(0x40000), (GuestMachine.guestBase + 0x40000) | 2 << 3 | 7)
        #expect(try guest.run(launch: false) == .eptMisconfiguration)
    }

    @Test func accessedAndDirtyFlagsWhenTheEPTPEnablesThem() throws {
        var guest = try GuestMachine(code: try assemble("mov qword [0x50000], 1\ncpuid"))
        try guest.set(.eptPointer, adding: 1 << 6)
        #expect(try guest.run(launch: true) == .cpuid)
        let entry = guest.cpu.readPhysical64(guest.eptEntry(0x50000))
        #expect(entry & (1 << 8) != 0)
        #expect(entry & (1 << 9) != 0)
        #expect(guest.cpu.readPhysical64(guest.eptEntry(0x60000)) & (1 << 8) == 0)
    }

    @Test func withoutEPTGuestPhysicalIsHostPhysical() throws {
        var guest = try GuestMachine(ept: false, code: try assemble("mov rax, [0x20008]\ncpuid"))
        guest.cpu.writePhysical64(0x20008, 0x77)
        #expect(try guest.run(launch: true) == .cpuid)
        #expect(guest.registers.rax == 0x77)
    }
}
