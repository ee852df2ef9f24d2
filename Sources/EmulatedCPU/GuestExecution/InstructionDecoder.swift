// Decoding the guest instructions that VMX non-root operation treats specially (SDM 26.1-26.3):
// the ones that cause VM exits unconditionally or by control, the ones whose behaviour changes
// (MOV from CR0/CR4 reads the shadows), the software interrupts the emulated CPU delivers
// itself, and those that change the execution mode or interruptibility. Everything else is
// `.other` and Unicorn executes it. Lengths come from Unicorn (the code hook's size); this
// decoder reads prefixes, opcode, ModR/M, SIB, displacement and the immediates it needs
// (SDM Vol. 2A chapter 2, "Instruction Format").

/// A decoded memory operand: segment:[base + index * scale + displacement] (SDM Vol. 2A 2.1.5).
struct MemoryOperand: Equatable {
    /// General-purpose register numbers (x86 encoding, 0-15), nil when absent.
    var base: Int?
    var index: Int?
    /// 1, 2, 4 or 8.
    var scale: Int
    /// Sign-extended displacement.
    var displacement: Int64
    /// RIP-relative addressing (64-bit mode, mod 00 r/m 101).
    var ripRelative: Bool
    /// The segment register used: the override, else SS for BP/SP-based forms, else DS.
    var segment: SegmentRegister
}

/// An operand that is a register or memory (the r/m part of ModR/M).
enum RegisterOrMemory: Equatable {
    case register(Int)
    case memory(MemoryOperand)
}

/// The VMX instructions with operands (SDM 31.3).
enum VMXInstruction: Equatable {
    case vmclear, vmptrld, vmptrst, vmxon, vmread, vmwrite, invept, invvpid
}

/// The descriptor-table instructions (SDM 26.1.3 "descriptor-table exiting").
enum DescriptorTableInstruction: Int, Equatable {
    // Values are the instruction-identity encodings of SDM Table 28-10 and 28-11.
    case sgdt = 0, sidt = 1, lgdt = 2, lidt = 3
    case sldt = 4, str = 5, lldt = 6, ltr = 7

    var isGDTROrIDTR: Bool { rawValue < 4 }
}

struct DecodedInstruction: Equatable {
    enum Operation: Equatable {
        case cpuid, hlt, getsec, invd, wbinvd, xsetbv, vmcall, vmlaunch, vmresume, vmxoff, vmfunc
        case vmx(VMXInstruction)
        /// IN, OUT, INS, OUTS: `port` is the immediate, nil for DX; `size` 1, 2 or 4.
        case io(port: UInt16?, size: Int, isIn: Bool, isString: Bool)
        case rdmsr, wrmsr
        case movToCR(Int, register: Int)
        case movFromCR(Int, register: Int)
        case clts
        case lmsw(RegisterOrMemory)
        case movToDR(Int, register: Int)
        case movFromDR(Int, register: Int)
        case rdtsc, rdtscp, rdpmc
        case invlpg(MemoryOperand)
        case monitor, mwait, pause
        case rdrand(register: Int), rdseed(register: Int)
        case invpcid
        case descriptorTable(DescriptorTableInstruction, RegisterOrMemory)
        /// INT3 (CC).
        case int3
        /// INT imm8 (CD ib).
        case int(UInt8)
        /// INTO (CE), #UD in 64-bit mode.
        case into
        /// INT1 / ICEBP (F1).
        case int1
        case sti
        /// MOV to SS or POP SS: blocking by MOV SS follows (SDM 25.4.2 Table 25-3).
        case loadSS
        case iret
        /// Far CALL or JMP outside 64-bit mode (9A/EA with the pointer in the instruction,
        /// FF /3 and FF /5 with it in memory): through a TSS or task gate, a task switch.
        case farTransfer(call: Bool, memory: MemoryOperand?)
        /// Far transfers, SYSCALL/SYSRET/SYSENTER/SYSEXIT, RSM: may change CPL or the code
        /// segment's mode.
        case modeChange
        case other
    }

    var operation: Operation
    /// The instruction's length in bytes, for every operation but `.other` (Unicorn's length
    /// cannot be trusted for instructions it does not know, such as the VMX instructions).
    var length: Int = 0
    /// 2, 4 or 8 bytes.
    var operandSize: Int
    /// 2, 4 or 8 bytes.
    var addressSize: Int
    var segmentOverride: SegmentRegister?
    /// F3 (REP/REPE) and F2 (REPNE) prefixes.
    var repeatPrefix: Bool
    var repeatNotEqualPrefix: Bool
    var lockPrefix: Bool
    /// ModR/M: mod (2 bits), reg (with REX.R) and the decoded r/m, when the opcode has one.
    var modRM: (mod: Int, reg: Int, rm: RegisterOrMemory)?

