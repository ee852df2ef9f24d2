// Moving guest state between the VMCS and the engine: loading it on VM entry (SDM 27.3.2
// "Loading Guest State", 27.4 "Loading MSRs") and saving it on VM exit with the exit
// information (SDM 28.2 "Recording VM-Exit Information", 28.3 "Saving Guest State", 28.4
// "Saving MSRs"), then loading host state (28.5, 28.6).
import CUnicorn
import VMX

extension GuestExecution {
    private func field(_ field: VMCSField) -> UInt64 { cpu.currentVMCSFieldValue(field) }

    private func store(_ value: UInt64, _ field: VMCSField) {
        guard let vmcs = cpu.currentVMCS else { return }
        cpu.store(value, in: field, of: vmcs)
    }

    static let segmentFields: [(selector: VMCSField, base: VMCSField, limit: VMCSField, rights: VMCSField)] = [
        (.guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights),
        (.guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights),
        (.guestSSSelector, .guestSSBase, .guestSSLimit, .guestSSAccessRights),
        (.guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights),
        (.guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights),
        (.guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights)
    ]

    /// LDTR and TR: the engine's table registers and their guest-state fields.
    static let systemSegmentFields:
        [(
            register: uc_x86_reg,
            fields: (
                selector: VMCSField, base: VMCSField, limit: VMCSField,
                rights: VMCSField
            )
        )] = [
            (UC_X86_REG_LDTR, (.guestLDTRSelector, .guestLDTRBase, .guestLDTRLimit, .guestLDTRAccessRights)),
            (UC_X86_REG_TR, (.guestTRSelector, .guestTRBase, .guestTRLimit, .guestTRAccessRights))
        ]

    // MARK: VM entry

    func readControls() -> GuestControls {
        let primary = PrimaryProcessorBasedControls(
            rawValue: UInt32(truncatingIfNeeded: field(.primaryProcessorBasedVMExecutionControls)))
        let secondary =
            primary.contains(.activateSecondaryControls)
            ? SecondaryProcessorBasedControls(
                rawValue: UInt32(truncatingIfNeeded: field(.secondaryProcessorBasedVMExecutionControls)))
            : SecondaryProcessorBasedControls(rawValue: 0)
        let targets: [VMCSField] = [.cr3TargetValue0, .cr3TargetValue1, .cr3TargetValue2, .cr3TargetValue3]
        var controls = GuestControls(
            pinBased: PinBasedControls(rawValue: UInt32(truncatingIfNeeded: field(.pinBasedVMExecutionControls))),
            primary: primary,
            secondary: secondary,
            exitControls: VMExitControls(rawValue: UInt32(truncatingIfNeeded: field(.primaryVMExitControls))),
            entryControls: VMEntryControls(rawValue: UInt32(truncatingIfNeeded: field(.vmEntryControls))),
            exceptionBitmap: UInt32(truncatingIfNeeded: field(.exceptionBitmap)),
            pageFaultErrorCodeMask: UInt32(truncatingIfNeeded: field(.pageFaultErrorCodeMask)),
            pageFaultErrorCodeMatch: UInt32(truncatingIfNeeded: field(.pageFaultErrorCodeMatch)),
            cr0Mask: field(.cr0GuestHostMask), cr0Shadow: field(.cr0ReadShadow),
            cr4Mask: field(.cr4GuestHostMask), cr4Shadow: field(.cr4ReadShadow),
            cr3TargetCount: Int(field(.cr3TargetCount)),
            cr3Targets: targets.map { field($0) },
            ioBitmapA: field(.ioBitmapAAddress), ioBitmapB: field(.ioBitmapBAddress),
            msrBitmaps: field(.msrBitmapsAddress),
            tscOffset: field(.tscOffset),
            eptPointer: secondary.contains(.enableEPT) ? field(.eptPointer) : nil,
            virtualAPIC: field(.virtualAPICAddress),
            vpid: UInt16(truncatingIfNeeded: field(.virtualProcessorIdentifier)))
        controls.preemptionTimerRate = UInt64(cpu.capabilities?.misc.preemptionTimerRate ?? 0)
        return controls
    }

