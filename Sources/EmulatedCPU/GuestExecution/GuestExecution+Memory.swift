// Guest memory for guest execution: Unicorn's TLB misses (the fill hook), the guest-memory
// accesses the emulated CPU makes itself (event delivery, operands of emulated instructions),
// and turning a refused access into a guest page fault or an EPT VM exit with the exit
// qualification of SDM 28.2.1 Table 28-7, the guest-physical address and the guest linear
// address.
//
// Unicorn's fill hook sees only the page of a refused access. The exact address (CR2 of a
// page fault, the linear and guest-physical addresses of an EPT violation) comes from a replay:
// the faulting instruction runs once more with the page mapped to a scratch page and a memory
// hook recording the first access to it, then the CPU state and the memory it wrote are put
// back.
import CUnicorn
import VMX

extension GuestExecution {
    /// The guest's paging and EPT as they are now.
    func walker() -> GuestPagingWalker {
        GuestPagingWalker(
            cr0: mode.cr0, cr3: engine.read(UC_X86_REG_CR3), cr4: mode.cr4, efer: mode.efer,
            pdptes: pdptes, physicalAddressWidth: cpu.physicalAddressWidth, ept: eptWalker(),
            memory: cpu.memory)
    }

    func eptWalker() -> EPTWalker? {
        guard let eptPointer = controls.eptPointer else { return nil }
        let caps = cpu.capabilities?.eptVPIDCapabilitiesOrNone ?? EPTVPIDCapabilities(rawValue: 0)
        return EPTWalker(
            eptPointer: eptPointer,
            capabilities: .init(
                executeOnly: caps.contains(.executeOnlyTranslations), pages2MB: caps.contains(.pages2MB),
                pages1GB: caps.contains(.pages1GB), accessedAndDirty: caps.contains(.accessedAndDirtyFlags)),
            physicalAddressWidth: cpu.physicalAddressWidth, memory: cpu.memory)
    }

    // MARK: The fill hook

    func fillTLB(linearPage: UInt64, type: uc_mem_type, entry: UnsafeMutablePointer<uc_tlb_entry>) -> Bool {
        // After a refused access Unicorn may still look up the next block: the first refusal
        // is the one that counts.
        if memoryFault != nil { return false }
        let access: AccessKind = type == UC_MEM_WRITE ? .write : (type == UC_MEM_FETCH ? .fetch : .read)
        if let replay, linearPage == replay.faultPage {
            entry.pointee.paddr = replay.scratchPage
            entry.pointee.perms = UC_PROT_ALL
            return true
        }
        if access == .fetch, let page = fetchFaultPage, page == linearPage {
            // Translating ahead into a page whose fetch faults: let the translation proceed
            // (the code hook stops before an instruction reaches the page).
            entry.pointee.paddr = scratchPage
            entry.pointee.perms = UC_PROT_EXEC
            return true
        }
        if mode.stale { refreshMode() }
        if !isCanonicalLinear(linearPage) {
            memoryFault = MemoryFault(linearPage: linearPage, access: access, translation: nil)
            return false
        }
        let translation = walker().translate(linearPage, kind: access, user: mode.cpl == 3)
        guard case .translated(_, let host, let allowed, _) = translation, allowed.contains(access.rights) else {
            memoryFault = MemoryFault(linearPage: linearPage, access: access, translation: translation)
            return false
        }
        if host >= UInt64(cpu.memory.size & ~0xFFF) {
            cpu.reportGuestExecutionProblem(
                "guest page \(hex(linearPage)) maps host-physical \(hex(host)), beyond the emulated memory")
            memoryFault = MemoryFault(linearPage: linearPage, access: access, translation: translation)
            return false
        }
        var perms: UInt32 = 0
        if allowed.contains(.read) { perms |= UInt32(UC_PROT_READ.rawValue) }
        if allowed.contains(.write) { perms |= UInt32(UC_PROT_WRITE.rawValue) }
        if allowed.contains(.execute) { perms |= UInt32(UC_PROT_EXEC.rawValue) }
        entry.pointee.paddr = host & ~0xFFF
        entry.pointee.perms = uc_prot(rawValue: perms)
        return true
    }

    // MARK: Refused accesses of Unicorn