    static func == (lhs: DecodedInstruction, rhs: DecodedInstruction) -> Bool {
        lhs.operation == rhs.operation && lhs.operandSize == rhs.operandSize && lhs.addressSize == rhs.addressSize
            && lhs.segmentOverride == rhs.segmentOverride && lhs.repeatPrefix == rhs.repeatPrefix
            && lhs.repeatNotEqualPrefix == rhs.repeatNotEqualPrefix && lhs.lockPrefix == rhs.lockPrefix
            && lhs.modRM?.mod == rhs.modRM?.mod && lhs.modRM?.reg == rhs.modRM?.reg && lhs.modRM?.rm == rhs.modRM?.rm
    }
}

/// The memory an instruction references, as far as the exception for a non-canonical address
/// depends on it (SDM Vol. 1 3.3.7.1): #SS for a reference through the stack segment, #GP for
/// any other.
struct MemoryReferences: Equatable {
    /// The instruction pushes or pops through RSP (PUSH, POP, CALL, RET, ENTER, LEAVE, PUSHF,
    /// POPF, IRET).
    var implicitStack = false
    /// The ModR/M memory operand, nil when there is none (or the opcode is not one this
    /// decoder knows to have ModR/M: VEX and EVEX encodings).
    var operand: MemoryOperand?

    /// Whether the operand is a stack-segment reference in 64-bit mode: its base is RSP or RBP
    /// and no FS or GS override names another segment (the ES, CS, SS and DS overrides change
    /// nothing in 64-bit mode, SDM Vol. 1 3.3.7.1 and Vol. 2A 2.2.1).
    var operandUsesStackSegment: Bool {
        guard let operand, !operand.ripRelative, let base = operand.base, base == 4 || base == 5 else { return false }
        return operand.segment != .fs && operand.segment != .gs
    }
}

/// The code size a decoder works in: CS.D with CR0.PE, CS.L with IA32_EFER.LMA.
enum CodeSize {
    case bits16, bits32, bits64
}

struct InstructionDecoder {
    var codeSize: CodeSize

    /// Decodes the instruction whose bytes `byte(i)` returns (nil when a byte cannot be read:
    /// the instruction is then `.other`, and Unicorn raises the fetch fault). The steps follow
    /// the instruction format of SDM Vol. 2A 2.1 (Figure 2-1): legacy prefixes, REX prefix,
    /// opcode, ModR/M, SIB, displacement, immediate.
    func decode(_ byte: (Int) -> UInt8?) -> DecodedInstruction {
        withoutActuallyEscaping(byte) { byte in
            var bytes = afterPrefixes(byte)
            guard bytes.decodeOpcode() else { return bytes.result }
            bytes.result.length = bytes.offset
            return bytes.result
        }
    }

    /// The memory references of the 64-bit-mode instruction whose bytes `byte(i)` returns.
    func memoryReferences(_ byte: (Int) -> UInt8?) -> MemoryReferences {
        withoutActuallyEscaping(byte) { byte in
            var bytes = afterPrefixes(byte)
            return bytes.decodeMemoryReferences()
        }
    }

    /// The bytes past their legacy and REX prefixes, with the operand and address sizes applied.
    private func afterPrefixes(_ byte: @escaping (Int) -> UInt8?) -> InstructionBytes {
        var bytes = InstructionBytes(codeSize: codeSize, byte: byte)
        bytes.readLegacyPrefixes()
        bytes.readREXPrefix()
        bytes.applyOperandAndAddressSize()
        return bytes
    }
}

/// One instruction being decoded: the bytes read so far (`offset`) and what they said.
private struct InstructionBytes {
    let codeSize: CodeSize
    let byte: (Int) -> UInt8?
    var offset = 0
    var operandSizeOverride = false
    var addressSizeOverride = false
    /// The REX prefix byte, 0 when there is none.
    var rex: UInt8 = 0
    var result = DecodedInstruction(
        operation: .other, operandSize: 4, addressSize: 4, segmentOverride: nil,
        repeatPrefix: false, repeatNotEqualPrefix: false, lockPrefix: false, modRM: nil)

    init(codeSize: CodeSize, byte: @escaping (Int) -> UInt8?) {
        self.codeSize = codeSize
        self.byte = byte
    }

