// A guest's 32-bit write to a page the hypervisor write-protects in EPT (the local APIC of a
// guest with several virtual CPUs, PassThroughAPIC.swift). The EPT violation says where (the
// guest-physical address, SDM 28.2.1 Table 28-7) but not what; the instruction says that. A
// driver writes a 32-bit device register with a move, so only the moves are decoded (SDM
// Vol. 2: MOV r/m32, r32 = 89 /r; MOV r/m32, imm32 = C7 /0; XCHG r/m32, r32 = 87 /r), with
// their legacy and REX prefixes, ModR/M, SIB and displacement (Vol. 2 2.1, 2.2.1). The
// address is not computed: the violation gave it. Anything else is not decoded (nil), and the
// caller stops the guest with a line naming the bytes.
import VMX

public struct MMIOWrite: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case move
        /// XCHG: the register also receives the old contents.
        case exchange
    }

    public var kind: Kind
    /// The instruction's length in bytes.
    public var length: Int
    /// The 32 bits written.
    public var value: UInt32
    /// The source register's number (0-15), nil for an immediate.
    public var register: Int?

    /// Decodes `bytes` (the instruction and what follows it, up to 15 bytes) with the guest's
    /// general-purpose registers read through `register` (number 0-15, 4 is RSP).
    public static func decode(_ bytes: [UInt8], register: (Int) -> UInt64) -> MMIOWrite? {
        var at = 0
        var rex: UInt8 = 0
        // Legacy prefixes: segment overrides (the address is known) and LOCK; an operand-size or
        // address-size prefix would change what is written or how the operand is encoded.
        while at < bytes.count, [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0xF0].contains(bytes[at]) { at += 1 }
        if at < bytes.count, bytes[at] & 0xF0 == 0x40 {
            rex = bytes[at]
            at += 1
        }
        guard at + 2 <= bytes.count else { return nil }
        let opcode = bytes[at]
        let modrm = bytes[at + 1]
        at += 2
        let mod = modrm >> 6, reg = Int((modrm >> 3) & 7), rm = modrm & 7
        guard mod != 3 else { return nil }  // a register operand cannot be the device's memory
        // REX.W would make it a 64-bit write.
        guard rex & 0x08 == 0 else { return nil }
        if rm == 4 {
            guard at < bytes.count else { return nil }
            let base = bytes[at] & 7
            at += 1
            if mod == 0 && base == 5 { at += 4 }  // SIB without base: disp32
        }
        if mod == 0 && rm == 5 { at += 4 }  // RIP-relative disp32
        if mod == 1 { at += 1 }
        if mod == 2 { at += 4 }
        let source = reg | (rex & 0x04 != 0 ? 8 : 0)  // REX.R extends ModR/M.reg
        switch opcode {
        case 0x89, 0x87:
            guard at <= bytes.count else { return nil }
            return MMIOWrite(
                kind: opcode == 0x89 ? .move : .exchange, length: at,
                value: UInt32(truncatingIfNeeded: register(source)), register: source)
        case 0xC7:
            guard reg == 0, at + 4 <= bytes.count else { return nil }
            let value =
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
                | UInt32(bytes[at + 3]) << 24
            return MMIOWrite(kind: .move, length: at + 4, value: value, register: nil)
        default:
            return nil
        }
    }
}