    /// Acts on an access the fill hook refused: a guest page fault, an EPT violation or an EPT
    /// misconfiguration (or, for a fetch met while translating ahead, a second run that stops
    /// at the instruction that really fetches from the page).
    func handleMemoryFault(_ fault: MemoryFault) -> ExitInformation? {
        let rip = engine.read(UC_X86_REG_RIP)
        let linearRIP = mode.csBase &+ rip
        inFlight = nil
        memoryFault = nil
        guard var translation = fault.translation else {
            return nonCanonicalFault(fault, linearRIP: linearRIP)
        }
        if fault.access == .fetch && !fetchFaultRefined && linearRIP & ~0xFFF != fault.linearPage {
            // Unicorn reports a fetch fault anywhere in a block at the block's start. Run again
            // with the page mapped for translation; the code hook stops at the instruction that
            // reaches the page, and the next run faults exactly there.
            fetchFaultPage = fault.linearPage
            fetchFaultRefined = true
            engine.flushTLB()
            engine.flushTranslations()
            return nil
        }
        fetchFaultRefined = false
        fetchFaultPage = nil
        engine.flushTLB()
        engine.flushTranslations()
        let exactLinear: UInt64
        if fault.access == .fetch {
            exactLinear = linearRIP & ~0xFFF == fault.linearPage ? linearRIP : fault.linearPage
        } else {
            let replayed = refineFaultAddress(page: fault.linearPage, rip: rip)
            exactLinear = replayed.address ?? fault.linearPage
            // A read-modify-write instruction (ADD, XCHG, ... to memory) makes a write access:
            // a page fault says write (error code bit 1, SDM Vol. 3A 4.7), and an EPT violation
            // sets bit 1 of the qualification (SDM 28.2.1: "An EPT violation that occurs as a
            // result of execution of a read-modify-write operation sets bit 1 (data write)";
            // bit 0 is implementation-specific, and clear here). Unicorn reads first.
            if fault.access == .read && replayed.writes {
                let asWrite = walker().translate(fault.linearPage, kind: .write, user: mode.cpl == 3)
                if case .translated = asWrite {} else { translation = asWrite }
            }
        }
        switch translation {
        case .pageFault(let errorCode):
            return deliver(
                PendingEvent(vector: 14, type: .hardwareException, errorCode: errorCode, faultAddress: exactLinear),
                injected: false)
        case .eptViolation(let guestPhysical, let access, let allowed, let translated, let guestPage):
            let physical = translated ? (guestPhysical & ~0xFFF) | (exactLinear & 0xFFF) : guestPhysical
            return eptViolationExit(
                guestPhysical: physical, linear: exactLinear, access: access, allowed: allowed,
                translatedAddress: translated, guestPage: guestPage)
        case .eptMisconfiguration(let guestPhysical):
            return ExitInformation(reason: .eptMisconfiguration, guestPhysicalAddress: guestPhysical)
        case .translated:
            // Beyond the emulated memory (already reported).
            return ExitInformation(reason: Self.emulationLimitReason)
        }
    }

    // MARK: Non-canonical addresses

    /// Whether `linear` is canonical (SDM Vol. 1 3.3.7.1), which IA-32e mode requires of every
    /// linear address it uses: bits 63:47 all equal (63:56 with 5-level paging, CR4.LA57).
    /// Outside IA-32e mode linear addresses have 32 bits and always are.
    func isCanonicalLinear(_ linear: UInt64) -> Bool {
        guard mode.efer & ExtendedFeatureEnable.lma.rawValue != 0 else { return true }
        return isCanonical(linear, width: mode.cr4 & ControlRegister4.la57.rawValue != 0 ? 57 : 48)
    }

    /// A data access to a non-canonical address: #SS(0) when it goes through the stack segment
    /// (an implicit stack access with a non-canonical RSP, or an operand based on RSP or RBP),
    /// #GP(0) otherwise (SDM Vol. 1 3.3.7.1, Vol. 3A 6.15). A fetch from one is not modelled:
    /// the branch that loaded the non-canonical RIP would have taken the #GP (SDM Vol. 2A, JMP
    /// and CALL), and the emulated CPU learns of it only at the fetch.
    func nonCanonicalFault(_ fault: MemoryFault, linearRIP: UInt64) -> ExitInformation? {
        engine.flushTLB()
        engine.flushTranslations()
        guard fault.access != .fetch else {
            cpu.reportGuestExecutionProblem(
                """
                the guest fetches from the non-canonical page \(hex(fault.linearPage)), which the emulated CPU \
                does not model
                """)
            return ExitInformation(reason: Self.emulationLimitReason)
        }
        let references = InstructionDecoder(codeSize: mode.codeSize).memoryReferences { offset in
            self.fetchByte(linearRIP &+ UInt64(offset))
        }
        let rsp = engine.read(UC_X86_REG_RSP)
        let stackReference =
            references.implicitStack && !(isCanonicalLinear(rsp) && isCanonicalLinear(rsp &- 8))
            || references.operandUsesStackSegment
        return deliver(
            PendingEvent(vector: stackReference ? 12 : 13, type: .hardwareException, errorCode: 0), injected: false)
    }

