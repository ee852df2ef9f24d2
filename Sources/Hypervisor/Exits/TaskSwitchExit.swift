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
let taskNestedFlag: UInt64 = 1 << 14

/// Why a task switch cannot go on: a fault for the guest (vector, error code), or a stop.
enum TaskSwitchFailure: Error {
    case fault(ExceptionVector, UInt32)
    case unsupported(StaticString)
}

extension VirtualCPU {
    /// VMWRITE outlined: a task switch writes some thirty fields, none of them on a hot path.
    @inline(never)
    func put(_ field: VMCSField, _ value: UInt64) { write(field, value) }

    /// The 8-byte descriptor for `selector` in the GDT (TI = 0) or the LDT (TI = 1), or nil
    /// when it lies beyond the table's limit or outside the guest's memory.
    func descriptorAddress(_ selector: UInt64) -> UInt64? {
        let ldt = selector & 4 != 0
        let base = read(ldt ? .guestLDTRBase : .guestGDTRBase)
        let limit = read(ldt ? .guestLDTRLimit : .guestGDTRLimit)
        if ldt && read(.guestLDTRAccessRights) & (1 << 16) != 0 { return nil }
        let offset = selector & 0xFFF8
        return offset + 7 <= limit ? base &+ offset : nil
    }

    func readGuest32(_ linear: UInt64) -> UInt64? {
        guard let bytes = readGuest(linear: linear, count: 4) else { return nil }
        return UInt64(bytes[0]) | UInt64(bytes[1]) << 8 | UInt64(bytes[2]) << 16 | UInt64(bytes[3]) << 24
    }