    /// REX.W: 64-bit operand size.
    var rexW: Bool { rex & 8 != 0 }
    /// REX.R, REX.X, REX.B: bit 3 of the ModR/M reg, SIB index and r/m or SIB base fields.
    var rexR: Int { Int(rex & 4) << 1 }
    var rexX: Int { Int(rex & 2) << 2 }
    var rexB: Int { Int(rex & 1) << 3 }

    // MARK: Prefixes (SDM Vol. 2A 2.1.1, 2.2.1)

    /// Legacy prefixes (SDM Vol. 2A 2.1.1): lock and repeat (group 1), segment override
    /// (group 2), operand-size (group 3) and address-size (group 4) override; at most 14 bytes
    /// of them before an instruction is too long.
    mutating func readLegacyPrefixes() {
        prefixes: while offset < 14, let b = byte(offset) {
            switch b {
            case 0x66: operandSizeOverride = true
            case 0x67: addressSizeOverride = true
            case 0x26: result.segmentOverride = .es
            case 0x2E: result.segmentOverride = .cs
            case 0x36: result.segmentOverride = .ss
            case 0x3E: result.segmentOverride = .ds
            case 0x64: result.segmentOverride = .fs
            case 0x65: result.segmentOverride = .gs
            case 0xF0: result.lockPrefix = true
            case 0xF2: result.repeatNotEqualPrefix = true; result.repeatPrefix = false
            case 0xF3: result.repeatPrefix = true; result.repeatNotEqualPrefix = false
            default: break prefixes
            }
            offset += 1
        }
    }

    /// The REX prefix (SDM Vol. 2A 2.2.1): 64-bit mode only, immediately before the opcode.
    mutating func readREXPrefix() {
        if codeSize == .bits64, let b = byte(offset), b & 0xF0 == 0x40 {
            rex = b
            offset += 1
        }
    }

    /// The effective operand and address sizes (SDM Vol. 1 3.6, Table 3-4; Vol. 2A 2.2.1.2).
    mutating func applyOperandAndAddressSize() {
        switch codeSize {
        case .bits16:
            result.operandSize = operandSizeOverride ? 4 : 2
            result.addressSize = addressSizeOverride ? 4 : 2
        case .bits32:
            result.operandSize = operandSizeOverride ? 2 : 4
            result.addressSize = addressSizeOverride ? 2 : 4
        case .bits64:
            result.operandSize = rexW ? 8 : (operandSizeOverride ? 2 : 4)
            result.addressSize = addressSizeOverride ? 4 : 8
        }
    }

    // MARK: ModR/M, SIB and displacement (SDM Vol. 2A 2.1.3-2.1.5)

    /// Decodes ModR/M (and SIB and displacement) at `offset`.
    mutating func modRM() -> (mod: Int, reg: Int, rm: RegisterOrMemory)? {
        guard let m = byte(offset) else { return nil }
        offset += 1
        let mod = Int(m >> 6), reg = Int((m >> 3) & 7) | rexR, rmLow = Int(m & 7)
        if mod == 3 { return (mod, reg, .register(rmLow | rexB)) }
        guard let memory = memoryOperand(mod: mod, rm: rmLow) else { return nil }
        return (mod, reg, .memory(memory))
    }

    /// A sign-extended displacement of `size` bytes at `offset`.
    mutating func displacement(_ size: Int) -> Int64? {
        var value: UInt64 = 0
        for i in 0..<size {
            guard let b = byte(offset + i) else { return nil }
            value |= UInt64(b) << (8 * UInt64(i))
        }
        offset += size
        let shift = UInt64(64 - 8 * size)
        return Int64(bitPattern: value << shift) >> Int64(shift)
    }

    mutating func memoryOperand(mod: Int, rm: Int) -> MemoryOperand? {
        result.addressSize == 2 ? memoryOperand16(mod: mod, rm: rm) : memoryOperand32(mod: mod, rm: rm)
    }

    /// The 16-bit addressing forms (SDM Vol. 2A Table 2-1).
    mutating func memoryOperand16(mod: Int, rm: Int) -> MemoryOperand? {
        let forms: [(Int?, Int?)] = [(3, 6), (3, 7), (5, 6), (5, 7), (6, nil), (7, nil), (5, nil), (3, nil)]
        var (base, index) = forms[rm]
        var disp: Int64 = 0
        if mod == 0 && rm == 6 {
            base = nil
            guard let d = displacement(2) else { return nil }
            disp = d
        } else if mod == 1 {
            guard let d = displacement(1) else { return nil }
            disp = d
        } else if mod == 2 {
            guard let d = displacement(2) else { return nil }
            disp = d
        }
        let stackBased = base == 5
        return MemoryOperand(
            base: base, index: index, scale: 1, displacement: disp, ripRelative: false,
            segment: result.segmentOverride ?? (stackBased ? .ss : .ds))
    }

