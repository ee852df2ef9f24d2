// Which guest instructions cause VM exits, and with what exit information (SDM 26.1
// "Instructions That Cause VM Exits", 28.2 "Recording VM-Exit Information"). The exceptions that
// take priority over a VM exit (SDM 26.1.1: invalid opcode, privilege-level faults, I/O
// permission-bitmap #GP) are raised first. Instructions whose behaviour changes in VMX non-root
// operation without a VM exit (SDM 26.3) are carried out by the emulated CPU
// (GuestExecution+Emulation.swift); all others Unicorn executes.
import CUnicorn
import VMX

extension GuestExecution {
    // MARK: Decoding at RIP

    /// Decodes the instruction at `linear` from guest memory (through guest paging and EPT,
    /// without side effects).
    func decode(linear: UInt64) -> DecodedInstruction {
        InstructionDecoder(codeSize: mode.codeSize).decode { offset in
            self.fetchByte(linear &+ UInt64(offset))
        }
    }

    /// One instruction byte, or nil when its fetch would fault (Unicorn then raises the fault).
    func fetchByte(_ linear: UInt64) -> UInt8? {
        let page = linear & ~0xFFF
        if let cache = fetchCache, cache.linearPage == page {
            return cpu.memory.read8(cache.hostPage | (linear & 0xFFF))
        }
        guard
            case .translated(_, let host, _, _) = walker().translate(
                linear, kind: .fetch, user: mode.cpl == 3, setFlags: false)
        else { return nil }
        fetchCache = (page, host & ~0xFFF)
        return cpu.memory.read8(host)
    }

    /// Re-reads the cached mode state (CPL, code size, CS base, CR0, CR4, IA32_EFER).
    func refreshMode() {
        let engine = self.engine
        engine.loadContext()
        let flags = engine.hiddenFlags
        mode.cpl = UInt8(flags & UnicornEngine.HiddenFlags.cpl)
        if flags & UnicornEngine.HiddenFlags.cs64 != 0 {
            mode.codeSize = .bits64
        } else {
            mode.codeSize = flags & UnicornEngine.HiddenFlags.cs32 != 0 ? .bits32 : .bits16
        }
        mode.csBase = engine.segment(.cs).base
        mode.cr0 = engine.read(UC_X86_REG_CR0)
        mode.cr4 = engine.read(UC_X86_REG_CR4)
        mode.efer = engine.readMSR(MSR.ia32EFER.rawValue)
        // Real mode and virtual-8086 mode run at CPL 0 and 3 whatever the caches say.
        if mode.cr0 & ControlRegister0.pe.rawValue == 0 { mode.cpl = 0 }
        mode.stale = false
    }

    // MARK: The VM-exit rules

    /// What happens to `decoded` at `rip`: nil when Unicorn executes it, else a VM exit, an
    /// exception with priority over the VM exit, or emulation. The groups follow SDM 26.1:
    /// instructions that switch tasks (26.1.2), those that exit unconditionally (26.1.2), the
    /// control-register accesses and the other instructions that exit by control (26.1.3).
    func classify(_ decoded: DecodedInstruction, rip: UInt64, length: Int) -> StopReason? {
        switch decoded.operation {
        case .other, .sti, .loadSS, .modeChange:
            return nil
        case .farTransfer, .iret:
            return classifyTaskSwitchInstruction(decoded, rip: rip, length: length)
        case .cpuid, .getsec, .invd, .xsetbv, .vmcall, .vmlaunch, .vmresume, .vmxoff, .vmx, .vmfunc:
            return classifyUnconditionalExit(decoded, length: length)
        case .movToCR, .movFromCR, .clts, .lmsw:
            return classifyControlRegisterAccess(decoded, rip: rip, length: length)
        case .int3, .int, .into, .int1:
            if case .into = decoded.operation, mode.codeSize == .bits64 { return .fault(vector: 6, errorCode: nil) }
            return .emulate(decoded, length: length)
        case .hlt, .io, .rdmsr, .wrmsr, .movToDR, .movFromDR, .rdtsc, .rdtscp, .rdpmc, .invlpg, .invpcid, .monitor,
            .mwait, .pause, .wbinvd, .rdrand, .rdseed, .descriptorTable:
            return classifyConditionalExit(decoded, rip: rip, length: length)
        }
    }