    /// The exit for an EPT violation (SDM 28.2.1 Table 28-7): access in bits 2:0, the EPT
    /// entries' permissions in 5:3, the guest linear address valid (bit 7) with bit 8 telling
    /// an access to the translated address from one to a paging-structure entry, and with the
    /// advanced information capability the guest paging's rights in bits 11:9.
    func eptViolationExit(
        guestPhysical: UInt64, linear: UInt64?, access: AccessKind, allowed: AccessRights,
        translatedAddress: Bool, guestPage: GuestPageRights?
    ) -> ExitInformation {
        let advanced = cpu.capabilities?.eptVPIDCapabilities?.contains(.advancedEPTViolationInformation) ?? false
        let paged = mode.cr0 & ControlRegister0.pg.rawValue != 0
        // The guest paging's rights (bits 11:9) only for an access to the translated address of
        // a paged linear address.
        let reported = advanced && linear != nil && translatedAddress && paged ? guestPage : nil
        let qualification = EPTViolationQualification(
            read: access == .read, write: access == .write, fetch: access == .fetch,
            readable: allowed.contains(.read), writable: allowed.contains(.write),
            executable: allowed.contains(.execute),
            linearAddressValid: linear != nil, translatedAddress: linear != nil && translatedAddress,
            userModeLinearAddress: reported?.user ?? false, readWriteLinearAddress: reported?.writable ?? false,
            executeDisableLinearAddress: reported?.executeDisable ?? false)
        return ExitInformation(
            reason: .eptViolation, qualification: qualification.rawValue, guestLinearAddress: linear,
            guestPhysicalAddress: guestPhysical)
    }

    /// Runs the instruction at `rip` once more with `page` mapped to a scratch page and returns
    /// the linear address of its first access to the page (the page itself when the access
    /// starts in the page before), and whether it also wrote the page. The CPU state and every
    /// byte the instruction wrote outside the scratch page are restored afterwards.
    func refineFaultAddress(page: UInt64, rip: UInt64) -> (address: UInt64?, writes: Bool) {
        let engine = self.engine
        engine.saveSnapshot()
        replay = ReplayState(faultPage: page, scratchPage: scratchPage)
        let me = Unmanaged.passUnretained(self).toOpaque()
        let memoryHook:
            @convention(c) (OpaquePointer?, uc_mem_type, UInt64, Int32, Int64, UnsafeMutableRawPointer?) -> Void = {
                _, type, address, size, _, data in
                Unmanaged<GuestExecution>.fromOpaque(data!).takeUnretainedValue().replayAccess(
                    type: type, physical: address, size: Int(size))
            }
        let hook = engine.addHook(
            type: uc_hook_type(rawValue: UC_HOOK_MEM_READ.rawValue | UC_HOOK_MEM_WRITE.rawValue),
            callback: unsafeBitCast(memoryHook, to: UnsafeMutableRawPointer.self), userData: me)
        engine.flushTLB()
        engine.flushTranslations()
        _ = engine.run(from: rip, count: 1)
        engine.removeHook(hook)
        let state = replay
        replay = nil
        for write in (state?.undo ?? []).reversed() {
            for (offset, byte) in write.bytes.enumerated() { cpu.memory.write8(write.host + UInt64(offset), byte) }
        }
        engine.restoreSnapshot()
        engine.flushTLB()
        engine.flushTranslations()
        memoryFault = nil
        stop = nil
        return (state?.firstAddress, state?.writesFaultPage ?? false)
    }

    /// The memory hook of a replay. In the virtual-TLB mode Unicorn reports the physical
    /// (host-physical) address of an access: one in the scratch page is the faulting page's.
    /// An access that starts in the page before (split by Unicorn) reports that page's
    /// address; the faulting address is then the page's first byte, the fallback.
    func replayAccess(type: uc_mem_type, physical: UInt64, size: Int) {
        guard var state = replay else { return }
        if physical & ~0xFFF == state.scratchPage {
            if state.firstAddress == nil { state.firstAddress = state.faultPage | (physical & 0xFFF) }
            if type == UC_MEM_WRITE { state.writesFaultPage = true }
        } else if type == UC_MEM_WRITE, physical + UInt64(size) <= UInt64(cpu.memory.size) {
            // Keep the bytes the write will change, to put them back.
            state.undo.append((physical, (0..<size).map { cpu.memory.read8(physical + UInt64($0)) }))
        }
        replay = state
    }