    /// The 32- and 64-bit addressing forms, with SIB (SDM Vol. 2A Tables 2-2, 2-3; 2.2.1.6
    /// RIP-relative addressing).
    mutating func memoryOperand32(mod: Int, rm: Int) -> MemoryOperand? {
        var base: Int? = rm | rexB
        var index: Int?
        var scale = 1
        var ripRelative = false
        if rm == 4 {
            guard let sib = byte(offset) else { return nil }
            offset += 1
            scale = 1 << Int(sib >> 6)
            let indexNumber = Int((sib >> 3) & 7) | rexX
            index = indexNumber == 4 ? nil : indexNumber
            let baseLow = Int(sib & 7)
            base = (baseLow == 5 && mod == 0) ? nil : baseLow | rexB
        } else if rm == 5 && mod == 0 {
            base = nil
            ripRelative = codeSize == .bits64
        }
        var disp: Int64 = 0
        if mod == 1 {
            guard let d = displacement(1) else { return nil }
            disp = d
        } else if mod == 2 || base == nil {
            guard let d = displacement(4) else { return nil }
            disp = d
        }
        let stackBased = base.map { $0 & 7 == 4 || $0 & 7 == 5 } ?? false
        return MemoryOperand(
            base: base, index: index, scale: scale, displacement: disp, ripRelative: ripRelative,
            segment: result.segmentOverride ?? (stackBased ? .ss : .ds))
    }

    // MARK: Opcode (SDM Vol. 2A 2.1.2; Appendix A opcode maps)

    /// The one-byte opcode map (SDM Vol. 2A Table A-2), with its immediates; false when a byte
    /// of the instruction cannot be read (the instruction stays `.other`, without a length).
    mutating func decodeOpcode() -> Bool {
        guard let opcode = byte(offset) else { return false }
        offset += 1
        let ioSize = result.operandSize == 2 ? 2 : 4
        switch opcode {
        case 0xF4: result.operation = .hlt
        case 0xCC: result.operation = .int3
        case 0xCD:
            guard let vector = byte(offset) else { return false }
            offset += 1
            result.operation = .int(vector)
        case 0xCE: result.operation = .into
        case 0xF1: result.operation = .int1
        case 0xFB: result.operation = .sti
        case 0xCF: result.operation = .iret
        case 0x17: result.operation = codeSize == .bits64 ? .other : .loadSS
        case 0x8E:
            guard let m = modRM() else { return false }
            result.modRM = m
            if m.reg & 7 == SegmentRegister.ss.rawValue { result.operation = .loadSS }
        case 0xE4, 0xE5, 0xE6, 0xE7:
            guard let port = byte(offset) else { return false }
            offset += 1
            result.operation = .io(
                port: UInt16(port), size: opcode & 1 == 0 ? 1 : ioSize, isIn: opcode < 0xE6,
                isString: false)
        case 0xEC, 0xED, 0xEE, 0xEF:
            result.operation = .io(port: nil, size: opcode & 1 == 0 ? 1 : ioSize, isIn: opcode < 0xEE, isString: false)
        case 0x6C, 0x6D, 0x6E, 0x6F:
            result.operation = .io(port: nil, size: opcode & 1 == 0 ? 1 : ioSize, isIn: opcode < 0x6E, isString: true)
        case 0x90 where result.repeatPrefix:
            result.operation = .pause
        case 0x9A where codeSize != .bits64, 0xEA where codeSize != .bits64:
            offset += result.operandSize + 2  // ptr16:16 or ptr16:32
            result.operation = .farTransfer(call: opcode == 0x9A, memory: nil)
        case 0x9A, 0xCA, 0xCB, 0xEA:
            result.operation = .modeChange
        case 0xFF:
            guard let m = modRM() else { return false }
            result.modRM = m
            if m.reg & 7 == 3 || m.reg & 7 == 5 {
                if codeSize != .bits64, case .memory(let operand) = m.rm {
                    result.operation = .farTransfer(call: m.reg & 7 == 3, memory: operand)
                } else {
                    result.operation = .modeChange
                }
            }
        case 0x0F:
            decodeTwoByte()
        default:
            break
        }
        return true
    }