    /// A VM exit caused by the instruction of `length` bytes, with its exit qualification,
    /// instruction information and guest-linear address (SDM 28.2.1, 28.2.5).
    private func instructionExit(
        _ reason: ExitReason, _ qualification: UInt64 = 0, information: UInt32? = nil,
        linear: UInt64? = nil, length: Int
    ) -> StopReason {
        .vmExit(
            ExitInformation(
                reason: reason, qualification: qualification, instructionLength: length,
                instructionInformation: information, guestLinearAddress: linear))
    }

    /// Far CALL or JMP through a TSS or task gate and IRET with RFLAGS.NT = 1 switch tasks, and
    /// task switches always cause VM exits (SDM 26.1.2; the qualification's source, SDM 28.2.1
    /// Table 28-2: 0 CALL, 1 IRET, 2 JMP).
    private func classifyTaskSwitchInstruction(_ decoded: DecodedInstruction, rip: UInt64, length: Int) -> StopReason? {
        switch decoded.operation {
        case .farTransfer(let call, let memory):
            // The selector: the last two bytes of ptr16:16/32, or after the offset in memory.
            let address =
                memory.map {
                    linearAddress(of: $0, decoded: decoded, rip: rip, length: length) &+ UInt64(decoded.operandSize)
                } ?? rip &+ UInt64(length) &- 2
            guard let bytes = readLinear(address, count: 2) else { return nil }
            return taskSwitch(selector: UInt64(bytes[0]) | UInt64(bytes[1]) << 8, source: call ? 0 : 2, length: length)
        case .iret:
            // IRET with RFLAGS.NT = 1 in protected mode returns to the task in the back link.
            let flags = engine.read(UC_X86_REG_RFLAGS)
            guard mode.cr0 & 1 != 0, flags & RFLAGS.nt.rawValue != 0, flags & RFLAGS.vm.rawValue == 0,
                mode.efer & ExtendedFeatureEnable.lma.rawValue == 0,
                let link = readLinear(engine.readTable(UC_X86_REG_TR).base, count: 2, implicitSupervisor: true)
            else { return nil }
            return instructionExit(
                .taskSwitch,
                UInt64(link[0]) | UInt64(link[1]) << 8
                    | TaskSwitchQualification.sourceIRET << TaskSwitchQualification.sourceShift, length: length)
        default:
            return nil  // classify routes only the task-switching instructions here.
        }
    }

    /// The instructions that cause VM exits unconditionally (SDM 26.1.2): CPUID, GETSEC, INVD,
    /// XSETBV, VMCALL and the VMX instructions, after the exceptions that take priority
    /// (SDM 26.1.1); and VMFUNC.
    private func classifyUnconditionalExit(_ decoded: DecodedInstruction, length: Int) -> StopReason {
        let gp0 = StopReason.fault(vector: 13, errorCode: 0)
        let ud = StopReason.fault(vector: 6, errorCode: nil)
        let cpl = mode.cpl
        switch decoded.operation {
        case .cpuid:
            return instructionExit(.cpuid, length: length)
        case .getsec:
            // #UD with CR4.SMXE = 0 has priority (SDM 26.1.1); GETSEC exits otherwise.
            return mode.cr4 & ControlRegister4.smxe.rawValue == 0 ? ud : instructionExit(.getsec, length: length)
        case .invd:
            return cpl > 0 ? gp0 : instructionExit(.invd, length: length)
        case .xsetbv:
            if mode.cr4 & ControlRegister4.osxsave.rawValue == 0 || decoded.lockPrefix { return ud }
            return cpl > 0 ? gp0 : instructionExit(.xsetbv, length: length)
        case .vmcall:
            return instructionExit(.vmcall, length: length)
        case .vmlaunch, .vmresume, .vmxoff:
            if vmxInstructionRaisesUD() { return ud }
            let reason: ExitReason
            switch decoded.operation {
            case .vmlaunch: reason = .vmlaunch
            case .vmresume: reason = .vmresume
            default: reason = .vmxoff
            }
            return instructionExit(reason, length: length)
        case .vmx(let instruction):
            return classifyVMX(
                instruction, decoded,
                exit: {
                    instructionExit($0, $1, information: $2, length: length)
                })
        case .vmfunc:
            // Without "enable VM functions" VMFUNC is #UD; with it, an EPTP switch the emulated
            // CPU does not model, so every VMFUNC exits (SDM 26.5.6.3: invalid function or
            // index). docs/EMULATED-CPU.md lists this.
            return controls.has(.enableVMFunctions) ? instructionExit(.vmfunc, length: length) : ud
        default:
            return ud  // classify routes only the unconditionally exiting instructions here.
        }
    }