    // MARK: Guest memory accessed by the emulated CPU

    /// The outcome of an access the emulated CPU makes to guest linear memory.
    enum GuestAccess {
        /// Host-physical addresses of each byte.
        case bytes([UInt64])
        case pageFault(errorCode: UInt32, linear: UInt64)
        case exit(ExitInformation)
    }

    /// Translates `count` bytes at `linear` for `kind`, byte-exact. `implicitSupervisor`: an
    /// access made by the processor itself (descriptor tables, the TSS), never a user access.
    func translateLinear(_ linear: UInt64, count: Int, kind: AccessKind, implicitSupervisor: Bool = false)
        -> GuestAccess
    {
        var hosts: [UInt64] = []
        hosts.reserveCapacity(count)
        let user = !implicitSupervisor && mode.cpl == 3
        var offset = 0
        while offset < count {
            let address = linear &+ UInt64(offset)
            switch walker().translate(address, kind: kind, user: user) {
            case .translated(_, let host, _, _):
                let inPage = min(count - offset, Int(0x1000 - (address & 0xFFF)))
                for i in 0..<inPage { hosts.append(host + UInt64(i)) }
                offset += inPage
            case .pageFault(let errorCode):
                return .pageFault(errorCode: errorCode, linear: address)
            case .eptViolation(let guestPhysical, let access, let allowed, let translated, let guestPage):
                return .exit(
                    eptViolationExit(
                        guestPhysical: guestPhysical, linear: address, access: access, allowed: allowed,
                        translatedAddress: translated, guestPage: guestPage))
            case .eptMisconfiguration(let guestPhysical):
                return .exit(ExitInformation(reason: .eptMisconfiguration, guestPhysicalAddress: guestPhysical))
            }
        }
        return .bytes(hosts)
    }

    /// Reads guest linear memory; nil when the access would fault.
    func readLinear(_ linear: UInt64, count: Int, implicitSupervisor: Bool = false) -> [UInt8]? {
        guard
            case .bytes(let hosts) = translateLinear(
                linear, count: count, kind: .read, implicitSupervisor: implicitSupervisor)
        else { return nil }
        return hosts.map { cpu.memory.read8($0) }
    }

    /// Whether a MOV of `cr3` in PAE paging would load a present PDPTE with bits 2:1, 8:5 or
    /// 63:MAXPHYADDR set (SDM Vol. 3A 4.4.1, Table 4-8). False outside PAE paging.
    func reservedPDPTEBitsAfterLoading(cr3: UInt64) -> Bool {
        if mode.stale { refreshMode() }
        guard mode.cr0 & ControlRegister0.pg.rawValue != 0, mode.cr4 & ControlRegister4.pae.rawValue != 0,
            mode.efer & ExtendedFeatureEnable.lma.rawValue == 0
        else { return false }
        let width = UInt64(cpu.physicalAddressWidth)
        let reserved: UInt64 = PagingStructure.paeDirectoryPointerReserved | (width >= 64 ? 0 : ~UInt64(0) << width)
        for i in 0..<4 {
            let address = (cr3 & PagingStructure.paeDirectoryPointerTable) + UInt64(i) * 8
            let host: UInt64
            if let ept = eptWalker() {
                guard case .translated(let h, _) = ept.translate(address, access: .read) else { continue }
                host = h
            } else {
                host = address
            }
            let entry = cpu.memory.read64(host)
            if entry & PageTableEntry.present.rawValue != 0 && entry & reserved != 0 { return true }
        }
        return false
    }

    /// PDPTE0-3 from the page-directory-pointer table CR3 names, in PAE paging (SDM 4.4.1),
    /// read as guest-physical addresses through the EPT.
    func reloadPDPTEsIfPAE() {
        guard mode.cr0 & ControlRegister0.pg.rawValue != 0, mode.cr4 & ControlRegister4.pae.rawValue != 0,
            mode.efer & ExtendedFeatureEnable.lma.rawValue == 0
        else { return }
        let table = engine.read(UC_X86_REG_CR3) & PagingStructure.paeDirectoryPointerTable
        for i in 0..<4 {
            let address = table + UInt64(i) * 8
            let host: UInt64
            if let ept = eptWalker() {
                guard case .translated(let h, _) = ept.translate(address, access: .read) else { continue }
                host = h
            } else {
                host = address
            }
            pdptes[i] = cpu.memory.read64(host)
        }
    }
}