    /// SDM 27.3.2 and 27.4: the guest-state area (and the VM-entry MSR-load list) into the
    /// engine and the emulated CPU's registers; `registers` are the GPRs other than RSP.
    func loadGuestState(registers: GuestRegisters, launch: Bool) {
        controls = readControls()
        restoreExtendedState(launch: launch)
        let (guestCR0, efer) = loadGuestControlRegistersAndMSRs()
        let rflags = loadGuestRegisters(registers)
        loadGuestSegmentAndDescriptorTableRegisters(cr0: guestCR0, efer: efer, rflags: rflags)

        // The emulated CPU's own registers are the guest's now.
        cpu.cr0 = guestCR0
        cpu.cr3 = field(.guestCR3)
        cpu.cr4 = field(.guestCR4)
        cpu.efer = efer
        cpu.rflags = rflags

        loadGuestNonRegisterState()
        loadGuestPDPTEs(cr0: guestCR0, efer: efer)
        loadEntryMSRList()
        engine.flushTLB()
        // Guest code translated before is still valid unless something wrote memory outside
        // the guest (the hypervisor, the emulated CPU itself, or the guest of another CPU over
        // the same memory) since the last VM exit.
        if cpu.memory.writeGeneration != memoryGenerationAtExit { engine.flushTranslations() }
    }

    /// The guest's x87/SSE state (and what else the VMCS does not hold) is kept per VMCS
    /// between exit and entry; a launch starts from a clean one (FNINIT, MXCSR 1F80H, XMM
    /// registers zero), as the kernel's stub gives it.
    private func restoreExtendedState(launch: Bool) {
        let engine = self.engine
        if !launch, let saved = savedEngineState[cpu.currentVMCSPointer] {
            engine.restoreState(saved)
        } else {
            engine.write(UC_X86_REG_FPCW, FloatingPointState.initialControlWord)
            engine.write(UC_X86_REG_FPSW, 0)
            engine.write(UC_X86_REG_FPTAG, FloatingPointState.initialTagWord)
            engine.write(UC_X86_REG_MXCSR, FloatingPointState.initialMXCSR)
            var zero: (UInt64, UInt64) = (0, 0)
            for index in 0..<16 {
                let register = Int32(UC_X86_REG_XMM0.rawValue) + Int32(index)
                let xmm = index < 8 ? register : Int32(UC_X86_REG_XMM8.rawValue) + Int32(index - 8)
                uc_reg_write(engine.handle, xmm, &zero)
            }
        }
    }

    /// SDM 27.3.2.1, loading guest control registers, debug registers and MSRs: CR0 (with ET),
    /// CR3, CR4, IA32_EFER (from the VMCS, or LMA and LME from "IA-32e mode guest"), DR7 and
    /// IA32_DEBUGCTL, the SYSENTER MSRs, IA32_PAT and IA32_PERF_GLOBAL_CTRL. IA32_EFER is
    /// written with paging off so that turning paging on activates IA-32e mode where LME says
    /// so, as QEMU models it. Returns the guest's CR0 and IA32_EFER.
    private func loadGuestControlRegistersAndMSRs() -> (cr0: UInt64, efer: UInt64) {
        let engine = self.engine
        let entry = controls.entryControls
        let guestCR0 = field(.guestCR0) | ControlRegister0.et.rawValue
        var efer: UInt64
        if entry.contains(.loadIA32EFER) {
            efer = field(.guestIA32EFER)
        } else {
            efer = cpu.efer & ~(ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue)
            if entry.contains(.ia32eModeGuest) {
                efer |= ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue
            }
        }
        engine.write(UC_X86_REG_CR0, guestCR0 & ~ControlRegister0.pg.rawValue)
        engine.writeMSR(MSR.ia32EFER.rawValue, efer & ~ExtendedFeatureEnable.lma.rawValue)
        engine.write(UC_X86_REG_CR4, field(.guestCR4))
        engine.write(UC_X86_REG_CR3, field(.guestCR3))
        engine.write(UC_X86_REG_CR0, guestCR0)
        if entry.contains(.loadDebugControls) {
            engine.write(UC_X86_REG_DR7, field(.guestDR7))
            cpu.msrs[MSR.ia32DebugCtl.rawValue] = field(.guestIA32DebugCtl)
        }
        cpu.msrs[MSR.ia32SysenterCS.rawValue] = field(.guestIA32SysenterCS)
        cpu.msrs[MSR.ia32SysenterESP.rawValue] = field(.guestIA32SysenterESP)
        cpu.msrs[MSR.ia32SysenterEIP.rawValue] = field(.guestIA32SysenterEIP)
        if entry.contains(.loadIA32PAT) { cpu.msrs[MSR.ia32PAT.rawValue] = field(.guestIA32PAT) }
        if entry.contains(.loadIA32PerfGlobalCtrl) {
            cpu.msrs[MSR.ia32PerfGlobalCtrl.rawValue] = field(.guestIA32PerfGlobalCtrl)
        }
        for msr in Self.engineMSRs {
            if let value = cpu.msrs[msr] { engine.writeMSR(msr, value) }
        }
        return (guestCR0, efer)
    }