    /// MOV to and from CR0, CR3, CR4 and CR8, CLTS and LMSW (SDM 26.1.3): #GP(0) at CPL > 0,
    /// then the guest/host masks, read shadows, CR3-target values and the CR3/CR8 controls.
    private func classifyControlRegisterAccess(_ decoded: DecodedInstruction, rip: UInt64, length: Int) -> StopReason? {
        if mode.cpl > 0 { return .fault(vector: 13, errorCode: 0) }
        let primary = controls.primary
        switch decoded.operation {
        case .movToCR(let number, let register):
            return classifyMoveToCR(
                number, register: register, decoded: decoded, length: length,
                exit: {
                    instructionExit(.controlRegisterAccess, $0, length: length)
                })
        case .movFromCR(let number, let register):
            let qualification = ControlRegisterAccessQualification(movFromCR: number, generalPurposeRegister: register)
                .rawValue
            switch number {
            case 0, 4: return .emulate(decoded, length: length)
            case 2: return nil
            case 3:
                return primary.contains(.cr3StoreExiting)
                    ? instructionExit(.controlRegisterAccess, qualification, length: length) : nil
            case 8:
                guard mode.codeSize == .bits64 else { return .fault(vector: 6, errorCode: nil) }
                return primary.contains(.cr8StoreExiting)
                    ? instructionExit(.controlRegisterAccess, qualification, length: length)
                    : .emulate(decoded, length: length)
            default: return .fault(vector: 6, errorCode: nil)
            }
        case .clts:
            let ts = ControlRegister0.ts.rawValue
            if controls.cr0Mask & ts != 0 && controls.cr0Shadow & ts != 0 {
                return instructionExit(
                    .controlRegisterAccess, ControlRegisterAccessQualification.clts.rawValue,
                    length: length)
            }
            return .emulate(decoded, length: length)
        case .lmsw(let source):
            return classifyLMSW(source, decoded: decoded, rip: rip, length: length)
        default:
            return nil  // classify routes only the control-register accesses here.
        }
    }

    /// LMSW (SDM 26.1.3): exits if it would set PE where the mask owns PE and the shadow has it
    /// clear, or change any of MP, EM, TS owned by the mask from the shadow.
    private func classifyLMSW(
        _ source: RegisterOrMemory, decoded: DecodedInstruction, rip: UInt64,
        length: Int
    ) -> StopReason {
        let value: UInt16
        var linear: UInt64?
        switch source {
        case .register(let r):
            value = UInt16(truncatingIfNeeded: readRegister(r))
        case .memory(let operand):
            let address = linearAddress(of: operand, decoded: decoded, rip: rip, length: length)
            linear = address
            guard let read = readLinear(address, count: 2) else { return .emulate(decoded, length: length) }
            value = UInt16(read[0]) | UInt16(read[1]) << 8
        }
        let mask = controls.cr0Mask, shadow = controls.cr0Shadow
        let setsOwnedPE = mask & 1 != 0 && shadow & 1 == 0 && value & 1 != 0
        let changesOwned = (UInt64(value) ^ shadow) & mask & 0xE != 0
        if setsOwnedPE || changesOwned {
            // Only a memory operand has a linear address.
            let qualification = ControlRegisterAccessQualification(
                lmswSourceData: value, operandIsMemory: linear != nil)
            return .vmExit(
                ExitInformation(
                    reason: .controlRegisterAccess, qualification: qualification.rawValue,
                    instructionLength: length, guestLinearAddress: linear))
        }
        return .emulate(decoded, length: length)
    }

