// Events in the guest: exceptions and interrupts either cause a VM exit (the exception bitmap
// with the page-fault error-code mask and match, SDM 26.2; NMI exiting) or are delivered
// through the guest's IDT, which Unicorn does not do, so the emulated CPU does it (SDM Vol. 3A
// 6.12 protected mode, 6.14 IA-32e mode, 21.1.4 real-address mode), including the faults of
// delivery itself, double faults and the triple fault that always exits (SDM 26.2). An exit
// during delivery records the event in the IDT-vectoring information (SDM 28.2.4). Event
// injection on VM entry delivers through the same path without consulting the exception
// bitmap for the injected event itself (SDM 27.6.1).
import CUnicorn
import VMX

extension GuestExecution {
    /// What delivering one event through the IDT came to.
    enum DeliveryResult {
        case delivered
        /// An exception while delivering (SDM 6.15: #GP, #NP, #SS, #TS, #PF).
        case exception(PendingEvent)
        case vmExit(ExitInformation)
    }

    /// The VM-entry event to inject, when the VM-entry interruption-information field is valid.
    func entryEvent() -> PendingEvent? {
        let information = VMEntryInterruptionInformation(
            rawValue: UInt32(truncatingIfNeeded: cpu.currentVMCSFieldValue(.vmEntryInterruptionInformation)))
        guard information.isValid else { return nil }
        var event = PendingEvent(vector: information.vector, type: information.type)
        if information.deliversErrorCode {
            event.errorCode = UInt32(truncatingIfNeeded: cpu.currentVMCSFieldValue(.vmEntryExceptionErrorCode))
        }
        event.instructionLength = Int(cpu.currentVMCSFieldValue(.vmEntryInstructionLength))
        return event
    }

    /// Raises `event` in the guest: a VM exit when the controls say so, else delivery through
    /// the IDT with the nested-exception rules (SDM 6.15 Table 6-5). Returns the VM exit, or nil
    /// when the event was delivered and the guest goes on.
    func deliver(_ event: PendingEvent, injected: Bool) -> ExitInformation? {
        var current = event
        var skipBitmap = injected
        var interrupted: PendingEvent?
        let causedByInstruction =
            !injected && current.type != .externalInterrupt && current.type != .nonMaskableInterrupt
        inFlight = nil
        while true {
            if !skipBitmap, var exit = exitForEvent(current) {
                exit.vectoring = interrupted
                return exit
            }
            skipBitmap = false
            switch deliverThroughIDT(current) {
            case .delivered:
                activityState = 0
                if current.type == .nonMaskableInterrupt { blockingByNMI = true }
                if (causedByInstruction || injected) && controls.primary.contains(.monitorTrapFlag) {
                    mtfPending = true
                }
                mode.stale = true
                fetchCache = nil
                engine.flushTranslations()
                return nil
            case .vmExit(var exit):
                exit.vectoring = current
                return exit
            case .exception(let next):
                // A fault while delivering `current` exits by its own bit in the exception
                // bitmap (SDM 28.2.4: "a fault occurs during event delivery and causes a VM exit
                // because the bit associated with the fault is set"), before it could combine
                // into a double fault or, delivering one, a triple fault (SDM 6.15, Table 6-5).
                if var exit = exitForEvent(next) {
                    exit.vectoring = current
                    return exit
                }
                if current.vector == 8 && current.type == .hardwareException {
                    return ExitInformation(reason: .tripleFault)
                }
                let firstClass = Self.exceptionClass(current), secondClass = Self.exceptionClass(next)
                let doubleFault =
                    (firstClass == .contributory && secondClass == .contributory)
                    || (firstClass == .pageFault && secondClass != .benign)
                // A double fault that exits directly is not an exit during event delivery
                // (SDM 28.2.4): its IDT-vectoring information stays invalid.
                interrupted = doubleFault ? nil : current
                current = doubleFault ? PendingEvent(vector: 8, type: .hardwareException, errorCode: 0) : next
            }
        }
    }

    enum ExceptionClass { case benign, contributory, pageFault }

    /// SDM Vol. 3A Table 6-4: #DE, #TS, #NP, #SS, #GP contributory; #PF its own class; the rest
    /// (and every interrupt) benign.
    static func exceptionClass(_ event: PendingEvent) -> ExceptionClass {
        guard event.type == .hardwareException else { return .benign }
        switch event.vector {
        case 0, 10, 11, 12, 13: return .contributory
        case 14: return .pageFault
        default: return .benign
        }
    }

