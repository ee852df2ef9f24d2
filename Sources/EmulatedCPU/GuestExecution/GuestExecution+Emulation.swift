// The guest instructions the emulated CPU carries out itself when they do not cause a VM exit:
// those whose behaviour changes in VMX non-root operation (SDM 26.3: MOV from CR0/CR4 reads the
// read shadows for the bits the guest/host masks own, MOV to CR0/CR4, CLTS and LMSW leave owned
// bits alone, RDTSC adds the TSC offset), those that touch state Unicorn does not hold (the
// emulated CPU's MSRs, its time-stamp counter, I/O ports with nothing behind them, the TPR),
// and the software interrupts and HLT, which Unicorn does not deliver or wait for.
import CUnicorn
import VMX

extension GuestExecution {
    /// What carrying out one instruction came to.
    enum EmulationOutcome {
        /// The instruction completed: RIP advances past it and it retires.
        case completed
        /// The instruction ended in event delivery or a VM exit instead: `emulate` returns the
        /// exit (nil when the event was delivered and the guest goes on).
        case ended(ExitInformation?)
    }

    /// Carries out `decoded` at RIP (`length` bytes); returns a VM exit if one results.
    func emulate(_ decoded: DecodedInstruction, length: Int) -> ExitInformation? {
        let rflags = engine.read(UC_X86_REG_RFLAGS)
        let rip = engine.read(UC_X86_REG_RIP)
        let outcome: EmulationOutcome
        switch decoded.operation {
        case .int3, .int, .into, .int1:
            outcome = emulateSoftwareInterrupt(decoded, rflags: rflags, length: length)
        case .hlt:
            // The logical processor enters the HLT state after the instruction (SDM Vol. 2A HLT).
            activityState = 1
            outcome = .completed
        case .io(let immediate, let size, let isIn, let isString):
            outcome = emulateIO(port: immediate, size: size, isIn: isIn, isString: isString)
        case .rdmsr, .wrmsr, .rdtsc, .rdtscp:
            outcome = emulateMSRAccessOrTimeStamp(decoded)
        case .movFromCR, .movToCR, .clts, .lmsw:
            outcome = emulateControlRegisterAccess(decoded, rip: rip, length: length)
        default:
            cpu.reportGuestExecutionProblem("no emulation for \(decoded.operation)")
            return ExitInformation(reason: Self.emulationLimitReason)
        }
        if case .ended(let exit) = outcome { return exit }
        engine.write(UC_X86_REG_RIP, nextRIP(rip, length))
        retire(decoded, rflagsBefore: rflags)
        // A single-step trap after the instruction when RFLAGS.TF was set (SDM 17.3.1.4).
        if rflags & RFLAGS.tf.rawValue != 0 {
            return deliver(
                PendingEvent(
                    vector: 1, type: .hardwareException,
                    debugBits: DebugExceptionQualification(singleStep: true).rawValue), injected: false)
        }
        return nil
    }

    /// INT3, INT n, INTO (when RFLAGS.OF is set; otherwise it does nothing) and INT1: the event
    /// delivered through the IDT with the instruction's length (SDM Vol. 3A 6.4.2, 6.12).
    private func emulateSoftwareInterrupt(
        _ decoded: DecodedInstruction, rflags: UInt64,
        length: Int
    ) -> EmulationOutcome {
        switch decoded.operation {
        case .int3:
            countInstruction()
            return .ended(
                deliver(
                    PendingEvent(vector: 3, type: .softwareException, instructionLength: length),
                    injected: false))
        case .int(let vector):
            countInstruction()
            return .ended(
                deliver(
                    PendingEvent(vector: vector, type: .softwareInterrupt, instructionLength: length),
                    injected: false))
        case .into:
            guard rflags & RFLAGS.of.rawValue != 0 else { return .completed }
            countInstruction()
            return .ended(
                deliver(
                    PendingEvent(vector: 4, type: .softwareException, instructionLength: length),
                    injected: false))
        default:
            countInstruction()
            return .ended(
                deliver(
                    PendingEvent(
                        vector: 1, type: .privilegedSoftwareException, instructionLength: length,
                        debugBits: 0), injected: false))
        }
    }