    /// The instructions that exit by a VM-execution control (SDM 26.1.3), after the exceptions
    /// that take priority (SDM 26.1.1); without their control Unicorn executes them, or the
    /// emulated CPU does when VMX non-root operation changes what they do (SDM 26.3).
    private func classifyConditionalExit(_ decoded: DecodedInstruction, rip: UInt64, length: Int) -> StopReason? {
        let gp0 = StopReason.fault(vector: 13, errorCode: 0)
        let ud = StopReason.fault(vector: 6, errorCode: nil)
        let cpl = mode.cpl
        let primary = controls.primary
        func exit(_ reason: ExitReason, _ qualification: UInt64 = 0, information: UInt32? = nil) -> StopReason {
            instructionExit(reason, qualification, information: information, length: length)
        }
        switch decoded.operation {
        case .hlt:
            if cpl > 0 { return gp0 }
            return primary.contains(.hltExiting) ? exit(.hlt) : .emulate(decoded, length: length)
        case .io(let port, let size, let isIn, let isString):
            return classifyIO(decoded, port: port, size: size, isIn: isIn, isString: isString, length: length)
        case .rdmsr, .wrmsr:
            if cpl > 0 { return gp0 }
            let write = decoded.operation == .wrmsr
            let msr = UInt32(truncatingIfNeeded: engine.read(UC_X86_REG_RCX))
            if msrAccessExits(msr, write: write) { return exit(write ? .wrmsr : .rdmsr) }
            return .emulate(decoded, length: length)
        case .movToDR(let number, let register), .movFromDR(let number, let register):
            if cpl > 0 { return gp0 }
            if (number == 4 || number == 5) && mode.cr4 & ControlRegister4.de.rawValue != 0 { return ud }
            let fromDR: Bool
            if case .movFromDR = decoded.operation { fromDR = true } else { fromDR = false }
            let qualification = MOVDRQualification(
                debugRegister: number, isMoveFromDR: fromDR,
                generalPurposeRegister: register)
            return primary.contains(.movDRExiting) ? exit(.movDR, qualification.rawValue) : nil
        case .rdtsc:
            if mode.cr4 & ControlRegister4.tsd.rawValue != 0 && cpl > 0 { return gp0 }
            return primary.contains(.rdtscExiting) ? exit(.rdtsc) : .emulate(decoded, length: length)
        case .rdtscp:
            if !controls.has(.enableRDTSCP) { return ud }
            if mode.cr4 & ControlRegister4.tsd.rawValue != 0 && cpl > 0 { return gp0 }
            return primary.contains(.rdtscExiting) ? exit(.rdtscp) : .emulate(decoded, length: length)
        case .rdpmc:
            return primary.contains(.rdpmcExiting) ? exit(.rdpmc) : nil
        case .invlpg(let operand):
            if cpl > 0 { return gp0 }
            guard primary.contains(.invlpgExiting) else { return nil }
            return exit(.invlpg, linearAddress(of: operand, decoded: decoded, rip: rip, length: length))
        case .invpcid:
            if !controls.has(.enableINVPCID) { return ud }
            if cpl > 0 { return gp0 }
            guard primary.contains(.invlpgExiting), let modRM = decoded.modRM else { return nil }
            return exit(
                .invpcid, displacement(modRM.rm),
                information: memoryInformation(modRM.rm, decoded) | UInt32(modRM.reg) << 28)
        case .monitor:
            return primary.contains(.monitorExiting) ? exit(.monitor) : nil
        case .mwait:
            return primary.contains(.mwaitExiting) ? exit(.mwait) : nil
        case .pause:
            return primary.contains(.pauseExiting) ? exit(.pause) : nil
        case .wbinvd:
            if cpl > 0 { return gp0 }
            return controls.has(.wbinvdExiting) ? exit(.wbinvd) : nil
        case .rdrand(let register), .rdseed(let register):
            let isRDRAND: Bool
            if case .rdrand = decoded.operation { isRDRAND = true } else { isRDRAND = false }
            guard controls.has(isRDRAND ? .rdrandExiting : .rdseedExiting) else { return nil }
            // SDM Table 28-12: destination register in bits 6:3, operand size in 12:11.
            let size: UInt32 = decoded.operandSize == 2 ? 0 : decoded.operandSize == 4 ? 1 : 2
            return exit(isRDRAND ? .rdrand : .rdseed, information: UInt32(register) << 3 | size << 11)
        case .descriptorTable(let instruction, let operand):
            return classifyDescriptorTableAccess(instruction, operand, decoded: decoded, length: length)
        default:
            return nil  // classify routes only the instructions that exit by control here.
        }
    }