    /// SDM 27.3.2.3, loading RIP, RSP and RFLAGS, with the other general-purpose registers
    /// (which the VMCS does not hold: `registers`). Returns the guest's RFLAGS.
    private func loadGuestRegisters(_ registers: GuestRegisters) -> UInt64 {
        for number in 0..<16 where number != 4 {
            engine.write(Self.generalRegisters[number], registers[number])
        }
        engine.write(UC_X86_REG_RSP, field(.guestRSP))
        engine.write(UC_X86_REG_RIP, field(.guestRIP))
        let rflags = field(.guestRFLAGS)
        engine.write(UC_X86_REG_RFLAGS, rflags)
        return rflags
    }

    /// SDM 27.3.2.2, loading guest segment registers and descriptor-table registers: GDTR, IDTR,
    /// LDTR and TR, then ES-GS with their hidden parts, whatever the descriptor tables hold.
    private func loadGuestSegmentAndDescriptorTableRegisters(cr0: UInt64, efer: UInt64, rflags: UInt64) {
        let engine = self.engine
        engine.writeTable(
            UC_X86_REG_GDTR,
            uc_x86_mmr(
                selector: 0, base: field(.guestGDTRBase),
                limit: UInt32(truncatingIfNeeded: field(.guestGDTRLimit)), flags: 0))
        engine.writeTable(
            UC_X86_REG_IDTR,
            uc_x86_mmr(
                selector: 0, base: field(.guestIDTRBase),
                limit: UInt32(truncatingIfNeeded: field(.guestIDTRLimit)), flags: 0))
        for (register, fields) in Self.systemSegmentFields {
            let cache = SegmentCache(
                selector: UInt16(truncatingIfNeeded: field(fields.selector)), base: field(fields.base),
                limit: UInt32(truncatingIfNeeded: field(fields.limit)),
                accessRights: UInt32(truncatingIfNeeded: field(fields.rights)))
            engine.writeTable(
                register,
                uc_x86_mmr(
                    selector: cache.selector, base: cache.base, limit: cache.limit,
                    flags: cache.flags))
        }
        engine.loadContext()
        for (index, fields) in Self.segmentFields.enumerated() {
            let cache = SegmentCache(
                selector: UInt16(truncatingIfNeeded: field(fields.selector)), base: field(fields.base),
                limit: UInt32(truncatingIfNeeded: field(fields.limit)),
                accessRights: UInt32(truncatingIfNeeded: field(fields.rights)))
            engine.setSegment(SegmentRegister(rawValue: index)!, cache)
        }
        engine.efer = efer
        engine.recomputeSegmentHiddenFlags(
            protectedMode: cr0 & ControlRegister0.pe.rawValue != 0,
            longModeActive: efer & ExtendedFeatureEnable.lma.rawValue != 0,
            virtual8086: rflags & RFLAGS.vm.rawValue != 0)
        engine.storeContext()
    }