    /// IN and OUT to the machine's ports, as the hypervisor reaches them too (EmulatedCPU.readPort
    /// and writePort): a port without a value reads all ones; writes are recorded. IN writes
    /// AL, AX or EAX (SDM Vol. 2A IN); INS and OUTS are not modelled.
    private func emulateIO(port immediate: UInt16?, size: Int, isIn: Bool, isString: Bool) -> EmulationOutcome {
        if isString {
            cpu.reportGuestExecutionProblem("INS/OUTS without a VM exit are not modelled")
            return .ended(ExitInformation(reason: Self.emulationLimitReason))
        }
        let port = immediate ?? UInt16(truncatingIfNeeded: engine.read(UC_X86_REG_RDX))
        let rax = engine.read(UC_X86_REG_RAX)
        if isIn {
            let value = UInt64(cpu.readPort(port, size: size))
            switch size {
            case 1: engine.write(UC_X86_REG_RAX, rax & ~0xFF | value)
            case 2: engine.write(UC_X86_REG_RAX, rax & ~0xFFFF | value)
            default: engine.write(UC_X86_REG_RAX, value)
            }
        } else {
            cpu.writePort(port, size: size, UInt32(truncatingIfNeeded: rax))
        }
        return .completed
    }

    /// RDMSR and WRMSR of the emulated CPU's MSRs (#GP(0) for one it does not have or a value
    /// it refuses), RDTSC and RDTSCP with the TSC offset (SDM 26.3), EDX:EAX halves.
    private func emulateMSRAccessOrTimeStamp(_ decoded: DecodedInstruction) -> EmulationOutcome {
        switch decoded.operation {
        case .rdmsr:
            let msr = UInt32(truncatingIfNeeded: engine.read(UC_X86_REG_RCX))
            guard let value = readGuestMSR(msr) else { return .ended(fault(13, errorCode: 0)) }
            engine.write(UC_X86_REG_RAX, value & 0xFFFF_FFFF)
            engine.write(UC_X86_REG_RDX, value >> 32)
        case .wrmsr:
            let msr = UInt32(truncatingIfNeeded: engine.read(UC_X86_REG_RCX))
            let value = (engine.read(UC_X86_REG_RDX) & 0xFFFF_FFFF) << 32 | engine.read(UC_X86_REG_RAX) & 0xFFFF_FFFF
            guard writeGuestMSR(msr, value) else { return .ended(fault(13, errorCode: 0)) }
        default:
            let tsc = guestTimestampCounter()
            engine.write(UC_X86_REG_RAX, tsc & 0xFFFF_FFFF)
            engine.write(UC_X86_REG_RDX, tsc >> 32)
            if case .rdtscp = decoded.operation {
                engine.write(UC_X86_REG_RCX, (cpu.msrs[MSR.ia32TSCAux.rawValue] ?? 0) & 0xFFFF_FFFF)
            }
        }
        return .completed
    }

    /// MOV from CR0/CR4 (the read shadow for the bits the guest/host mask owns) and CR8 (the
    /// TPR), MOV to CR0/CR4 (owned bits stay), CR8, CLTS and LMSW (SDM 26.3).
    private func emulateControlRegisterAccess(
        _ decoded: DecodedInstruction, rip: UInt64,
        length: Int
    ) -> EmulationOutcome {
        switch decoded.operation {
        case .movFromCR(let number, let register):
            switch number {
            case 0: writeRegister(register, (mode.cr0 & ~controls.cr0Mask) | (controls.cr0Shadow & controls.cr0Mask))
            case 4: writeRegister(register, (mode.cr4 & ~controls.cr4Mask) | (controls.cr4Shadow & controls.cr4Mask))
            default: writeRegister(register, readTPR())
            }
        case .movToCR(let number, let register):
            let value = readRegister(register)
            switch number {
            case 0:
                guard loadCR0((mode.cr0 & controls.cr0Mask) | (value & ~controls.cr0Mask), source: value) else {
                    return .ended(fault(13, errorCode: 0))
                }
            case 4:
                guard loadCR4((mode.cr4 & controls.cr4Mask) | (value & ~controls.cr4Mask), source: value) else {
                    return .ended(fault(13, errorCode: 0))
                }
            default:
                guard value >> 4 == 0 else { return .ended(fault(13, errorCode: 0)) }
                writeTPR(value)
            }
        case .clts:
            // With the mask owning TS (and the shadow's TS clear, else CLTS exited) CLTS
            // leaves CR0.TS alone.
            if controls.cr0Mask & ControlRegister0.ts.rawValue == 0 {
                guard loadCR0(mode.cr0 & ~ControlRegister0.ts.rawValue, source: nil) else {
                    return .ended(fault(13, errorCode: 0))
                }
            }
        case .lmsw(let source):
            return emulateLMSW(source, decoded: decoded, rip: rip, length: length)
        default:
            break
        }
        return .completed
    }