    func writeGuest32(_ linear: UInt64, _ value: UInt64) -> Bool {
        writeGuest(linear: linear, bytes: [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                                           UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)])
    }

    func readDescriptor(_ address: UInt64) -> UInt64? {
        guard let low = readGuest32(address), let high = readGuest32(address &+ 4) else { return nil }
        return low | high << 32
    }

    /// VMCS access rights of a descriptor: type, S, DPL, P (bits 7:0), AVL, L, D/B, G (15:12).
    static func accessRights(_ descriptor: UInt64) -> UInt64 {
        (descriptor >> 40) & 0xFF | ((descriptor >> 52) & 0xF) << 12
    }

    static func segmentRightsField(_ index: Int) -> VMCSField { VMCSField(rawValue: 0x4814 + UInt32(index) * 2) }

    /// Loads segment register `index` (ES, CS, SS, DS, FS, GS: 0-5) from `selector` with the
    /// checks of a task switch (SDM Vol. 3A Table 7-1), the accessed bit set.
    func loadTaskSegment(_ index: Int, _ selector: UInt64, cpl: UInt64) throws(TaskSwitchFailure) {
        // The guest-state fields of ES, CS, SS, DS, FS, GS differ by 2 in their encodings'
        // index (SDM Appendix B): selector 0800H, limit 4800H, access rights 4814H, base 6806H.
        let selectorField = VMCSField(rawValue: 0x0800 + UInt32(index) * 2)
        let limitField = VMCSField(rawValue: 0x4800 + UInt32(index) * 2)
        let rightsField = Self.segmentRightsField(index)
        let baseField = VMCSField(rawValue: 0x6806 + UInt32(index) * 2)
        let errorCode = UInt32(selector & 0xFFFC)
        put(selectorField, selector)
        if selector & 0xFFFC == 0 {
            guard index != 1 && index != 2 else { throw .fault(.invalidTSS, 0) }     // null CS or SS: #TS
            put(rightsField, 1 << 16)                                      // unusable
            return
        }
        guard let address = descriptorAddress(selector), let descriptor = readDescriptor(address) else {
            throw .fault(.invalidTSS, errorCode)
        }
        let type = (descriptor >> 40) & 0xF, system = (descriptor >> 44) & 1 == 0
        let dpl = (descriptor >> 45) & 3, present = (descriptor >> 47) & 1 != 0, rpl = selector & 3
        let code = type & 8 != 0, conforming = code && type & 4 != 0
        switch index {
        case 1:     // CS: code; non-conforming DPL = RPL, conforming DPL <= RPL
            guard !system, code, conforming ? dpl <= rpl : dpl == rpl else { throw .fault(.invalidTSS, errorCode) }
            guard present else { throw .fault(.segmentNotPresent, errorCode) }
        case 2:     // SS: writable data, DPL = RPL = CPL
            guard !system, !code, type & 2 != 0, dpl == cpl, rpl == cpl else { throw .fault(.invalidTSS, errorCode) }
            guard present else { throw .fault(.stackSegmentFault, errorCode) }
        default:    // data or readable code; DPL >= CPL and RPL unless conforming code
            guard !system, !code || type & 2 != 0, conforming || dpl >= max(cpl, rpl) else { throw .fault(.invalidTSS, errorCode) }
            guard present else { throw .fault(.segmentNotPresent, errorCode) }
        }
        if type & 1 == 0 { _ = writeGuest32(address &+ 4, (descriptor | 1 << 40) >> 32) }  // accessed
        let base = (descriptor >> 16) & 0xFF_FFFF | ((descriptor >> 56) & 0xFF) << 24
        var limit = descriptor & 0xFFFF | ((descriptor >> 48) & 0xF) << 16
        if (descriptor >> 55) & 1 != 0 { limit = limit << 12 | 0xFFF }
        put(baseField, base)
        put(limitField, limit)
        put(rightsField, Self.accessRights(descriptor | 1 << 40))
    }

    /// The switch itself; a thrown failure before `committed` leaves the old task as it was.
    func switchTask(to selector: UInt64, source: TaskSwitchSource, exit: ExitContext,
                    vectoring: InterruptionInformation, committed: inout Bool) throws(TaskSwitchFailure) {
        let errorCode = UInt32(selector & 0xFFFC)
        let badSelector: ExceptionVector = source == .iret ? .invalidTSS : .generalProtection
        // The new TSS descriptor (SDM 7.3 steps 2-4).
        guard selector & 4 == 0, let newAddress = descriptorAddress(selector),
              let newDescriptor = readDescriptor(newAddress) else { throw .fault(badSelector, errorCode) }
        let type = (newDescriptor >> 40) & 0x1F
        if type == 0x01 || type == 0x03 { throw .unsupported("a 16-bit TSS") }
        guard type == (source == .iret ? 0x0B : 0x09) else { throw .fault(badSelector, errorCode) }
        if source == .call || source == .jmp {
            let dpl = (newDescriptor >> 45) & 3
            guard selector & 3 <= dpl && UInt64(currentPrivilegeLevel) <= dpl else { throw .fault(.generalProtection, errorCode) }
        }
        guard (newDescriptor >> 47) & 1 != 0 else { throw .fault(.segmentNotPresent, errorCode) }
        var newLimit = newDescriptor & 0xFFFF | ((newDescriptor >> 48) & 0xF) << 16
        if (newDescriptor >> 55) & 1 != 0 { newLimit = newLimit << 12 | 0xFFF }
        guard newLimit >= 0x67 else { throw .fault(.invalidTSS, errorCode) }
        let newBase = (newDescriptor >> 16) & 0xFF_FFFF | ((newDescriptor >> 56) & 0xFF) << 24
        guard let image = readGuest(linear: newBase, count: 0x68) else { throw .fault(.invalidTSS, errorCode) }
        func field(_ offset: Int) -> UInt64 {
            UInt64(image[offset]) | UInt64(image[offset + 1]) << 8 | UInt64(image[offset + 2]) << 16 | UInt64(image[offset + 3]) << 24
        }
        if field(0x24) & RFLAGS.vm.rawValue != 0 { throw .unsupported("a new task in virtual-8086 mode") }

        // Save the old task's state (step 7).
        let oldSelector = read(.guestTRSelector), oldBase = read(.guestTRBase)
        if read(.guestTRAccessRights) & 0xF != 0xB { throw .unsupported("a 16-bit current TSS") }
        var eip = exit.rip
        if source != .idtGate || vectoring.type == .softwareInterrupt || vectoring.type == .softwareException
            || vectoring.type == .privilegedSoftwareException {
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
            default: value = read(VMCSField(rawValue: 0x0800 + UInt32(index - 10) * 2))
            }
            guard writeGuest32(oldBase &+ 0x20 &+ UInt64(index) * 4, value & 0xFFFF_FFFF) else {
                throw .fault(.invalidTSS, UInt32(oldSelector & 0xFFFC))
            }
        }
        // Busy flags and the back link (steps 6, 8, 9).
        if source == .jmp || source == .iret, let oldAddress = descriptorAddress(oldSelector),
           let old = readDescriptor(oldAddress) {
            _ = writeGuest32(oldAddress &+ 4, (old & ~(UInt64(1) << 41)) >> 32)
        }
        var newFlags = field(0x24) | RFLAGS.alwaysOne.rawValue
        if source == .call || source == .idtGate {
            _ = writeGuest(linear: newBase, bytes: [UInt8(oldSelector & 0xFF), UInt8(oldSelector >> 8)])
            newFlags |= taskNestedFlag
        }
        if source != .iret { _ = writeGuest32(newAddress &+ 4, (newDescriptor | 1 << 41) >> 32) }

        // Commit: TR, CR0.TS (steps 10, 11).
        committed = true
        put(.guestTRSelector, selector)
        put(.guestTRBase, newBase)
        put(.guestTRLimit, newLimit)
        put(.guestTRAccessRights, Self.accessRights(newDescriptor | 1 << 41))
        put(.guestCR0, read(.guestCR0) | ControlRegister0.ts.rawValue)
        // CR3, with the PDPTEs under PAE paging (step 12).
        let cr0 = read(.guestCR0)
        if cr0 & ControlRegister0.pg.rawValue != 0 {
            let cr3 = field(0x1C)
            if Self.usesPAEPaging(cr0: cr0, cr4: read(.guestCR4), efer: guestEFER),
               loadPDPTEs(cr3: cr3, for: "task switch") != nil { throw .unsupported("a new task's CR3 with bad PDPTEs") }
            put(.guestCR3, cr3)
            if setup.usesVPID, let type = setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }
        }
        // EFLAGS, EIP, general-purpose registers.
        put(.guestRFLAGS, newFlags)
        put(.guestRIP, field(0x20))
        for number in 0..<8 where number != 4 { registers[number] = field(0x28 + number * 4) }
        put(.guestRSP, field(0x38))
        // LDTR (null: unusable), then the segment registers, CS first for the CPL.
        let ldt = field(0x60) & 0xFFFF
        put(.guestLDTRSelector, ldt)
        if ldt & 0xFFFC == 0 {
            put(.guestLDTRAccessRights, 1 << 16)
        } else {
            guard ldt & 4 == 0, let address = descriptorAddress(ldt), let descriptor = readDescriptor(address),
                  (descriptor >> 40) & 0x1F == 0x02 else { throw .fault(.invalidTSS, UInt32(ldt & 0xFFFC)) }
            guard (descriptor >> 47) & 1 != 0 else { throw .fault(.segmentNotPresent, UInt32(ldt & 0xFFFC)) }
            put(.guestLDTRBase, (descriptor >> 16) & 0xFF_FFFF | ((descriptor >> 56) & 0xFF) << 24)
            var limit = descriptor & 0xFFFF | ((descriptor >> 48) & 0xF) << 16
            if (descriptor >> 55) & 1 != 0 { limit = limit << 12 | 0xFFF }
            put(.guestLDTRLimit, limit)
            put(.guestLDTRAccessRights, Self.accessRights(descriptor))
        }
        let cs = field(0x4C) & 0xFFFF, cpl = cs & 3
        do throws(TaskSwitchFailure) {
            try loadTaskSegment(1, cs, cpl: cpl)
            try loadTaskSegment(2, field(0x50) & 0xFFFF, cpl: cpl)
        } catch {
            throw .unsupported("a fault loading the new task's CS or SS")
        }
        for index in 0..<6 where index != 1 && index != 2 {
            do throws(TaskSwitchFailure) {
                try loadTaskSegment(index, field(0x48 + index * 4) & 0xFFFF, cpl: cpl)
            } catch {
                // The fault is the new task's; the segment stays unusable until it is reloaded.
                put(Self.segmentRightsField(index), 1 << 16)
                throw error
            }
        }
        // Local breakpoints end with the task (step 13: DR7 L0-L3, LE).
        put(.guestDR7, read(.guestDR7) & ~0x155)
        // An exception delivered through the task gate pushes its error code on the new stack.
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
        try vcpu.switchTask(to: selector, source: source, exit: exit, vectoring: source == .idtGate ? vectoring : InterruptionInformation(rawValue: 0),
                            committed: &committed)
    } catch {
        switch error {
        case .unsupported(let what):
            vcpu.cpu.log("guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \(hex: exit.rip): \(what) is not emulated")
            return .stop(.emulationFailure)
        case .fault(let vector, let code):
            if source == .idtGate && !committed {
                vcpu.cpu.log("guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \(hex: exit.rip): a fault while delivering an event through a task gate is not emulated")
                return .stop(.emulationFailure)
            }
            vcpu.cpu.log("guest \(vcpu.name): task switch to TSS selector \(hex: selector, digits: 4) at RIP \(hex: exit.rip): exception \(hex: vector.rawValue) (error code \(hex: code)) injected")
            vcpu.injectException(vector: vector, errorCode: code)
            return .resume
        }
    }
    let blocking = GuestInterruptibility.blockingBySTI | GuestInterruptibility.blockingByMovSS
    let interruptibility = vcpu.read(.guestInterruptibilityState)
    if interruptibility & blocking != 0 { vcpu.put(.guestInterruptibilityState, interruptibility & ~blocking) }
    return .resume
}