    /// LGDT, LIDT, LLDT, LTR, SGDT, SIDT, SLDT, STR with "descriptor-table exiting" (SDM 26.1.3),
    /// with the instruction information of SDM Tables 28-10 and 28-11.
    private func classifyDescriptorTableAccess(
        _ instruction: DescriptorTableInstruction, _ operand: RegisterOrMemory,
        decoded: DecodedInstruction, length: Int
    ) -> StopReason? {
        guard controls.has(.descriptorTableExiting) else { return nil }
        let ud = StopReason.fault(vector: 6, errorCode: nil)
        if mode.cpl > 0 && (instruction == .lgdt || instruction == .lidt || instruction == .lldt || instruction == .ltr)
        {
            return .fault(vector: 13, errorCode: 0)
        }
        if mode.cr0 & ControlRegister0.pe.rawValue == 0 && !instruction.isGDTROrIDTR { return ud }
        var information = memoryInformation(operand, decoded) | UInt32(instruction.rawValue & 3) << 28
        if instruction.isGDTROrIDTR {
            if case .register = operand { return ud }
            if decoded.operandSize != 2 { information |= VMExitInstructionInformation.operandSize32 }
        } else if case .register(let r) = operand {
            information |= UInt32(r) << 3 | VMExitInstructionInformation.registerOperand
        }
        return instructionExit(
            instruction.isGDTROrIDTR ? .gdtrOrIDTRAccess : .ldtrOrTRAccess, displacement(operand),
            information: information, length: length)
    }

    /// The #UD conditions of the VMX instructions in VMX non-root operation (SDM 31.3): CR0.PE
    /// = 0, RFLAGS.VM = 1, or compatibility mode. (CR4.VMXE is 1 while the guest runs.)
    func vmxInstructionRaisesUD() -> Bool {
        if mode.cr0 & ControlRegister0.pe.rawValue == 0 { return true }
        if engine.read(UC_X86_REG_RFLAGS) & RFLAGS.vm.rawValue != 0 { return true }
        return mode.efer & ExtendedFeatureEnable.lma.rawValue != 0 && mode.codeSize != .bits64
    }

    private func classifyVMX(
        _ instruction: VMXInstruction, _ decoded: DecodedInstruction,
        exit: (ExitReason, UInt64, UInt32?) -> StopReason
    ) -> StopReason {
        let ud = StopReason.fault(vector: 6, errorCode: nil)
        guard let modRM = decoded.modRM else { return ud }
        var isMemory = false
        if case .memory = modRM.rm { isMemory = true }
        switch instruction {
        case .vmclear, .vmptrld, .vmptrst, .vmxon, .invept, .invvpid:
            if !isMemory { return ud }
        case .vmread, .vmwrite:
            break
        }
        if vmxInstructionRaisesUD() { return ud }
        if instruction == .invept && cpu.capabilities?.hasINVEPT != true { return ud }
        if instruction == .invvpid && cpu.capabilities?.hasINVVPID != true { return ud }
        let reason: ExitReason
        var information = memoryInformation(modRM.rm, decoded)
        switch instruction {
        case .vmclear: reason = .vmclear
        case .vmptrld: reason = .vmptrld
        case .vmptrst: reason = .vmptrst
        case .vmxon: reason = .vmxon
        case .invept: reason = .invept; information |= UInt32(modRM.reg) << 28
        case .invvpid: reason = .invvpid; information |= UInt32(modRM.reg) << 28
        case .vmread, .vmwrite:
            reason = instruction == .vmread ? .vmread : .vmwrite
            // SDM Table 28-14: reg1 (r/m register) in 6:3 with bit 10 set, reg2 in 31:28.
            if case .register(let r) = modRM.rm {
                information |= UInt32(r) << 3 | VMExitInstructionInformation.registerOperand
            }
            information |= UInt32(modRM.reg) << 28
        }
        return exit(reason, displacement(modRM.rm), information)
    }

    /// The common part of the instruction-information formats with a memory operand (SDM
    /// Tables 28-10 to 28-14): scaling 1:0, address size 9:7, segment 17:15, index 21:18 with
    /// "invalid" in 22, base 26:23 with "invalid" in 27. A register operand gives only the
    /// address size.
    func memoryInformation(_ operand: RegisterOrMemory, _ decoded: DecodedInstruction) -> UInt32 {
        let addressSize: UInt32 = decoded.addressSize == 2 ? 0 : decoded.addressSize == 4 ? 1 : 2
        guard case .memory(let memory) = operand else { return addressSize << 7 }
        var information = addressSize << 7 | UInt32(memory.segment.rawValue) << 15
        switch memory.scale {
        case 2: information |= 1
        case 4: information |= 2
        case 8: information |= 3
        default: break
        }
        if let index = memory.index {
            information |= UInt32(index) << 18
        } else {
            information |= VMExitInstructionInformation.indexInvalid
        }
        if let base = memory.base {
            information |= UInt32(base) << 23
        } else {
            information |= VMExitInstructionInformation.baseInvalid
        }
        return information
    }