    /// LMSW loads MP, EM, TS and can set but not clear PE; owned bits stay (SDM 26.3).
    private func emulateLMSW(
        _ source: RegisterOrMemory, decoded: DecodedInstruction, rip: UInt64,
        length: Int
    ) -> EmulationOutcome {
        let value: UInt64
        switch source {
        case .register(let r): value = readRegister(r) & 0xF
        case .memory(let operand):
            let address = linearAddress(of: operand, decoded: decoded, rip: rip, length: length)
            switch translateLinear(address, count: 2, kind: .read) {
            case .bytes(let hosts): value = UInt64(cpu.memory.read8(hosts[0])) & 0xF
            case .pageFault(let errorCode, let linear):
                return .ended(
                    deliver(
                        PendingEvent(
                            vector: 14, type: .hardwareException, errorCode: errorCode,
                            faultAddress: linear), injected: false))
            case .exit(let exit): return .ended(exit)
            }
        }
        var newCR0 = mode.cr0
        for bit: UInt64 in [1, 2, 4, 8] where controls.cr0Mask & bit == 0 {
            if bit == 1 { newCR0 |= value & 1 } else { newCR0 = (newCR0 & ~bit) | (value & bit) }
        }
        guard loadCR0(newCR0, source: nil) else { return .ended(fault(13, errorCode: 0)) }
        return .completed
    }

    private func fault(_ vector: UInt8, errorCode: UInt32?) -> ExitInformation? {
        deliver(PendingEvent(vector: vector, type: .hardwareException, errorCode: errorCode), injected: false)
    }

    /// The instruction completed (an INT n or exception instruction whose delivery follows).
    func countInstruction() {
        instructionsRetired += 1
        timestampCounter &+= cyclesPerInstruction
        blockingBySTI = false
        blockingByMovSS = false
    }

    func nextRIP(_ rip: UInt64, _ length: Int) -> UInt64 {
        let next = rip &+ UInt64(length)
        switch mode.codeSize {
        case .bits64: return next
        case .bits32: return next & 0xFFFF_FFFF
        case .bits16: return next & 0xFFFF
        }
    }

    /// RDTSC in VMX non-root operation: the TSC plus the TSC offset when "use TSC offsetting" is
    /// 1 (SDM 26.3; TSC scaling is not modelled).
    func guestTimestampCounter() -> UInt64 {
        controls.primary.contains(.useTSCOffsetting) ? timestampCounter &+ controls.tscOffset : timestampCounter
    }

    // MARK: Control registers

    /// MOV to CR0 with its checks (SDM Vol. 2B MOV; 24.8 with the unrestricted-guest exception
    /// for PE and PG, 26.3); `source` is the operand for the checks on its own bits. False:
    /// #GP(0), nothing loaded.
    func loadCR0(_ value: UInt64, source: UInt64?) -> Bool {
        let pe = ControlRegister0.pe.rawValue, pg = ControlRegister0.pg.rawValue
        let cd = ControlRegister0.cd.rawValue, nw = ControlRegister0.nw.rawValue
        var fixed = cpu.capabilities?.cr0Fixed ?? FixedBits(fixed0: 0, fixed1: .max)
        if controls.has(.unrestrictedGuest) { fixed.fixed0 &= ~(pe | pg) }
        let longModeEnabled = mode.efer & ExtendedFeatureEnable.lme.rawValue != 0
        let gp: Bool =
            (source ?? 0) >> 32 != 0
            || value & pg != 0 && value & pe == 0
            || value & nw != 0 && value & cd == 0
            || !fixed.permits(value)
            || value & pg != 0 && mode.cr0 & pg == 0 && longModeEnabled && mode.cr4 & ControlRegister4.pae.rawValue == 0
            || value & pg == 0 && mode.codeSize == .bits64
        if gp { return false }
        engine.write(UC_X86_REG_CR0, value | ControlRegister0.et.rawValue)
        mode.stale = true
        refreshMode()
        fetchCache = nil
        reloadPDPTEsIfPAE()
        return true
    }