    /// The VM exit an event causes, if any (SDM 26.2): an exception whose bit is set in the
    /// exception bitmap (for #PF, bit 14 compared with the error-code mask and match), an NMI
    /// with "NMI exiting". External interrupts exit on the instruction boundary, not here.
    func exitForEvent(_ event: PendingEvent) -> ExitInformation? {
        switch event.type {
        case .hardwareException, .softwareException, .privilegedSoftwareException:
            let bitSet = controls.exceptionBitmap & (1 << UInt32(event.vector & 31)) != 0
            let exits: Bool
            if event.vector == 14 {
                let matches =
                    (event.errorCode ?? 0) & controls.pageFaultErrorCodeMask == controls.pageFaultErrorCodeMatch
                exits = bitSet == matches
            } else {
                exits = event.vector < 32 && bitSet
            }
            guard exits else { return nil }
        case .nonMaskableInterrupt:
            guard controls.pinBased.contains(.nmiExiting) else { return nil }
        default:
            return nil
        }
        var exit = ExitInformation(reason: .exceptionOrNMI)
        exit.interruptionInformation = event.interruptionInformation
        exit.interruptionErrorCode = event.errorCode
        if event.vector == 14 && event.type == .hardwareException { exit.qualification = event.faultAddress ?? 0 }
        if event.vector == 1 { exit.qualification = event.debugBits ?? 0 }
        if event.type == .softwareException || event.type == .privilegedSoftwareException {
            exit.instructionLength = event.instructionLength
        }
        return exit
    }

    /// An exception Unicorn raised while executing an instruction.
    func unicornException(vector: UInt8) -> ExitInformation? {
        // The exception is the emulated CPU's to deliver from here on.
        engine.loadContext()
        engine.clearExceptionInFlight()
        engine.storeContext()
        switch vector {
        case 1:
            // A debug trap (RFLAGS.TF single step, data breakpoint): after the instruction.
            retireInFlight()
            let dr6 = engine.read(UC_X86_REG_DR6)
            return deliver(
                PendingEvent(vector: 1, type: .hardwareException, debugBits: dr6 & Self.debugTrapBits), injected: false)
        case 8, 10, 11, 12, 13, 14, 17, 21:
            return deliver(
                PendingEvent(vector: vector, type: .hardwareException, errorCode: engine.errorCode), injected: false)
        case 0...31:
            return deliver(PendingEvent(vector: vector, type: .hardwareException), injected: false)
        default:
            // A software interrupt Unicorn executed itself: the emulated CPU decodes INT n
            // before Unicorn sees it, so this is not expected.
            cpu.reportGuestExecutionProblem("Unicorn raised interrupt \(vector) itself")
            return ExitInformation(reason: Self.emulationLimitReason)
        }
    }

    // MARK: Delivery through the IDT

    /// A step of delivery that either yields a value or ends delivery with `DeliveryResult`.
    enum DeliveryStep<Value> {
        case proceed(Value)
        case stop(DeliveryResult)
    }

