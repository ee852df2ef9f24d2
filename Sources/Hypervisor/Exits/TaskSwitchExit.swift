// Task switches, exit reason 9: every task switch exits in VMX non-root operation (SDM 26.1.2),
// whatever the controls - a CALL or JMP to a TSS descriptor or a task gate, IRET with
// RFLAGS.NT = 1, or an interrupt or exception through a task gate in the IDT (32-bit operating
// systems use one for #DF). The exit qualification (SDM Table 28-2) gives the selector of the
// new TSS (bits 15:0) and the source (bits 31:30); for a task gate in the IDT the IDT-vectoring
// information names the event being delivered.
//
// The hypervisor performs the switch between 32-bit TSSs as SDM Vol. 3A 7.3 describes, with the
// checks of 7.3 and Table 7-1 and their faults: before the commit (in the old task) the new
// TSS descriptor - in the GDT (#GP(sel), for IRET #TS(sel)), available (busy for IRET), its DPL
// for CALL and JMP (#GP(sel)), present (#NP(sel)), limit at least 67H (#TS(sel)); then it saves
// EIP, EFLAGS, the general-purpose and segment registers into the old TSS, clears the old
// busy flag (JMP, IRET) or sets the back link and NT (CALL, task gate), sets the new busy flag,
// loads TR, sets CR0.TS, loads CR3 (with the PDPTEs under PAE paging), LDTR, EFLAGS, EIP, the
// general-purpose registers and the segment registers with their descriptor checks (#TS, #NP,
// #SS in the new task), clears DR7's local enables, and pushes the error code of an exception
// delivered through a task gate.
//
// Not emulated, each stopping the guest with a line naming it: 16-bit TSSs, a new task in
// virtual-8086 mode, a fault while loading the new task's CS or SS (the new task has no valid
// state to take it in), and a fault before the commit of a switch that delivers an event
// (the double-fault rules of SDM Table 6-5). The new TSS's debug trap flag (T) is ignored.
import VMX

/// The sources of a task switch (exit qualification bits 31:30).
enum TaskSwitchSource: UInt64 {
    case call = 0, iret = 1, jmp = 2, idtGate = 3
}

/// RFLAGS.NT (bit 14): the task was entered by CALL or a task gate and IRET returns from it.
let taskNestedFlag: UInt64 = RFLAGS.nt.rawValue

/// Why a task switch cannot go on: a fault for the guest (vector, error code), or a stop.
enum TaskSwitchFailure: Error {
    case fault(ExceptionVector, UInt32)
    case unsupported(StaticString)
}

extension VirtualCPU {
    /// VMWRITE kept out of line: a task switch writes some thirty fields, and one call site for
    /// each is smaller than the VMWRITE inlined at each.
    @inline(never)
    func put(_ field: VMCSField, _ value: UInt64) { write(field, value) }

    /// The 8-byte descriptor for `selector` in the GDT (TI = 0) or the LDT (TI = 1), or nil
    /// when it lies beyond the table's limit or outside the guest's memory.
    func descriptorAddress(_ selector: UInt64) -> UInt64? {
        let ldt = selector & SegmentSelector.tableIndicator != 0
        let base = read(ldt ? .guestLDTRBase : .guestGDTRBase)
        let limit = read(ldt ? .guestLDTRLimit : .guestGDTRLimit)
        if ldt && read(.guestLDTRAccessRights) & Self.unusableRights != 0 { return nil }
        let offset = selector & SegmentSelector.indexMask
        return offset + 7 <= limit ? base &+ offset : nil
    }

    func readGuest32(_ linear: UInt64) -> UInt64? {
        guard let bytes = readGuest(linear: linear, count: 4) else { return nil }
        return UInt64(bytes[0]) | UInt64(bytes[1]) << 8 | UInt64(bytes[2]) << 16 | UInt64(bytes[3]) << 24
    }