    // MARK: Memory references (SDM Vol. 2A Appendix A: which opcodes have ModR/M)

    /// The implicit stack accesses and the ModR/M memory operand of the instruction at `offset`
    /// (after its prefixes).
    mutating func decodeMemoryReferences() -> MemoryReferences {
        var references = MemoryReferences()
        guard let opcode = byte(offset) else { return references }
        offset += 1
        let hasModRM: Bool
        switch opcode {
        case 0x0F:
            guard let second = byte(offset) else { return references }
            offset += 1
            switch second {
            case 0xA0, 0xA1, 0xA8, 0xA9:  // PUSH/POP FS, GS
                references.implicitStack = true
                hasModRM = false
            case 0x38, 0x3A:  // three-byte maps: all with ModR/M
                offset += 1
                hasModRM = true
            case 0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x30...0x37, 0x77, 0x80...0x8F, 0xA2, 0xAA, 0xC8...0xCF:
                hasModRM = false
            default:
                hasModRM = true
            }
        case 0x50...0x5F, 0x68, 0x6A, 0x9C, 0x9D, 0xC2, 0xC3, 0xC8, 0xC9, 0xCA, 0xCB, 0xCF, 0xE8:
            references.implicitStack = true
            hasModRM = false
        case 0x8F:  // POP r/m
            references.implicitStack = true
            hasModRM = true
        case 0xFF:  // group 5: CALL (/2, /3) and PUSH (/6) also use the stack
            if let m = byte(offset) { references.implicitStack = [2, 3, 6].contains((m >> 3) & 7) }
            hasModRM = true
        case 0x00...0x3F:
            hasModRM = opcode & 7 < 4
        case 0x63, 0x69, 0x6B, 0x80...0x8E, 0xC0, 0xC1, 0xC6, 0xC7, 0xD0...0xD3, 0xD8...0xDF, 0xF6, 0xF7, 0xFE:
            hasModRM = true
        default:
            hasModRM = false
        }
        if hasModRM, let (_, _, rm) = modRM(), case .memory(let operand) = rm { references.operand = operand }
        return references
    }

    /// A mandatory 66H prefix (the operand size differs from the code size's default).
    var operandSizePrefix: Bool {
        result.operandSize == 2 && codeSize != .bits16 || result.operandSize == 4 && codeSize == .bits16
    }

    /// The 0F xx opcode map (SDM Vol. 2A Table A-3) and the 0F 38 entries INVEPT, INVVPID and
    /// INVPCID.
    mutating func decodeTwoByte() {
        guard let opcode = byte(offset) else { return }
        offset += 1
        switch opcode {
        case 0xA2: result.operation = .cpuid
        case 0x37: result.operation = .getsec
        case 0x08: result.operation = .invd
        case 0x09: result.operation = .wbinvd
        case 0x30: result.operation = .wrmsr
        case 0x32: result.operation = .rdmsr
        case 0x31: result.operation = .rdtsc
        case 0x33: result.operation = .rdpmc
        case 0x06: result.operation = .clts
        case 0x05, 0x07, 0x34, 0x35, 0xAA: result.operation = .modeChange
        case 0xA1, 0xA9: result.operation = .other  // POP FS/GS
        case 0x20, 0x22, 0x21, 0x23: decodeMoveControlOrDebugRegister(opcode)
        case 0x00: decodeGroup6()
        case 0x01: decodeGroup7()
        case 0x78, 0x79:
            // VMREAD (78) / VMWRITE (79) without a mandatory prefix.
            guard !operandSizePrefix, !result.repeatPrefix, !result.repeatNotEqualPrefix, let m = modRM() else {
                return
            }
            result.modRM = m
            result.operation = .vmx(opcode == 0x78 ? .vmread : .vmwrite)
        case 0xC7: decodeGroup9()
        case 0x38: decodeThreeByte38()
        default:
            break
        }
    }

    /// MOV to/from CR (0F 20, 0F 22) and DR (0F 21, 0F 23): the r/m field always names a
    /// register (mod is ignored; SDM Vol. 2B "MOV-Move to/from Control Registers").
    mutating func decodeMoveControlOrDebugRegister(_ opcode: UInt8) {
        guard let m = byte(offset) else { return }
        offset += 1
        let control = Int((m >> 3) & 7) | (rex & 4 != 0 ? 8 : 0)
        let register = Int(m & 7) | (rex & 1 != 0 ? 8 : 0)
        switch opcode {
        case 0x20: result.operation = .movFromCR(control, register: register)
        case 0x22: result.operation = .movToCR(control, register: register)
        case 0x21: result.operation = .movFromDR(control & 7, register: register)
        default: result.operation = .movToDR(control & 7, register: register)
        }
    }