    /// SDM 27.3.2.5, loading non-register state: interruptibility and activity state (27.7),
    /// and the VMX-preemption timer's start (27.3.3); the emulated CPU's per-entry state is
    /// reset with it.
    private func loadGuestNonRegisterState() {
        let interruptibility = field(.guestInterruptibilityState)
        blockingBySTI = interruptibility & 1 != 0
        blockingByMovSS = interruptibility & 2 != 0
        blockingByNMI = interruptibility & 8 != 0
        activityState = UInt32(truncatingIfNeeded: field(.guestActivityState))
        // Wait-for-SIPI is modelled (GuestExecution.startupEventAfterEntry); shutdown is not.
        if activityState == UInt32(GuestActivityState.shutdown) {
            cpu.reportGuestExecutionProblem("activity state 2 (shutdown) is not modelled; the guest runs as if active")
            activityState = 0
        }
        preemptionTimerStart = timestampCounter
        preemptionTimerValue = field(.vmxPreemptionTimerValue)
        mtfPending = false
        stop = nil
        inFlight = nil
        memoryFault = nil
        fetchFaultPage = nil
        fetchFaultRefined = false
        fetchCache = nil
        mode.stale = true
        refreshMode()
    }

    /// SDM 27.3.2.4, loading page-directory-pointer-table entries for PAE paging: from the VMCS
    /// with EPT, else from memory as MOV to CR3 loads them.
    private func loadGuestPDPTEs(cr0: UInt64, efer: UInt64) {
        guard
            cr0 & ControlRegister0.pg.rawValue != 0 && mode.cr4 & ControlRegister4.pae.rawValue != 0
                && efer & ExtendedFeatureEnable.lma.rawValue == 0
        else { return }
        if controls.eptPointer != nil {
            pdptes = [field(.guestPDPTE0), field(.guestPDPTE1), field(.guestPDPTE2), field(.guestPDPTE3)]
        } else {
            reloadPDPTEsIfPAE()
        }
    }

    /// SDM 27.4, loading MSRs: the VM-entry MSR-load list, each entry as WRMSR loads it. Every
    /// entry passed the checks (EmulatedCPU.msrWriteFaults among them), so no write is refused
    /// here; an MSR the CPU does not have is never created.
    private func loadEntryMSRList() {
        let count = Int(field(.vmEntryMSRLoadCount) & 0xFFFF_FFFF)
        let list = field(.vmEntryMSRLoadAddress)
        for index in 0..<count {
            let entryAddress = list + UInt64(index) * 16
            let msr = cpu.memory.read32(entryAddress)
            let value = cpu.memory.read64(entryAddress + 8)
            if !writeGuestMSR(msr, value) {
                cpu.reportGuestExecutionProblem(
                    String(
                        text: """
                            VM-entry MSR-load entry \(index + 1) (MSR \(hex: msr)) \
                            was refused after passing the checks
                            """))
            }
        }
    }

    // MARK: VM exit

    /// Performs the VM exit `exit` in the steps of SDM 28: saves guest state (28.3) and the
    /// exit information (28.2) into the VMCS, stores MSRs (28.4), loads host state and MSRs
    /// (28.5, 28.6), and returns the guest's general-purpose registers in `registers`.
    func finishVMExit(_ exit: ExitInformation, registers: inout GuestRegisters) {
        inFlight = nil
        stop = nil
        engine.loadContext()
        saveGuestSegmentAndDescriptorTableRegisters()
        let saved = saveGuestControlRegistersAndMSRs(resumeFlag: Self.savesResumeFlag(exit))
        saveGuestNonRegisterState(cr0: saved.cr0, cr4: saved.cr4, efer: saved.efer)
        recordExitInformation(exit)

        // The emulated CPU's registers hold the guest's until host state replaces them.
        cpu.cr0 = saved.cr0
        cpu.cr3 = saved.cr3
        cpu.cr4 = saved.cr4
        cpu.efer = saved.efer
        cpu.rflags = saved.rflags
        cpu.msrs[MSR.ia32FSBase.rawValue] = engine.segment(.fs).base
        cpu.msrs[MSR.ia32GSBase.rawValue] = engine.segment(.gs).base

        storeExitMSRList()
        for number in 0..<16 where number != 4 {
            registers[number] = engine.read(Self.generalRegisters[number])
        }
        let vmcs = cpu.currentVMCSPointer
        if let saved = savedEngineState[vmcs] {
            engine.saveState(into: saved)
        } else {
            savedEngineState[vmcs] = engine.copyState()
        }
        // Other CPUs sharing the memory re-translate what this guest may have written.
        cpu.memory.noteGuestWrites()
        memoryGenerationAtExit = cpu.memory.writeGeneration
        loadHostStateAndMSRs(exit)
    }