    func writeGuest32(_ linear: UInt64, _ value: UInt64) -> Bool {
        writeGuest(
            linear: linear,
            bytes: [
                UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)
            ])
    }

    func readDescriptor(_ address: UInt64) -> UInt64? {
        guard let low = readGuest32(address), let high = readGuest32(address &+ 4) else { return nil }
        return low | high << 32
    }

    /// VMCS access rights of a descriptor: type, S, DPL, P (bits 7:0), AVL, L, D/B, G (15:12).
    static func accessRights(_ descriptor: UInt64) -> UInt64 { SegmentDescriptor(rawValue: descriptor).accessRights }

    /// The "segment unusable" access right (SDM 25.4.1).
    static var unusableRights: UInt64 { UInt64(SegmentAccessRights.unusable.rawValue) }

    /// The guest-state fields of ES, CS, SS, DS, FS, GS differ by 2 in their encodings' index
    /// (SDM Appendix B): the field of segment register `index` (0-5) from ES's.
    static func segmentField(_ es: VMCSField, _ index: Int) -> VMCSField {
        VMCSField(rawValue: es.rawValue + UInt32(index) * 2)
    }

    static func segmentRightsField(_ index: Int) -> VMCSField { segmentField(.guestESAccessRights, index) }

    /// Loads segment register `index` (ES, CS, SS, DS, FS, GS: 0-5) from `selector` with the
    /// checks of a task switch (SDM Vol. 3A Table 7-1), the accessed bit set.
    func loadTaskSegment(_ index: Int, _ selector: UInt64, cpl: UInt64) throws(TaskSwitchFailure) {
        let selectorField = Self.segmentField(.guestESSelector, index)
        let limitField = Self.segmentField(.guestESLimit, index)
        let rightsField = Self.segmentRightsField(index)
        let baseField = Self.segmentField(.guestESBase, index)
        let errorCode = UInt32(selector & SegmentSelector.withoutRPL)
        put(selectorField, selector)
        if selector & SegmentSelector.withoutRPL == 0 {
            guard index != 1 && index != 2 else { throw .fault(.invalidTSS, 0) }  // null CS or SS: #TS
            put(rightsField, Self.unusableRights)
            return
        }
        guard let address = descriptorAddress(selector), let descriptor = readDescriptor(address) else {
            throw .fault(.invalidTSS, errorCode)
        }
        let type = (descriptor >> 40) & 0xF, system = (descriptor >> 44) & 1 == 0
        let dpl = (descriptor >> 45) & 3, present = (descriptor >> 47) & 1 != 0, rpl = selector & 3
        let code = type & 8 != 0, conforming = code && type & 4 != 0
        switch index {
        case 1:  // CS: code; non-conforming DPL = RPL, conforming DPL <= RPL
            guard !system, code, conforming ? dpl <= rpl : dpl == rpl else { throw .fault(.invalidTSS, errorCode) }
            guard present else { throw .fault(.segmentNotPresent, errorCode) }
        case 2:  // SS: writable data, DPL = RPL = CPL
            guard !system, !code, type & 2 != 0, dpl == cpl, rpl == cpl else { throw .fault(.invalidTSS, errorCode) }
            guard present else { throw .fault(.stackSegmentFault, errorCode) }
        default:  // data or readable code; DPL >= CPL and RPL unless conforming code
            guard !system, !code || type & 2 != 0, conforming || dpl >= max(cpl, rpl) else {
                throw .fault(.invalidTSS, errorCode)
            }
            guard present else { throw .fault(.segmentNotPresent, errorCode) }
        }
        if type & 1 == 0 { _ = writeGuest32(address &+ 4, (descriptor | SegmentDescriptor.accessed) >> 32) }
        put(baseField, SegmentDescriptor(rawValue: descriptor).base)
        put(limitField, SegmentDescriptor(rawValue: descriptor).limit)
        put(rightsField, Self.accessRights(descriptor | SegmentDescriptor.accessed))
    }

    /// The new task's TSS descriptor and the 104 bytes of its 32-bit TSS (SDM Vol. 3A 7.2.1,
    /// Figure 7-2).
    struct NewTaskState {
        var address: UInt64
        var descriptor: UInt64
        var base: UInt64
        var limit: UInt64
        var image: [UInt8]

        /// The 32-bit field at `offset` of the TSS.
        func field(_ offset: Int) -> UInt64 {
            UInt64(image[offset]) | UInt64(image[offset + 1]) << 8 | UInt64(image[offset + 2]) << 16
                | UInt64(image[offset + 3]) << 24
        }
    }

    /// The switch itself, in the steps of SDM Vol. 3A 7.3; a thrown failure before `committed`
    /// leaves the old task as it was.
    func switchTask(
        to selector: UInt64, source: TaskSwitchSource, exit: ExitContext,
        vectoring: InterruptionInformation, committed: inout Bool
    ) throws(TaskSwitchFailure) {
        let new = try checkNewTSS(selector, source: source)
        let oldSelector = try saveOldTaskState(source: source, exit: exit, vectoring: vectoring)
        let newFlags = markTaskBusyAndLinked(new, source: source, oldSelector: oldSelector)
        committed = true
        try loadNewTaskRegisters(new, selector: selector, flags: newFlags)
        try loadNewTaskSegments(new)
        finishTaskSwitch(source: source, vectoring: vectoring)
    }

    /// Steps 2-4 (SDM Vol. 3A 7.3, Table 7-1): the new TSS descriptor in the GDT, available for
    /// CALL, JMP and task gates (busy for IRET), its DPL for CALL and JMP, present, a limit of at
    /// least 67H, and the TSS readable; #GP (#TS for IRET), #NP or #TS with the selector.
    func checkNewTSS(_ selector: UInt64, source: TaskSwitchSource) throws(TaskSwitchFailure) -> NewTaskState {
        let errorCode = UInt32(selector & SegmentSelector.withoutRPL)
        let badSelector: ExceptionVector = source == .iret ? .invalidTSS : .generalProtection
        guard selector & SegmentSelector.tableIndicator == 0, let newAddress = descriptorAddress(selector),
            let newDescriptor = readDescriptor(newAddress)
        else { throw .fault(badSelector, errorCode) }
        let descriptor = SegmentDescriptor(rawValue: newDescriptor)
        let type = descriptor.typeAndS
        if type == SystemDescriptorType.availableTSS16 || type == SystemDescriptorType.busyTSS16 {
            throw .unsupported("a 16-bit TSS")
        }
        let expected = source == .iret ? SystemDescriptorType.busyTSS32 : SystemDescriptorType.availableTSS32
        guard type == expected else { throw .fault(badSelector, errorCode) }
        if source == .call || source == .jmp {
            let dpl = UInt64(descriptor.dpl)
            guard selector & SegmentSelector.rplMask <= dpl && UInt64(currentPrivilegeLevel) <= dpl else {
                throw .fault(.generalProtection, errorCode)
            }
        }
        guard descriptor.isPresent else { throw .fault(.segmentNotPresent, errorCode) }
        let newLimit = descriptor.limit
        guard newLimit >= UInt64(TaskStateSegment32.size - 1) else { throw .fault(.invalidTSS, errorCode) }
        let newBase = descriptor.base
        guard let image = readGuest(linear: newBase, count: TaskStateSegment32.size) else {
            throw .fault(.invalidTSS, errorCode)
        }
        let new = NewTaskState(
            address: newAddress, descriptor: newDescriptor, base: newBase, limit: newLimit,
            image: image)
        if new.field(TaskStateSegment32.eflags) & RFLAGS.vm.rawValue != 0 {
            throw .unsupported("a new task in virtual-8086 mode")
        }
        return new
    }

    /// Step 7 (SDM Vol. 3A 7.3): EIP (past the instruction, or of the interrupted one for an
    /// event through a task gate), EFLAGS (NT cleared for IRET), EAX-EDI and the ES-GS selectors
    /// into the current TSS at 20H-5CH. Returns the current TSS's selector.
    func saveOldTaskState(
        source: TaskSwitchSource, exit: ExitContext,
        vectoring: InterruptionInformation
    ) throws(TaskSwitchFailure) -> UInt64 {
        let oldSelector = read(.guestTRSelector), oldBase = read(.guestTRBase)
        if read(.guestTRAccessRights) & 0xF != UInt64(SystemDescriptorType.busyTSS32) {
            throw .unsupported("a 16-bit current TSS")
        }
        var eip = exit.rip
        if source != .idtGate || vectoring.type == .softwareInterrupt || vectoring.type == .softwareException
            || vectoring.type == .privilegedSoftwareException
        {
            eip &+= read(.vmExitInstructionLength)
        }
        var flags = read(.guestRFLAGS)
        if source == .iret { flags &= ~taskNestedFlag }
        // EIP, EFLAGS, EAX-EDI (ESP from the VMCS), ES-GS selectors at 20H-5CH.
        for index in 0..<16 {
            let value: UInt64
            switch index {
            case 0: value = eip
            case 1: value = flags
            case 6: value = read(.guestRSP)
            case 2...9: value = registers[index - 2]
            default: value = read(Self.segmentField(.guestESSelector, index - 10))
            }
            let offset = UInt64(TaskStateSegment32.eip) &+ UInt64(index) * 4
            guard writeGuest32(oldBase &+ offset, value & 0xFFFF_FFFF) else {
                throw .fault(.invalidTSS, UInt32(oldSelector & SegmentSelector.withoutRPL))
            }
        }
        return oldSelector
    }

    /// Steps 6, 8 and 9 (SDM Vol. 3A 7.3, 7.4): the old TSS's busy flag cleared for JMP and
    /// IRET; for CALL and a task gate the new TSS's back link set to the old one and NT set in
    /// the new EFLAGS; the new TSS's busy flag set unless IRET returns to it. Returns the new
    /// task's EFLAGS.
    func markTaskBusyAndLinked(_ new: NewTaskState, source: TaskSwitchSource, oldSelector: UInt64) -> UInt64 {
        if source == .jmp || source == .iret, let oldAddress = descriptorAddress(oldSelector),
            let old = readDescriptor(oldAddress)
        {
            _ = writeGuest32(oldAddress &+ 4, (old & ~SegmentDescriptor.busy) >> 32)
        }
        var newFlags = new.field(TaskStateSegment32.eflags) | RFLAGS.alwaysOne.rawValue
        if source == .call || source == .idtGate {
            _ = writeGuest(linear: new.base, bytes: [UInt8(oldSelector & 0xFF), UInt8(oldSelector >> 8)])
            newFlags |= taskNestedFlag
        }
        if source != .iret { _ = writeGuest32(new.address &+ 4, (new.descriptor | SegmentDescriptor.busy) >> 32) }
        return newFlags
    }

    /// Steps 10-12 (SDM Vol. 3A 7.3), after the commit: TR, CR0.TS, CR3 (with the PDPTEs under
    /// PAE paging, SDM Vol. 3A 4.4.1), EFLAGS, EIP and the general-purpose registers.
    func loadNewTaskRegisters(_ new: NewTaskState, selector: UInt64, flags: UInt64) throws(TaskSwitchFailure) {
        put(.guestTRSelector, selector)
        put(.guestTRBase, new.base)
        put(.guestTRLimit, new.limit)
        put(.guestTRAccessRights, Self.accessRights(new.descriptor | SegmentDescriptor.busy))
        put(.guestCR0, read(.guestCR0) | ControlRegister0.ts.rawValue)
        let cr0 = read(.guestCR0)
        if cr0 & ControlRegister0.pg.rawValue != 0 {
            let cr3 = new.field(TaskStateSegment32.cr3)
            if Self.usesPAEPaging(cr0: cr0, cr4: read(.guestCR4), efer: guestEFER),
                loadPDPTEs(cr3: cr3, for: "task switch") != nil
            {
                throw .unsupported("a new task's CR3 with bad PDPTEs")
            }
            put(.guestCR3, cr3)
            if setup.usesVPID, let type = setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }
        }
        put(.guestRFLAGS, flags)
        put(.guestRIP, new.field(TaskStateSegment32.eip))
        for number in 0..<8 where number != 4 { registers[number] = new.field(TaskStateSegment32.eax + number * 4) }
        put(.guestRSP, new.field(TaskStateSegment32.esp))
    }

    /// Step 12 (SDM Vol. 3A 7.3, Table 7-1): LDTR (a null selector makes it unusable), then the
    /// segment registers with their descriptor checks, CS first for the new CPL. A fault on CS
    /// or SS is not emulated; a fault on another leaves that segment unusable.
    func loadNewTaskSegments(_ new: NewTaskState) throws(TaskSwitchFailure) {
        let ldt = new.field(TaskStateSegment32.ldtSelector) & 0xFFFF
        put(.guestLDTRSelector, ldt)
        if ldt & SegmentSelector.withoutRPL == 0 {
            put(.guestLDTRAccessRights, Self.unusableRights)
        } else {
            let ldtError = UInt32(ldt & SegmentSelector.withoutRPL)
            guard ldt & SegmentSelector.tableIndicator == 0, let address = descriptorAddress(ldt),
                let raw = readDescriptor(address),
                SegmentDescriptor(rawValue: raw).typeAndS == SystemDescriptorType.ldt
            else { throw .fault(.invalidTSS, ldtError) }
            let descriptor = SegmentDescriptor(rawValue: raw)
            guard descriptor.isPresent else { throw .fault(.segmentNotPresent, ldtError) }
            put(.guestLDTRBase, descriptor.base)
            put(.guestLDTRLimit, descriptor.limit)
            put(.guestLDTRAccessRights, descriptor.accessRights)
        }
        let cs = new.field(TaskStateSegment32.cs) & 0xFFFF, cpl = cs & SegmentSelector.rplMask
        do throws(TaskSwitchFailure) {
            try loadTaskSegment(1, cs, cpl: cpl)
            try loadTaskSegment(2, new.field(TaskStateSegment32.ss) & 0xFFFF, cpl: cpl)
        } catch {
            throw .unsupported("a fault loading the new task's CS or SS")
        }
        for index in 0..<6 where index != 1 && index != 2 {
            do throws(TaskSwitchFailure) {
                try loadTaskSegment(index, new.field(TaskStateSegment32.es + index * 4) & 0xFFFF, cpl: cpl)
            } catch {
                // The fault is the new task's; the segment stays unusable until it is reloaded.
                put(Self.segmentRightsField(index), Self.unusableRights)
                throw error
            }
        }
    }

    /// Step 13 (SDM Vol. 3A 7.3): DR7's local breakpoint enables (L0-L3, LE) end with the task;
    /// an exception delivered through a task gate pushes its error code on the new stack
    /// (SDM 6.12.2), and an NMI so delivered blocks further NMIs.
    func finishTaskSwitch(source: TaskSwitchSource, vectoring: InterruptionInformation) {
        put(.guestDR7, read(.guestDR7) & ~DebugRegister7.localEnables)
        if source == .idtGate && vectoring.hasErrorCode {
            let esp = (read(.guestRSP) &- 4) & 0xFFFF_FFFF
            _ = writeGuest32(read(.guestSSBase) &+ esp, read(.idtVectoringErrorCode))
            put(.guestRSP, esp)
        }
        if source == .idtGate && vectoring.type == .nonMaskableInterrupt {
            put(.guestInterruptibilityState, read(.guestInterruptibilityState) | GuestInterruptibility.blockingByNMI)
        }
    }
}