    /// The exit qualification of instructions with a memory operand: the displacement,
    /// sign-extended (SDM 28.2.1); 0 for a register operand.
    func displacement(_ operand: RegisterOrMemory) -> UInt64 {
        guard case .memory(let memory) = operand else { return 0 }
        return UInt64(bitPattern: memory.displacement)
    }

    // MARK: I/O

    private func classifyIO(
        _ decoded: DecodedInstruction, port immediate: UInt16?, size: Int, isIn: Bool, isString: Bool,
        length: Int
    ) -> StopReason {
        let port = immediate ?? UInt16(truncatingIfNeeded: engine.read(UC_X86_REG_RDX))
        // SDM 26.1.1: #GP from the TSS I/O permission bitmap (protected mode with CPL > IOPL,
        // or virtual-8086 mode) has priority over the VM exit.
        let rflags = engine.read(UC_X86_REG_RFLAGS)
        let iopl = UInt8((rflags >> 12) & 3)
        if mode.cr0 & ControlRegister0.pe.rawValue != 0 && (mode.cpl > iopl || rflags & RFLAGS.vm.rawValue != 0) {
            if !ioPermitted(port: port, size: size) { return .fault(vector: 13, errorCode: 0) }
        }
        guard ioAccessExits(port: port, size: size) else { return .emulate(decoded, length: length) }
        let qualification = IOInstructionQualification(
            port: port, size: size, isIn: isIn, isString: isString,
            isRepeated: decoded.repeatPrefix, hasImmediatePort: immediate != nil)
        var exit = ExitInformation(
            reason: .ioInstruction, qualification: qualification.rawValue, instructionLength: length)
        if isString {
            // The linear address of the memory operand (SDM 28.2.1 "guest-linear address"):
            // ES:rDI for INS, seg:rSI for OUTS; and with IA32_VMX_BASIC[54] the instruction
            // information (SDM Table 28-8).
            let addressMask: UInt64 = decoded.addressSize == 8 ? .max : decoded.addressSize == 4 ? 0xFFFF_FFFF : 0xFFFF
            let segment: SegmentRegister = isIn ? .es : (decoded.segmentOverride ?? .ds)
            let offset = engine.read(isIn ? UC_X86_REG_RDI : UC_X86_REG_RSI) & addressMask
            exit.guestLinearAddress = segmentBase(segment) &+ offset
            if cpu.capabilities?.basic.reportsINSOUTSInformation == true {
                let addressSize: UInt32 = decoded.addressSize == 2 ? 0 : decoded.addressSize == 4 ? 1 : 2
                exit.instructionInformation = addressSize << 7 | (isIn ? 0 : UInt32(segment.rawValue) << 15)
            }
        }
        return .vmExit(exit)
    }

    /// SDM 26.1.3: with "use I/O bitmaps" a bit per port (A: 0000H-7FFFH, B: 8000H-FFFFH) for each
    /// byte accessed, an access wrapping past FFFFH exits; else "unconditional I/O exiting".
    func ioAccessExits(port: UInt16, size: Int) -> Bool {
        guard controls.primary.contains(.useIOBitmaps) else {
            return controls.primary.contains(.unconditionalIOExiting)
        }
        for offset in 0..<size {
            let (current, overflow) = port.addingReportingOverflow(UInt16(offset))
            if overflow { return true }
            let bitmap = current < IOBitmapLayout.firstPortOfB ? controls.ioBitmapA : controls.ioBitmapB
            let bit = Int(current & IOBitmapLayout.portWithinBitmap)
            if cpu.memory.read8(bitmap + UInt64(bit / 8)) & (1 << UInt8(bit % 8)) != 0 { return true }
        }
        return false
    }