    /// SDM 28.3.2, saving segment registers and descriptor-table registers: ES-GS, LDTR and TR
    /// with their access rights, GDTR and IDTR.
    private func saveGuestSegmentAndDescriptorTableRegisters() {
        let engine = self.engine
        for (index, fields) in Self.segmentFields.enumerated() {
            let cache = engine.segment(SegmentRegister(rawValue: index)!)
            store(UInt64(cache.selector), fields.selector)
            store(cache.base, fields.base)
            store(UInt64(cache.limit), fields.limit)
            var rights = cache.accessRights
            if index == SegmentRegister.cs.rawValue { rights &= ~SegmentAccessRights.unusable.rawValue }
            // Loading a code or data segment sets the descriptor's accessed flag, so a loaded
            // segment's cache has it (VM entry checks it, SDM 27.3.1.2); QEMU leaves it clear
            // in the cache when a far transfer loads CS.
            let usable = rights & SegmentAccessRights.unusable.rawValue == 0
            if usable && rights & SegmentAccessRights.codeOrData.rawValue != 0 { rights |= 1 }
            store(UInt64(rights), fields.rights)
        }
        for (register, fields) in Self.systemSegmentFields {
            let table = engine.readTable(register)
            let cache = SegmentCache(selector: table.selector, base: table.base, limit: table.limit, flags: table.flags)
            store(UInt64(cache.selector), fields.selector)
            store(cache.base, fields.base)
            store(UInt64(cache.limit), fields.limit)
            var rights = UInt64(cache.accessRights)
            // A loaded TR is a busy TSS (LTR and task switches mark it, SDM Vol. 3A 7.2.4);
            // QEMU's LTR sets the busy flag in the descriptor but not in its cache.
            let unusable = UInt64(SegmentAccessRights.unusable.rawValue)
            if register == UC_X86_REG_TR && rights & unusable == 0 && rights & 0x7 == 1 { rights |= 2 }
            store(rights, fields.rights)
        }
        let gdtr = engine.readTable(UC_X86_REG_GDTR), idtr = engine.readTable(UC_X86_REG_IDTR)
        store(gdtr.base, .guestGDTRBase)
        store(UInt64(gdtr.limit), .guestGDTRLimit)
        store(idtr.base, .guestIDTRBase)
        store(UInt64(idtr.limit), .guestIDTRLimit)
    }

    /// Whether the saved RFLAGS has RF set (SDM 28.3.3): an exit caused directly by a fault saves
    /// RF as the fault's RFLAGS image on the stack would have it, and that image has RF = 1 for
    /// every fault but an instruction-breakpoint #DB (SDM Vol. 3B 18.3.1.1). The fault-class
    /// exceptions are those of SDM Vol. 3A Table 6-1.
    static func savesResumeFlag(_ exit: ExitInformation) -> Bool {
        guard exit.vectoring == nil, exit.reason == .exceptionOrNMI, let information = exit.interruptionInformation
        else { return false }
        let event = InterruptionInformation(rawValue: information)
        guard event.type == .hardwareException else { return false }
        return [0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21].contains(event.vector)
    }