    /// MOV to CR4 with its checks: bits the CPU lacks (IA32_VMX_CR4_FIXED1), the VMX-fixed bits,
    /// PAE kept in IA-32e mode. False: #GP(0), nothing loaded.
    func loadCR4(_ value: UInt64, source: UInt64?) -> Bool {
        let fixed = cpu.capabilities?.cr4Fixed ?? FixedBits(fixed0: 0, fixed1: .max)
        let gp =
            !fixed.permits(value)
            || mode.efer & ExtendedFeatureEnable.lma.rawValue != 0 && value & ControlRegister4.pae.rawValue == 0
        if gp { return false }
        engine.write(UC_X86_REG_CR4, value)
        mode.stale = true
        refreshMode()
        fetchCache = nil
        reloadPDPTEsIfPAE()
        return true
    }

    /// CR8: the TPR, in the virtual-APIC page's VTPR (bits 7:4 at offset 80H) with "use TPR
    /// shadow" (SDM 30.3), else the emulated CPU's own.
    func readTPR() -> UInt64 {
        guard controls.primary.contains(.useTPRShadow) else { return cr8 }
        return UInt64(cpu.memory.read8(controls.virtualAPIC + 0x80) >> 4)
    }

    func writeTPR(_ value: UInt64) {
        guard controls.primary.contains(.useTPRShadow) else { cr8 = value; return }
        cpu.memory.write32(controls.virtualAPIC + 0x80, UInt32(value) << 4)
    }

    // MARK: MSRs

    /// MSRs whose value Unicorn keeps while the guest runs (it executes SYSCALL, SYSENTER,
    /// SWAPGS and segment loads with them).
    static let engineMSRs: [UInt32] = [
        MSR.ia32SysenterCS.rawValue, MSR.ia32SysenterESP.rawValue, MSR.ia32SysenterEIP.rawValue,
        MSR.ia32STAR.rawValue, MSR.ia32LSTAR.rawValue, MSR.ia32CSTAR.rawValue, MSR.ia32FMASK.rawValue,
        MSR.ia32KernelGSBase.rawValue
    ]

    /// RDMSR by the guest without a VM exit: the emulated CPU's MSR (nil: #GP(0)).
    func readGuestMSR(_ msr: UInt32) -> UInt64? {
        switch msr {
        case MSR.ia32EFER.rawValue: return mode.efer
        case MSR.ia32FeatureControl.rawValue: return cpu.ia32FeatureControl
        case MSR.ia32TimeStampCounter.rawValue: return guestTimestampCounter()
        case MSR.ia32FSBase.rawValue: engine.loadContext(); return engine.segment(.fs).base
        case MSR.ia32GSBase.rawValue: engine.loadContext(); return engine.segment(.gs).base
        case EmulatedCPU.capabilityMSRRange: return cpu.capabilities?.value(ofMSR: MSR(rawValue: msr))
        default:
            if Self.engineMSRs.contains(msr) { return engine.readMSR(msr) }
            return cpu.msrs[msr]
        }
    }

    /// WRMSR by the guest without a VM exit; false for #GP(0).
    func writeGuestMSR(_ msr: UInt32, _ value: UInt64) -> Bool {
        switch msr {
        case MSR.ia32EFER.rawValue:
            // Reserved bits; LME may not change while paging is on; LMA is read-only.
            guard value & ~ExtendedFeatureEnable.defined.rawValue == 0,
                mode.cr0 & ControlRegister0.pg.rawValue == 0
                    || (value ^ mode.efer) & ExtendedFeatureEnable.lme.rawValue == 0
            else { return false }
            engine.writeMSR(
                MSR.ia32EFER.rawValue,
                (value & ~ExtendedFeatureEnable.lma.rawValue) | (mode.efer & ExtendedFeatureEnable.lma.rawValue))
            mode.stale = true
            refreshMode()
            return true
        case MSR.ia32FeatureControl.rawValue, EmulatedCPU.capabilityMSRRange:
            return false
        case MSR.ia32TimeStampCounter.rawValue:
            // Writing the TSC is not modelled; the write is refused as if the MSR were read-only.
            return false
        case MSR.ia32FSBase.rawValue, MSR.ia32GSBase.rawValue:
            guard cpu.isCanonical(value) else { return false }
            engine.writeMSR(msr, value)
            return true
        default:
            // The MSRs the CPU has, with their checks (EmulatedCPU.msrWriteFaults).
            if cpu.msrWriteFaults(msr, value, cr0: mode.cr0, efer: mode.efer) { return false }
            if Self.engineMSRs.contains(msr) { engine.writeMSR(msr, value) }
            cpu.msrs[msr] = value
            return true
        }
    }
}