    /// Group 6 (0F 00 /r; SDM Vol. 2A Table A-6): SLDT, STR, LLDT, LTR.
    mutating func decodeGroup6() {
        guard let m = modRM() else { return }
        result.modRM = m
        switch m.reg & 7 {
        case 0: result.operation = .descriptorTable(.sldt, m.rm)
        case 1: result.operation = .descriptorTable(.str, m.rm)
        case 2: result.operation = .descriptorTable(.lldt, m.rm)
        case 3: result.operation = .descriptorTable(.ltr, m.rm)
        default: break
        }
    }

    /// Group 7 (0F 01; SDM Vol. 2A Table A-6): with mod 11 the whole ModR/M byte names the
    /// instruction (VMCALL, VMLAUNCH, ..., LMSW of a register); with a memory operand SGDT,
    /// SIDT, LGDT, LIDT, LMSW and INVLPG.
    mutating func decodeGroup7() {
        guard let m = byte(offset) else { return }
        if m >> 6 == 3 {
            offset += 1
            switch m {
            case 0xC1: result.operation = .vmcall
            case 0xC2: result.operation = .vmlaunch
            case 0xC3: result.operation = .vmresume
            case 0xC4: result.operation = .vmxoff
            case 0xD4: result.operation = .vmfunc
            case 0xD1: result.operation = .xsetbv
            case 0xC8: result.operation = .monitor
            case 0xC9: result.operation = .mwait
            case 0xF9: result.operation = .rdtscp
            case 0xF8: result.operation = .modeChange  // SWAPGS changes no mode, but GS base
            default:
                if (m >> 3) & 7 == 6 {
                    let register = Int(m & 7) | (rex & 1 != 0 ? 8 : 0)
                    result.modRM = (3, 6, .register(register))
                    result.operation = .lmsw(.register(register))
                }
            }
            return
        }
        guard let decoded = modRM() else { return }
        result.modRM = decoded
        switch decoded.reg & 7 {
        case 0: result.operation = .descriptorTable(.sgdt, decoded.rm)
        case 1: result.operation = .descriptorTable(.sidt, decoded.rm)
        case 2: result.operation = .descriptorTable(.lgdt, decoded.rm)
        case 3: result.operation = .descriptorTable(.lidt, decoded.rm)
        case 6: result.operation = .lmsw(decoded.rm)
        case 7:
            if case .memory(let memory) = decoded.rm { result.operation = .invlpg(memory) }
        default: break
        }
    }

    /// Group 9 (0F C7; SDM Vol. 2A Table A-6): VMPTRLD, VMCLEAR (66), VMXON (F3), VMPTRST with
    /// a memory operand; RDRAND and RDSEED with a register.
    mutating func decodeGroup9() {
        guard let m = modRM() else { return }
        result.modRM = m
        let isMemory: Bool
        if case .memory = m.rm { isMemory = true } else { isMemory = false }
        switch (m.reg & 7, isMemory) {
        case (6, true):
            if result.repeatPrefix {
                result.operation = .vmx(.vmxon)
            } else if operandSizePrefix {
                result.operation = .vmx(.vmclear)
            } else {
                result.operation = .vmx(.vmptrld)
            }
        case (7, true):
            if !result.repeatPrefix && !operandSizePrefix { result.operation = .vmx(.vmptrst) }
        case (6, false):
            if case .register(let r) = m.rm { result.operation = .rdrand(register: r) }
        case (7, false):
            if case .register(let r) = m.rm, !result.repeatPrefix { result.operation = .rdseed(register: r) }
        default: break
        }
    }

    /// The 66 0F 38 80-82 entries (SDM Vol. 2A Table A-4): INVEPT, INVVPID, INVPCID.
    mutating func decodeThreeByte38() {
        guard let third = byte(offset) else { return }
        offset += 1
        guard operandSizePrefix, third >= 0x80 && third <= 0x82, let m = modRM() else { return }
        result.modRM = m
        switch third {
        case 0x80: result.operation = .vmx(.invept)
        case 0x81: result.operation = .vmx(.invvpid)
        default: result.operation = .invpcid
        }
    }
}