    /// SDM 28.3.1, saving control registers, debug registers and MSRs, and 28.3.3, saving RIP,
    /// RSP and RFLAGS; with IA32_VMX_MISC[5], IA32_EFER.LMA into the "IA-32e mode guest"
    /// control (SDM 28.2). Returns what the emulated CPU's own registers take over.
    private func saveGuestControlRegistersAndMSRs(resumeFlag: Bool)
        -> (cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64, rflags: UInt64)
    {
        let engine = self.engine
        let exitControls = controls.exitControls
        let cr0 = engine.read(UC_X86_REG_CR0), cr3 = engine.read(UC_X86_REG_CR3), cr4 = engine.read(UC_X86_REG_CR4)
        store(cr0, .guestCR0)
        store(cr3, .guestCR3)
        store(cr4, .guestCR4)
        if exitControls.contains(.saveDebugControls) {
            store(engine.read(UC_X86_REG_DR7), .guestDR7)
            store(cpu.msrs[MSR.ia32DebugCtl.rawValue] ?? 0, .guestIA32DebugCtl)
        }
        let rsp = engine.read(UC_X86_REG_RSP), rip = engine.read(UC_X86_REG_RIP),
            rflags = engine.read(UC_X86_REG_RFLAGS) | (resumeFlag ? RFLAGS.rf.rawValue : 0)
        store(rsp, .guestRSP)
        store(rip, .guestRIP)
        store(rflags, .guestRFLAGS)
        for msr in Self.engineMSRs { cpu.msrs[msr] = engine.readMSR(msr) }

        store(cpu.msrs[MSR.ia32SysenterCS.rawValue] ?? 0, .guestIA32SysenterCS)
        store(cpu.msrs[MSR.ia32SysenterESP.rawValue] ?? 0, .guestIA32SysenterESP)
        store(cpu.msrs[MSR.ia32SysenterEIP.rawValue] ?? 0, .guestIA32SysenterEIP)
        let efer = engine.readMSR(MSR.ia32EFER.rawValue)
        if exitControls.contains(.saveIA32EFER) { store(efer, .guestIA32EFER) }
        if exitControls.contains(.saveIA32PAT) { store(cpu.msrs[MSR.ia32PAT.rawValue] ?? 0, .guestIA32PAT) }
        if cpu.capabilities?.misc.storesEFERLMA == true {
            var entryControls = field(.vmEntryControls)
            if efer & ExtendedFeatureEnable.lma.rawValue != 0 {
                entryControls |= UInt64(VMEntryControls.ia32eModeGuest.rawValue)
            } else {
                entryControls &= ~UInt64(VMEntryControls.ia32eModeGuest.rawValue)
            }
            store(entryControls, .vmEntryControls)
        }
        return (cr0, cr3, cr4, efer, rflags)
    }

    /// SDM 28.3.4, saving non-register state: activity and interruptibility state, pending
    /// debug exceptions, the VMX-preemption timer value; and the PDPTEs with EPT and PAE paging.
    private func saveGuestNonRegisterState(cr0: UInt64, cr4: UInt64, efer: UInt64) {
        store(UInt64(activityState), .guestActivityState)
        var interruptibility: UInt64 = 0
        if blockingBySTI { interruptibility |= 1 }
        if blockingByMovSS { interruptibility |= 2 }
        if blockingByNMI { interruptibility |= 8 }
        store(interruptibility, .guestInterruptibilityState)
        store(0, .guestPendingDebugExceptions)
        if controls.exitControls.contains(.saveVMXPreemptionTimerValue) {
            let ticks = preemptionTimerTicks()
            store(ticks >= preemptionTimerValue ? 0 : preemptionTimerValue - ticks, .vmxPreemptionTimerValue)
        }
        if controls.eptPointer != nil && cr0 & ControlRegister0.pg.rawValue != 0
            && cr4 & ControlRegister4.pae.rawValue != 0 && efer & ExtendedFeatureEnable.lma.rawValue == 0
        {
            for (index, pdpteField) in [VMCSField.guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3].enumerated() {
                store(pdptes[index], pdpteField)
            }
        }
    }