public func handleTaskSwitch<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let selector = exit.qualification & 0xFFFF
    let source = TaskSwitchSource(rawValue: (exit.qualification >> 30) & 3) ?? .call
    let vectoring = InterruptionInformation(rawValue: UInt32(truncatingIfNeeded: vcpu.read(.idtVectoringInformation)))
    var committed = false
    do throws(TaskSwitchFailure) {
        try vcpu.switchTask(
            to: selector, source: source, exit: exit,
            vectoring: source == .idtGate ? vectoring : InterruptionInformation(rawValue: 0),
            committed: &committed)
    } catch {
        switch error {
        case .unsupported(let what):
            vcpu.cpu.log(
                """
                guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \
                \(hex: exit.rip): \(what) is not emulated
                """
            )
            return .stop(.emulationFailure)
        case .fault(let vector, let code):
            if source == .idtGate && !committed {
                vcpu.cpu.log(
                    """
                    guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \
                    \(hex: exit.rip): a fault while delivering an event through a task gate is not emulated
                    """
                )
                return .stop(.emulationFailure)
            }
            vcpu.cpu.log(
                """
                guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \
                \(hex: exit.rip): exception \(hex: vector.rawValue) (error code \(hex: code)) injected
                """
            )
            vcpu.injectException(vector: vector, errorCode: code)
            return .resume
        }
    }
    let blocking = GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS
    let interruptibility = vcpu.read(.guestInterruptibilityState)
    if interruptibility & blocking != 0 { vcpu.put(.guestInterruptibilityState, interruptibility & ~blocking) }
    return .resume
}