    /// The TSS I/O permission bitmap check (SDM Vol. 1 19.5.2).
    private func ioPermitted(port: UInt16, size: Int) -> Bool {
        let tr = engine.readTable(UC_X86_REG_TR)
        // Only a 32-bit or 64-bit TSS (busy or available) has the bitmap.
        let type = (tr.flags >> 8) & 0xF
        guard type == 9 || type == 11, tr.limit >= 103,
            let baseBytes = readLinear(tr.base &+ 102, count: 2, implicitSupervisor: true)
        else { return false }
        let mapBase = UInt64(baseBytes[0]) | UInt64(baseBytes[1]) << 8
        let first = mapBase + UInt64(port) / 8
        guard first + 1 <= UInt64(tr.limit), let bits = readLinear(tr.base &+ first, count: 2, implicitSupervisor: true)
        else { return false }
        let word = UInt32(bits[0]) | UInt32(bits[1]) << 8
        let mask = ((UInt32(1) << UInt32(size)) - 1) << UInt32(port % 8)
        return word & mask == 0
    }

    // MARK: MSRs

    /// SDM 26.1.3: without "use MSR bitmaps" every RDMSR/WRMSR exits; with them, ECX outside
    /// 00000000H-00001FFFH and C0000000H-C0001FFFH exits, else the bit in the read-low (0),
    /// read-high (1024), write-low (2048) or write-high (3072) bitmap decides.
    func msrAccessExits(_ msr: UInt32, write: Bool) -> Bool {
        guard controls.primary.contains(.useMSRBitmaps) else { return true }
        let offset: UInt64
        let bit: UInt32
        switch msr {
        case MSRBitmapLayout.lowMSRs:
            offset = write ? 2048 : 0
            bit = msr
        case MSRBitmapLayout.highMSRs:
            offset = write ? 3072 : 1024
            bit = msr - MSRBitmapLayout.highMSRs.lowerBound
        default:
            return true
        }
        return cpu.memory.read8(controls.msrBitmaps + offset + UInt64(bit / 8)) & (1 << UInt8(bit % 8)) != 0
    }

    // MARK: Task switches

