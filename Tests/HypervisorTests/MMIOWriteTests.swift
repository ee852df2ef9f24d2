// The decoding of a guest's 32-bit write to a write-protected device page (MMIOWrite.swift):
// the moves Linux writes its local APIC with, their lengths and values, and what is refused.
import Testing
@testable import Hypervisor

@Suite struct MMIOWriteTests {
    /// Register n holds 0x1111_1111 * n (RAX 0, RCX 11111111H, ...), R8-R15 with the high bit set.
    static func register(_ number: Int) -> UInt64 {
        UInt64(0x1111_1111) &* UInt64(number) | (number >= 8 ? 0x8000_0000 : 0)
    }

    static func decode(_ bytes: [UInt8]) -> MMIOWrite? { MMIOWrite.decode(bytes, register: register) }

    @Test func movFromARegisterToAnAbsoluteAddress() {
        // mov [0xffffffffff5fc300], esi: 89 34 25 disp32 (SIB, no base)
        let write = Self.decode([0x89, 0x34, 0x25, 0x00, 0xC3, 0x5F, 0xFF, 0x90])
        #expect(write == MMIOWrite(kind: .move, length: 7, value: 0x6666_6666, register: 6))
    }

    @Test func movWithDisplacementsAndRIPRelative() {
        // mov [rax+0x300], edx: 89 90 disp32
        #expect(
            Self.decode([0x89, 0x90, 0x00, 0x03, 0x00, 0x00])
                == MMIOWrite(
                    kind: .move, length: 6, value: 0x2222_2222, register: 2))
        // mov [rcx+0x10], ebx: 89 59 10
        #expect(Self.decode([0x89, 0x59, 0x10]) == MMIOWrite(kind: .move, length: 3, value: 0x3333_3333, register: 3))
        // mov [rip+disp32], eax: 89 05 disp32
        #expect(Self.decode([0x89, 0x05, 1, 2, 3, 4])?.length == 6)
        // mov [rsp+8], ecx: 89 4C 24 08 (SIB with base RSP, disp8)
        #expect(Self.decode([0x89, 0x4C, 0x24, 0x08])?.length == 4)
    }

    @Test func rexRSelectsTheHighRegistersAndPrefixesCount() {
        // mov [rdi], r9d: 44 89 0F
        #expect(
            Self.decode([0x44, 0x89, 0x0F])
                == MMIOWrite(
                    kind: .move, length: 3, value: UInt32(truncatingIfNeeded: Self.register(9)), register: 9))
        // ds: mov [rdi], eax: 3E 89 07
        #expect(Self.decode([0x3E, 0x89, 0x07]) == MMIOWrite(kind: .move, length: 3, value: 0, register: 0))
    }

    @Test func movOfAnImmediateAndXchg() {
        // mov dword [rax+0xb0], 0: C7 80 B0 00 00 00 00 00 00 00
        #expect(
            Self.decode([0xC7, 0x80, 0xB0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12])
                == MMIOWrite(
                    kind: .move, length: 10, value: 0x1234_5678, register: nil))
        // xchg [rdx], eax: 87 02
        #expect(Self.decode([0x87, 0x02]) == MMIOWrite(kind: .exchange, length: 2, value: 0, register: 0))
    }

    @Test func whatIsNotADecodedWriteIsRefused() {
        #expect(Self.decode([0x48, 0x89, 0x07]) == nil)  // REX.W: a 64-bit write
        #expect(Self.decode([0x66, 0x89, 0x07]) == nil)  // operand size: a 16-bit write
        #expect(Self.decode([0x89, 0xC0]) == nil)  // a register destination
        #expect(Self.decode([0x8B, 0x07]) == nil)  // a read (MOV r32, r/m32)
        #expect(Self.decode([0xC7, 0x47]) == nil)  // cut short
        #expect(Self.decode([0xC7, 0x0F, 0, 0, 0, 0]) == nil)  // C7 /1 is not MOV
        #expect(Self.decode([]) == nil)
    }
}