    /// Delivers `event` through the guest's IDT (or IVT in real-address mode), in the steps of
    /// SDM Vol. 3A 6.12.1 (6.14 in IA-32e mode): read and check the gate, check the handler's
    /// code segment, choose the stack, push the interrupted state, enter the handler.
    func deliverThroughIDT(_ event: PendingEvent) -> DeliveryResult {
        if mode.stale { refreshMode() }
        let cr0 = mode.cr0
        let rflags = engine.read(UC_X86_REG_RFLAGS)
        let software =
            event.type == .softwareInterrupt || event.type == .softwareException
            || event.type == .privilegedSoftwareException
        var rip = engine.read(UC_X86_REG_RIP)
        if software { rip &+= UInt64(event.instructionLength) }
        // The EXT bit of a delivery fault's error code: set unless a software interrupt or
        // exception is being delivered (SDM 6.13).
        let ext: UInt32 = (event.type == .softwareInterrupt || event.type == .softwareException) ? 0 : 1
        let idtr = engine.readTable(UC_X86_REG_IDTR)
        if event.vector == 14, let address = event.faultAddress { engine.write(UC_X86_REG_CR2, address) }

        if cr0 & ControlRegister0.pe.rawValue == 0 {
            return deliverRealMode(event, idtr: idtr, rip: rip, rflags: rflags)
        }
        if rflags & RFLAGS.vm.rawValue != 0 {
            cpu.reportGuestExecutionProblem("event delivery in virtual-8086 mode is not modelled")
            return .vmExit(ExitInformation(reason: Self.emulationLimitReason))
        }
        let longMode = mode.efer & ExtendedFeatureEnable.lma.rawValue != 0
        let gate: InterruptGate
        switch readInterruptGate(event, idtr: idtr, longMode: longMode, ext: ext) {
        case .proceed(let value): gate = value
        case .stop(let result): return result
        }
        let codeDescriptor: SegmentDescriptor
        switch handlerCodeSegment(gate, longMode: longMode, ext: ext) {
        case .proceed(let descriptor): codeDescriptor = descriptor
        case .stop(let result): return result
        }
        let newCPL = codeDescriptor.conforming ? mode.cpl : codeDescriptor.dpl
        engine.loadContext()
        let oldCS = engine.segment(.cs)
        let oldSS = engine.segment(.ss)
        let oldRSP = engine.read(UC_X86_REG_RSP)
        let stackSwitch = newCPL < mode.cpl
        let stack: (ss: SegmentCache, rsp: UInt64)
        let stackStep =
            longMode
            ? handlerStack64(gate, newCPL: newCPL, oldSS: oldSS, oldRSP: oldRSP)
            : handlerStack32(newCPL: newCPL, oldSS: oldSS, oldRSP: oldRSP, ext: ext)
        switch stackStep {
        case .proceed(let value): stack = value
        case .stop(let result): return result
        }

        // What goes on the stack (SDM Figures 6-4 and 6-9).
        var pushes: [UInt64] = []
        if longMode || stackSwitch {
            pushes += [UInt64(oldSS.selector), oldRSP]
        }
        pushes += [rflags, UInt64(oldCS.selector), rip]
        if let errorCode = event.errorCode { pushes.append(UInt64(errorCode)) }
        let stackPointer: UInt64
        switch pushInterruptFrame(pushes, stack: stack, gate: gate, longMode: longMode, newCPL: newCPL) {
        case .proceed(let value): stackPointer = value
        case .stop(let result): return result
        }
        var offset = gate.offset
        if !longMode && !gate.is32Bit { offset &= 0xFFFF }
        if longMode && !cpu.isCanonical(offset) {
            return .exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: 0))
        }
        enterHandler(
            gate, codeSegment: codeDescriptor.cache(selector: gate.selector & ~3 | UInt16(newCPL)),
            stackSegment: stack.ss, longMode: longMode, rflags: rflags, rsp: stackPointer, rip: offset)
        return .delivered
    }

    /// The fields of an interrupt, trap or task gate (SDM Vol. 3A 6.11, Figure 6-2; 6.14.1,
    /// Figure 6-8 for the 16-byte IA-32e form).
    struct InterruptGate {
        /// The gate type (bits 3:0 of byte 5): 5 task gate, 6/7 16-bit interrupt/trap gate,
        /// 14/15 32-bit (or 64-bit) interrupt/trap gate.
        var type: UInt8
        var dpl: UInt8
        var present: Bool
        /// The handler's code-segment selector.
        var selector: UInt16
        /// The handler's entry point.
        var offset: UInt64
        /// The interrupt-stack-table index (IA-32e mode; 0 for none).
        var ist: Int
        /// An interrupt gate (IF cleared on entry) rather than a trap gate.
        var isInterruptGate: Bool { type & 1 == 0 }
        /// A 32-bit gate (type bit 3, D): pushes in 4-byte units and keeps a 32-bit offset.
        var is32Bit: Bool { type & 8 != 0 }
    }

    /// Step 1 (SDM Vol. 3A 6.12.1.1, 6.14.1): reads the gate for `event` from the IDT and checks
    /// that it lies within the IDT limit, is of a type allowed in this mode, has a DPL the
    /// software interrupt may use and is present. A task gate is a task switch, which always
    /// causes a VM exit (SDM 26.1.2).
    func readInterruptGate(
        _ event: PendingEvent, idtr: uc_x86_mmr, longMode: Bool,
        ext: UInt32
    ) -> DeliveryStep<InterruptGate> {
        let gateSize: UInt64 = longMode ? 16 : 8
        let idtError = UInt32(event.vector) * 8 + 2 + ext
        guard UInt64(event.vector) * gateSize + gateSize - 1 <= UInt64(idtr.limit) else {
            return .stop(.exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: idtError)))
        }
        let bytes: [UInt8]
        switch readSystem(idtr.base &+ UInt64(event.vector) * gateSize, count: Int(gateSize)) {
        case .success(let value): bytes = value
        case .failure(let result): return .stop(result)
        }
        var gate = InterruptGate(
            type: bytes[5] & 0x1F, dpl: (bytes[5] >> 5) & 3, present: bytes[5] & 0x80 != 0,
            selector: UInt16(bytes[2]) | UInt16(bytes[3]) << 8,
            offset: UInt64(bytes[0]) | UInt64(bytes[1]) << 8 | UInt64(bytes[6]) << 16 | UInt64(bytes[7]) << 24,
            ist: longMode ? Int(bytes[4] & 7) : 0)
        if longMode {
            gate.offset |=
                UInt64(bytes[8]) << 32 | UInt64(bytes[9]) << 40 | UInt64(bytes[10]) << 48
                | UInt64(bytes[11]) << 56
            guard gate.type == SystemDescriptorType.interruptGate32 || gate.type == SystemDescriptorType.trapGate32
            else {
                return .stop(.exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: idtError)))
            }
        } else {
            if gate.type == SystemDescriptorType.taskGate {
                let source = TaskSwitchQualification.sourceTaskGate << TaskSwitchQualification.sourceShift
                let qualification = UInt64(gate.selector) | source
                return .stop(.vmExit(ExitInformation(reason: .taskSwitch, qualification: qualification)))
            }
            guard
                gate.type == SystemDescriptorType.interruptGate16 || gate.type == SystemDescriptorType.trapGate16
                    || gate.type == SystemDescriptorType.interruptGate32 || gate.type == SystemDescriptorType.trapGate32
            else {
                return .stop(.exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: idtError)))
            }
        }
        // INT n, INT3 and INTO check the gate's DPL against CPL (SDM 6.12.1.1).
        if (event.type == .softwareInterrupt || event.type == .softwareException) && gate.dpl < mode.cpl {
            return .stop(
                .exception(
                    PendingEvent(
                        vector: 13, type: .hardwareException,
                        errorCode: UInt32(event.vector) * 8 + 2)))
        }
        guard gate.present else {
            return .stop(.exception(PendingEvent(vector: 11, type: .hardwareException, errorCode: idtError)))
        }
        return .proceed(gate)
    }

    /// Step 2 (SDM Vol. 3A 6.12.1, 6.14.2): the gate's selector must name a present code segment
    /// with DPL <= CPL (a 64-bit one in IA-32e mode); #GP or #NP with the selector otherwise.
    func handlerCodeSegment(_ gate: InterruptGate, longMode: Bool, ext: UInt32) -> DeliveryStep<SegmentDescriptor> {
        guard gate.selector & ~3 != 0 else {
            return .stop(.exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: ext)))
        }
        let codeDescriptor: SegmentDescriptor
        switch readDescriptor(gate.selector, ext: ext) {
        case .success(let descriptor): codeDescriptor = descriptor
        case .failure(let result): return .stop(result)
        }
        let selectorError = UInt32(gate.selector & ~3) + ext
        guard codeDescriptor.isCode, codeDescriptor.dpl <= mode.cpl,
            !longMode || (codeDescriptor.long && !codeDescriptor.defaultBig)
        else { return .stop(.exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: selectorError))) }
        guard codeDescriptor.present else {
            return .stop(.exception(PendingEvent(vector: 11, type: .hardwareException, errorCode: selectorError)))
        }
        return .proceed(codeDescriptor)
    }

    /// Step 3 in IA-32e mode (SDM Vol. 3A 6.14.4, 6.14.5): the RSP for the new privilege level
    /// or the gate's interrupt-stack-table entry from the 64-bit TSS, SS a null selector with
    /// the new CPL on a privilege change, and the stack aligned to 16 bytes.
    func handlerStack64(
        _ gate: InterruptGate, newCPL: UInt8, oldSS: SegmentCache,
        oldRSP: UInt64
    ) -> DeliveryStep<(ss: SegmentCache, rsp: UInt64)> {
        var newSS = oldSS
        var rsp = oldRSP
        let tr = engine.readTable(UC_X86_REG_TR)
        let stackSwitch = newCPL < mode.cpl
        if gate.ist != 0 || stackSwitch {
            let field = gate.ist != 0 ? 36 + 8 * (gate.ist - 1) : 4 + 8 * Int(newCPL)
            switch readSystem(tr.base &+ UInt64(field), count: 8) {
            case .success(let bytes):
                rsp = bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            case .failure(let result): return .stop(result)
            }
        }
        if stackSwitch {
            newSS = SegmentCache(selector: UInt16(newCPL), base: 0, limit: 0, flags: UInt32(newCPL) << 13)
        }
        rsp &= ~0xF
        return .proceed((newSS, rsp))
    }

    /// Step 3 in protected mode (SDM Vol. 3A 6.12.1, "stack switch"): on a privilege change,
    /// SS:ESP for the new CPL from the 32-bit (or 16-bit) TSS, checked as a writable data segment
    /// with RPL = DPL = the new CPL (#TS, or #SS when not present); the current stack otherwise.
    func handlerStack32(
        newCPL: UInt8, oldSS: SegmentCache, oldRSP: UInt64,
        ext: UInt32
    ) -> DeliveryStep<(ss: SegmentCache, rsp: UInt64)> {
        guard newCPL < mode.cpl else { return .proceed((oldSS, oldRSP)) }
        let tr = engine.readTable(UC_X86_REG_TR)
        let trType = UInt8((tr.flags >> 8) & 0xF)
        let tss32 = trType == SystemDescriptorType.availableTSS32 || trType == SystemDescriptorType.busyTSS32
        let field = tss32 ? 4 + 8 * Int(newCPL) : 2 + 4 * Int(newCPL)
        let stackBytes: [UInt8]
        switch readSystem(tr.base &+ UInt64(field), count: tss32 ? 6 : 4) {
        case .success(let bytes): stackBytes = bytes
        case .failure(let result): return .stop(result)
        }
        let newESP =
            tss32
            ? UInt64(stackBytes[0]) | UInt64(stackBytes[1]) << 8 | UInt64(stackBytes[2]) << 16
                | UInt64(stackBytes[3]) << 24
            : UInt64(stackBytes[0]) | UInt64(stackBytes[1]) << 8
        let ssSelector =
            tss32
            ? UInt16(stackBytes[4]) | UInt16(stackBytes[5]) << 8
            : UInt16(stackBytes[2]) | UInt16(stackBytes[3]) << 8
        let tsError = UInt32(ssSelector & ~3) + ext
        guard ssSelector & ~3 != 0, ssSelector & 3 == newCPL else {
            return .stop(.exception(PendingEvent(vector: 10, type: .hardwareException, errorCode: tsError)))
        }
        let stackDescriptor: SegmentDescriptor
        switch readDescriptor(ssSelector, ext: ext) {
        case .success(let descriptor): stackDescriptor = descriptor
        case .failure(let result): return .stop(result)
        }
        guard !stackDescriptor.isCode, stackDescriptor.isSegment, stackDescriptor.writable,
            stackDescriptor.dpl == newCPL
        else {
            return .stop(.exception(PendingEvent(vector: 10, type: .hardwareException, errorCode: tsError)))
        }
        guard stackDescriptor.present else {
            return .stop(.exception(PendingEvent(vector: 12, type: .hardwareException, errorCode: tsError)))
        }
        return .proceed((stackDescriptor.cache(selector: ssSelector), newESP))
    }

    /// Step 4 (SDM Vol. 3A 6.12.1, Figures 6-4 and 6-9): pushes `pushes` on the handler's stack
    /// in the gate's width and returns the new stack pointer. Every push is translated before
    /// any is written, so a fault (#PF, or an EPT exit) leaves memory alone.
    func pushInterruptFrame(
        _ pushes: [UInt64], stack: (ss: SegmentCache, rsp: UInt64), gate: InterruptGate,
        longMode: Bool, newCPL: UInt8
    ) -> DeliveryStep<UInt64> {
        let gate32 = gate.is32Bit || longMode
        let width: UInt64 = longMode ? 8 : (gate32 ? 4 : 2)
        let stackMask: UInt64 = longMode ? .max : (stack.ss.defaultBig ? 0xFFFF_FFFF : 0xFFFF)
        let rsp = stack.rsp
        var hosts: [UInt64] = []
        var stackPointer = rsp
        for _ in pushes {
            stackPointer = (stackPointer &- width) & stackMask | (rsp & ~stackMask)
            let linear = longMode ? stackPointer : (stack.ss.base &+ (stackPointer & stackMask)) & 0xFFFF_FFFF
            switch translateLinear(linear, count: Int(width), kind: .write, implicitSupervisor: newCPL < 3) {
            case .bytes(let addresses):
                hosts += addresses
            case .pageFault(let errorCode, let address):
                return .stop(
                    .exception(
                        PendingEvent(
                            vector: 14, type: .hardwareException, errorCode: errorCode,
                            faultAddress: address)))
            case .exit(let exit):
                return .stop(.vmExit(exit))
            }
        }
        var hostIndex = 0
        for value in pushes {
            for byte in 0..<Int(width) {
                cpu.memory.write8(hosts[hostIndex], UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte))))
                hostIndex += 1
            }
        }
        return .proceed(stackPointer)
    }

    /// Step 5 (SDM Vol. 3A 6.12.1.3, 6.14.2): loads CS (and SS), then RIP, RSP and RFLAGS with
    /// TF, NT, RF and VM cleared, and IF too through an interrupt gate; delivery ends blocking
    /// by STI and by MOV SS.
    func enterHandler(
        _ gate: InterruptGate, codeSegment: SegmentCache, stackSegment: SegmentCache, longMode: Bool,
        rflags: UInt64, rsp: UInt64, rip: UInt64
    ) {
        engine.loadContext()
        engine.setSegment(.cs, codeSegment)
        engine.setSegment(.ss, stackSegment)
        engine.recomputeSegmentHiddenFlags(protectedMode: true, longModeActive: longMode, virtual8086: false)
        engine.storeContext()
        var newFlags = rflags & ~RFLAGS([.tf, .nt, .rf, .vm]).rawValue
        if gate.isInterruptGate { newFlags &= ~RFLAGS.if.rawValue }
        engine.write(UC_X86_REG_RFLAGS, newFlags)
        engine.write(UC_X86_REG_RSP, rsp)
        engine.write(UC_X86_REG_RIP, rip)
        blockingBySTI = false
        blockingByMovSS = false
    }

    /// Real-address mode: the IVT entry CS:IP, FLAGS, CS and IP pushed (SDM 21.1.4).
    private func deliverRealMode(_ event: PendingEvent, idtr: uc_x86_mmr, rip: UInt64, rflags: UInt64) -> DeliveryResult
    {
        guard UInt64(event.vector) * 4 + 3 <= UInt64(idtr.limit) else {
            return .exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: 0))
        }
        let entry: [UInt8]
        switch readSystem(idtr.base &+ UInt64(event.vector) * 4, count: 4) {
        case .success(let bytes): entry = bytes
        case .failure(let result): return result
        }
        engine.loadContext()
        var cs = engine.segment(.cs)
        let ss = engine.segment(.ss)
        let rsp = engine.read(UC_X86_REG_RSP)
        let stackMask: UInt64 = ss.defaultBig ? 0xFFFF_FFFF : 0xFFFF
        var stackPointer = rsp
        var hosts: [UInt64] = []
        let pushes: [UInt64] = [rflags & 0xFFFF, UInt64(cs.selector), rip & 0xFFFF]
        for _ in pushes {
            stackPointer = ((stackPointer &- 2) & stackMask) | (rsp & ~stackMask)
            switch translateLinear(ss.base &+ (stackPointer & stackMask), count: 2, kind: .write) {
            case .bytes(let addresses): hosts += addresses
            case .pageFault(let errorCode, let address):
                return .exception(
                    PendingEvent(vector: 14, type: .hardwareException, errorCode: errorCode, faultAddress: address))
            case .exit(let exit): return .vmExit(exit)
            }
        }
        for (index, value) in pushes.enumerated() {
            cpu.memory.write8(hosts[2 * index], UInt8(truncatingIfNeeded: value))
            cpu.memory.write8(hosts[2 * index + 1], UInt8(truncatingIfNeeded: value >> 8))
        }
        let newIP = UInt64(entry[0]) | UInt64(entry[1]) << 8
        let newCS = UInt16(entry[2]) | UInt16(entry[3]) << 8
        cs.selector = newCS
        cs.base = UInt64(newCS) << 4
        engine.loadContext()
        engine.setSegment(.cs, cs)
        engine.recomputeSegmentHiddenFlags(protectedMode: false, longModeActive: false, virtual8086: false)
        engine.storeContext()
        engine.write(UC_X86_REG_RFLAGS, rflags & ~RFLAGS([.tf, .if, .rf, .ac]).rawValue)
        engine.write(UC_X86_REG_RSP, stackPointer)
        engine.write(UC_X86_REG_RIP, newIP)
        blockingBySTI = false
        blockingByMovSS = false
        return .delivered
    }

    /// Reads processor-accessed memory (IDT, GDT, LDT, TSS): implicit supervisor accesses.
    enum SystemRead {
        case success([UInt8])
        case failure(DeliveryResult)
    }

    func readSystem(_ linear: UInt64, count: Int) -> SystemRead {
        switch translateLinear(linear, count: count, kind: .read, implicitSupervisor: true) {
        case .bytes(let hosts):
            return .success(hosts.map { cpu.memory.read8($0) })
        case .pageFault(let errorCode, let address):
            return .failure(
                .exception(
                    PendingEvent(vector: 14, type: .hardwareException, errorCode: errorCode, faultAddress: address)))
        case .exit(let exit):
            return .failure(.vmExit(exit))
        }
    }

    /// The bits of DR6 a #DB trap Unicorn raised reports: B3-B0, BD and BS (SDM Vol. 3A 17.2.3).
    static let debugTrapBits = DebugExceptionQualification(
        breakpointsHit: 0xF, debugRegisterAccessDetected: true,
        singleStep: true
    ).rawValue

    /// A segment descriptor (SDM Vol. 3A 3.4.5) as its two doublewords.
    struct SegmentDescriptor {
        var low: UInt32
        var high: UInt32
        var descriptor: VMX.SegmentDescriptor { VMX.SegmentDescriptor(rawValue: UInt64(low) | UInt64(high) << 32) }
        var base: UInt64 { descriptor.base }
        var limit: UInt32 { UInt32(truncatingIfNeeded: descriptor.limit) }
        var isSegment: Bool { descriptor.isCodeOrData }
        var isCode: Bool { isSegment && descriptor.type & SegmentType.code != 0 }
        var conforming: Bool { isCode && descriptor.type & SegmentType.expandDownOrConforming != 0 }
        var writable: Bool { !isCode && descriptor.type & SegmentType.writableOrReadable != 0 }
        var dpl: UInt8 { descriptor.dpl }
        var present: Bool { descriptor.isPresent }
        var long: Bool { descriptor.isLongMode }
        var defaultBig: Bool { descriptor.isDefaultBig }

        /// The segment cache a load of `selector` with this descriptor gives (accessed set):
        /// the engine keeps the attributes as they sit in the descriptor's high doubleword.
        func cache(selector: UInt16) -> SegmentCache {
            let accessed = UInt32(truncatingIfNeeded: VMX.SegmentDescriptor.accessed >> 32)
            return SegmentCache(
                selector: selector, base: base, limit: limit,
                flags: (high & VMX.SegmentDescriptor.attributesOfHighDoubleword) | accessed)
        }
    }

    enum DescriptorRead {
        case success(SegmentDescriptor)
        case failure(DeliveryResult)
    }

    /// Reads the descriptor `selector` names from the GDT or LDT; #GP(selector) beyond the limit.
    func readDescriptor(_ selector: UInt16, ext: UInt32) -> DescriptorRead {
        let table = selector & 4 != 0 ? engine.readTable(UC_X86_REG_LDTR) : engine.readTable(UC_X86_REG_GDTR)
        let index = UInt64(selector & ~7)
        guard index + 7 <= UInt64(table.limit) else {
            return .failure(
                .exception(PendingEvent(vector: 13, type: .hardwareException, errorCode: UInt32(selector & ~3) + ext)))
        }
        switch readSystem(table.base &+ index, count: 8) {
        case .success(let bytes):
            let low = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
            let high = UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24
            return .success(SegmentDescriptor(low: low, high: high))
        case .failure(let result):
            return .failure(result)
        }
    }
}