    /// A far CALL (source 0) or JMP (2) to `selector` outside IA-32e mode: a task-switch VM
    /// exit when it names a TSS or a task gate, after the checks the processor makes before
    /// that exit (SDM 26.4.2: the gate's and the TSS's privilege levels, a busy TSS #GP, the
    /// new TSS's limit #TS; presence #NP); nil for any other descriptor, which Unicorn handles.
    func taskSwitch(selector: UInt64, source: UInt64, length: Int) -> StopReason? {
        guard mode.cr0 & 1 != 0, mode.efer & ExtendedFeatureEnable.lma.rawValue == 0,
            engine.read(UC_X86_REG_RFLAGS) & RFLAGS.vm.rawValue == 0
        else { return nil }
        func descriptor(_ selector: UInt64) -> UInt64? {
            let inLDT = selector & SegmentSelector.tableIndicator != 0
            let table = engine.readTable(inLDT ? UC_X86_REG_LDTR : UC_X86_REG_GDTR)
            let offset = selector & SegmentSelector.indexMask
            guard offset + 7 <= UInt64(table.limit),
                let bytes = readLinear(table.base &+ offset, count: 8, implicitSupervisor: true)
            else { return nil }
            return bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        let cpl = UInt64(mode.cpl)
        guard let first = descriptor(selector) else { return nil }
        var tss = VMX.SegmentDescriptor(rawValue: first)
        var tssSelector = selector
        func fault(_ vector: UInt8, _ selector: UInt64) -> StopReason {
            .fault(vector: vector, errorCode: UInt32(selector & SegmentSelector.withoutRPL))
        }
        let rpl = selector & SegmentSelector.rplMask
        if tss.typeAndS == SystemDescriptorType.taskGate {
            guard max(cpl, rpl) <= UInt64(tss.dpl) else { return fault(13, selector) }
            guard tss.isPresent else { return fault(11, selector) }
            tssSelector = (tss.rawValue >> 16) & 0xFFFF  // the gate's TSS selector
            guard tssSelector & SegmentSelector.tableIndicator == 0, let target = descriptor(tssSelector) else {
                return fault(13, tssSelector)
            }
            tss = VMX.SegmentDescriptor(rawValue: target)
        } else {
            let tssTypes = [
                SystemDescriptorType.availableTSS16, SystemDescriptorType.busyTSS16,
                SystemDescriptorType.availableTSS32, SystemDescriptorType.busyTSS32
            ]
            guard tssTypes.contains(tss.typeAndS) else { return nil }
            guard max(cpl, rpl) <= UInt64(tss.dpl) else { return fault(13, selector) }
        }
        let type = tss.typeAndS
        // Busy, or not a TSS.
        guard type == SystemDescriptorType.availableTSS16 || type == SystemDescriptorType.availableTSS32 else {
            return fault(13, tssSelector)
        }
        guard tss.isPresent else { return fault(11, tssSelector) }
        // The minimum limits of a 32-bit (67H) and a 16-bit (2BH) TSS (SDM Vol. 3A 7.2.2, 7.6).
        guard tss.limit >= (type == SystemDescriptorType.availableTSS32 ? 0x67 : 0x2B) else {
            return fault(10, tssSelector)
        }
        let qualification = tssSelector | source << TaskSwitchQualification.sourceShift
        return .vmExit(ExitInformation(reason: .taskSwitch, qualification: qualification, instructionLength: length))
    }

    // MARK: Control registers

    private func classifyMoveToCR(
        _ number: Int, register: Int, decoded: DecodedInstruction, length: Int,
        exit: (UInt64) -> StopReason
    ) -> StopReason? {
        let qualification = ControlRegisterAccessQualification(movToCR: number, generalPurposeRegister: register)
            .rawValue
        let value = readRegister(register)
        switch number {
        case 0:
            // SDM 26.1.3: exits if a bit the mask owns differs from the read shadow.
            return (value ^ controls.cr0Shadow) & controls.cr0Mask != 0
                ? exit(qualification) : .emulate(decoded, length: length)
        case 4:
            return (value ^ controls.cr4Shadow) & controls.cr4Mask != 0
                ? exit(qualification) : .emulate(decoded, length: length)
        case 3:
            // Exits unless the value is one of the first `CR3-target count` target values.
            if controls.primary.contains(.cr3LoadExiting)
                && !controls.cr3Targets.prefix(controls.cr3TargetCount).contains(value)
            {
                return exit(qualification)
            }
            // In PAE paging the processor loads the PDPTEs (through EPT) and a present one with
            // reserved bits makes the MOV fail with #GP(0), CR3 unchanged (SDM Vol. 3A 4.4.1);
            // Unicorn would load CR3 regardless.
            if reservedPDPTEBitsAfterLoading(cr3: value) { return .fault(vector: 13, errorCode: 0) }
            return nil
        case 8:
            guard mode.codeSize == .bits64 else { return .fault(vector: 6, errorCode: nil) }
            return controls.primary.contains(.cr8LoadExiting) ? exit(qualification) : .emulate(decoded, length: length)
        case 2:
            return nil
        default:
            return .fault(vector: 6, errorCode: nil)
        }
    }

    // MARK: Registers and operands

    static let generalRegisters: [uc_x86_reg] = [
        UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX, UC_X86_REG_RSP, UC_X86_REG_RBP,
        UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
        UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15
    ]

    func readRegister(_ number: Int) -> UInt64 {
        let value = engine.read(Self.generalRegisters[number & 15])
        return mode.codeSize == .bits64 ? value : value & 0xFFFF_FFFF
    }

    /// Writes a general-purpose register as a 32-bit or 64-bit destination does (outside
    /// 64-bit mode the upper half is cleared).
    func writeRegister(_ number: Int, _ value: UInt64) {
        engine.write(Self.generalRegisters[number & 15], mode.codeSize == .bits64 ? value : value & 0xFFFF_FFFF)
    }

    func segmentBase(_ segment: SegmentRegister) -> UInt64 {
        engine.loadContext()
        return engine.segment(segment).base
    }

    /// The linear address of a memory operand (segment base + effective address, truncated to
    /// the address size; FS/GS bases only in 64-bit mode, the others 0 there).
    func linearAddress(of operand: MemoryOperand, decoded: DecodedInstruction, rip: UInt64, length: Int) -> UInt64 {
        var address = UInt64(bitPattern: operand.displacement)
        if operand.ripRelative { address &+= rip &+ UInt64(length) }
        if let base = operand.base { address &+= engine.read(Self.generalRegisters[base]) }
        if let index = operand.index { address &+= engine.read(Self.generalRegisters[index]) &* UInt64(operand.scale) }
        switch decoded.addressSize {
        case 2: address &= 0xFFFF
        case 4: address &= 0xFFFF_FFFF
        default: break
        }
        if mode.codeSize == .bits64 && operand.segment != .fs && operand.segment != .gs { return address }
        let linear = segmentBase(operand.segment) &+ address
        return mode.codeSize == .bits64 ? linear : linear & 0xFFFF_FFFF
    }
}