    /// SDM 28.2, recording VM-exit information: guest-linear and guest-physical address,
    /// VM-exit interruption information and error code, IDT-vectoring information (28.2.4),
    /// instruction length and information. The VM-entry interruption information's valid bit
    /// is cleared on every VM exit (SDM 25.8.3).
    private func recordExitInformation(_ exit: ExitInformation) {
        if let linear = exit.guestLinearAddress { store(linear, .guestLinearAddress) }
        if let physical = exit.guestPhysicalAddress { store(physical, .guestPhysicalAddress) }
        store(UInt64(exit.interruptionInformation ?? 0), .vmExitInterruptionInformation)
        if let errorCode = exit.interruptionErrorCode { store(UInt64(errorCode), .vmExitInterruptionErrorCode) }
        store(UInt64(exit.vectoring?.interruptionInformation ?? 0), .idtVectoringInformation)
        if let errorCode = exit.vectoring?.errorCode { store(UInt64(errorCode), .idtVectoringErrorCode) }
        if let length = exit.instructionLength {
            store(UInt64(length), .vmExitInstructionLength)
        } else if let vectoring = exit.vectoring,
            [.softwareInterrupt, .privilegedSoftwareException, .softwareException].contains(vectoring.type)
        {
            // An exit met while delivering INT n, INT1, INT3 or INTO gives that instruction's
            // length (SDM 28.2.5).
            store(UInt64(vectoring.instructionLength), .vmExitInstructionLength)
        }
        if let information = exit.instructionInformation { store(UInt64(information), .vmExitInstructionInformation) }
        store(
            field(.vmEntryInterruptionInformation) & ~UInt64(VMEntryInterruptionInformation.valid),
            .vmEntryInterruptionInformation)
    }

    /// SDM 28.4, saving MSRs: the VM-exit MSR-store list.
    private func storeExitMSRList() {
        let storeCount = Int(field(.vmExitMSRStoreCount))
        let storeList = field(.vmExitMSRStoreAddress)
        for index in 0..<storeCount {
            let entryAddress = storeList + UInt64(index) * 16
            let msr = cpu.memory.read32(entryAddress)
            cpu.memory.write64(entryAddress + 8, readGuestMSR(msr) ?? 0)
        }
    }

    /// SDM 28.5, loading host state (with the exit reason and qualification), and 28.6, loading
    /// MSRs from the VM-exit MSR-load list.
    private func loadHostStateAndMSRs(_ exit: ExitInformation) {
        let exitControls = controls.exitControls
        cpu.performVMExit(reason: exit.reason, qualification: exit.qualification)
        cpu.msrs[MSR.ia32SysenterCS.rawValue] = field(.hostIA32SysenterCS)
        cpu.msrs[MSR.ia32SysenterESP.rawValue] = field(.hostIA32SysenterESP)
        cpu.msrs[MSR.ia32SysenterEIP.rawValue] = field(.hostIA32SysenterEIP)
        cpu.msrs[MSR.ia32FSBase.rawValue] = field(.hostFSBase)
        cpu.msrs[MSR.ia32GSBase.rawValue] = field(.hostGSBase)
        if exitControls.contains(.loadIA32PAT) { cpu.msrs[MSR.ia32PAT.rawValue] = field(.hostIA32PAT) }
        if exitControls.contains(.loadIA32PerfGlobalCtrl) {
            cpu.msrs[MSR.ia32PerfGlobalCtrl.rawValue] = field(.hostIA32PerfGlobalCtrl)
        }
        let loadCount = Int(field(.vmExitMSRLoadCount))
        let loadList = field(.vmExitMSRLoadAddress)
        for index in 0..<loadCount {
            let entryAddress = loadList + UInt64(index) * 16
            let msr = cpu.memory.read32(entryAddress)
            let value = cpu.memory.read64(entryAddress + 8)
            if msr == MSR.ia32EFER.rawValue { cpu.efer = value } else { cpu.msrs[msr] = value }
        }
    }
}
