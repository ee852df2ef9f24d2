// Guest execution: VMX non-root operation on the emulated CPU (docs/EMULATED-CPU.md).
//
// After VMLAUNCH or VMRESUME passed their checks, the emulated CPU loads the guest state of the
// current VMCS into a Unicorn engine (SDM 27.3.2), injects the VM-entry event through the
// guest's IDT itself (27.6), and lets Unicorn execute guest instructions one at a time under a
// code hook. Before every instruction the hook decides, as the processor would (SDM 26.1-26.3,
// 26.7): a VM exit is due (a pending MTF, the VMX-preemption timer, an interrupt window, an
// external interrupt, or an instruction the controls make exit), the instruction's behaviour
// differs in VMX non-root operation (the emulated CPU carries it out), or Unicorn executes it.
// Unicorn's TLB misses come to the fill hook, which walks the guest's paging and the EPT; a
// guest page fault is delivered through the guest IDT, an EPT violation or misconfiguration
// becomes a VM exit. Exceptions Unicorn raises go through the exception bitmap. A VM exit
// saves the guest state into the VMCS (28.3), records the exit information (28.2) and loads
// host state (28.5).
//
// Time is counted in instructions: each guest instruction retired advances the time-stamp
// counter by `EmulatedCPU.tscCyclesPerInstruction` (1 by default, as Bochs does with `clock:
// sync=none`),
// and nothing else does, so every run is deterministic.
import CUnicorn
import VMX

/// What stopped the engine, decided in a hook and acted on by the run loop.
enum StopReason {
    /// A VM exit, with the guest state as the engine holds it.
    case vmExit(ExitInformation)
    /// An instruction the emulated CPU carries out itself (at RIP, `length` bytes).
    case emulate(DecodedInstruction, length: Int)
    /// A fault the VMX rules raise before the instruction executes (e.g. #GP(0) at CPL > 0).
    case fault(vector: UInt8, errorCode: UInt32?)
    /// An external interrupt to deliver through the guest IDT.
    case deliverExternalInterrupt(UInt8)
    /// An exception Unicorn raised (fault at RIP or trap after the instruction).
    case unicornException(vector: UInt8)
    /// The fetch of the instruction at RIP would cross into a page that faulted while Unicorn
    /// translated a block ahead of it.
    case fetchFaultReached
}

/// A VM exit's reason and information (SDM 28.2), as the run loop records it.
struct ExitInformation {
    var reason: ExitReason
    var qualification: UInt64 = 0
    var instructionLength: Int?
    var instructionInformation: UInt32?
    var guestLinearAddress: UInt64?
    var guestPhysicalAddress: UInt64?
    var interruptionInformation: UInt32?
    var interruptionErrorCode: UInt32?
    /// The event whose delivery the exit interrupted (SDM 28.2.4).
    var vectoring: PendingEvent?
}

/// An event being delivered or to deliver (SDM 25.8.3 types).
struct PendingEvent {
    var vector: UInt8
    var type: InterruptionType
    var errorCode: UInt32?
    /// For software interrupts and exceptions: the instruction length, the return address
    /// being RIP + length.
    var instructionLength: Int = 0
    /// #PF: the faulting linear address (CR2); #DB: the DR6-style qualification bits.
    var faultAddress: UInt64?
    var debugBits: UInt64?

    /// The event in the VM-exit interruption-information or IDT-vectoring information format.
    var interruptionInformation: UInt32 {
        InterruptionInformation(vector: vector, type: type, hasErrorCode: errorCode != nil).rawValue
    }
}

/// The VMCS controls, masks and addresses guest execution consults, read once at VM entry (the
/// hypervisor cannot change them while the guest runs).
struct GuestControls {
    var pinBased: PinBasedControls
    var primary: PrimaryProcessorBasedControls
    var secondary: SecondaryProcessorBasedControls
    var exitControls: VMExitControls
    var entryControls: VMEntryControls
    var exceptionBitmap: UInt32
    var pageFaultErrorCodeMask: UInt32
    var pageFaultErrorCodeMatch: UInt32
    var cr0Mask: UInt64, cr0Shadow: UInt64
    var cr4Mask: UInt64, cr4Shadow: UInt64
    var cr3TargetCount: Int
    var cr3Targets: [UInt64]
    var ioBitmapA: UInt64, ioBitmapB: UInt64
    var msrBitmaps: UInt64
    var tscOffset: UInt64
    var eptPointer: UInt64?
    var virtualAPIC: UInt64
    var vpid: UInt16

    func has(_ control: SecondaryProcessorBasedControls) -> Bool {
        primary.contains(.activateSecondaryControls) && secondary.contains(control)
    }

    // Looked up on every instruction boundary (one AND each: the module is built with -O).
    var monitorTrapFlag: Bool { primary.contains(.monitorTrapFlag) }
    var preemptionTimer: Bool { pinBased.contains(.activateVMXPreemptionTimer) }
    var interruptWindowExiting: Bool { primary.contains(.interruptWindowExiting) }
    var nmiWindowExiting: Bool { primary.contains(.nmiWindowExiting) }
    var externalInterruptExiting: Bool { pinBased.contains(.externalInterruptExiting) }
    /// IRET ends blocking by NMI, or with "virtual NMIs" virtual-NMI blocking; with "NMI
    /// exiting" and without "virtual NMIs" it leaves blocking by NMI alone (SDM 26.3, IRET).
    var iretEndsNMIBlocking: Bool { !pinBased.contains(.nmiExiting) || pinBased.contains(.virtualNMIs) }
    /// IA32_VMX_MISC[4:0].
    var preemptionTimerRate: UInt64 = 0
}

final class GuestExecution {
    unowned let cpu: EmulatedCPU

    // MARK: Time and the host timer (live in root operation too)

    var timestampCounter: UInt64 = 0
    /// TSC cycles per host physical-memory access (EmulatedCPU.tscCyclesPerHostAccess).
    var cyclesPerHostAccess: UInt64 = 0
    var cyclesPerInstruction: UInt64 = 1
    var hostTimerDeadline: UInt64?
    /// The host timer's interrupt is requested (not yet acknowledged).
    var hostInterruptPending = false
    /// The armed host timer ran out (until it is armed again or disarmed).
    var hostTimerFired = false
    var hostTimerVector: UInt8 = 0x20
    var consoleLines: [String] = []
    /// The machine's ports as the hypervisor sees them (EmulatedCPU.readPort/writePort).
    var portValues: [UInt16: UInt32] = [:]
    var portWrites: [(port: UInt16, size: Int, value: UInt32)] = []
    var consoleHandler: ((String) -> Void)?
    /// The local APIC ID, and the interprocessor interrupts the hypervisor sent (EmulatedCPU+Host).
    var localAPICID: UInt32 = 0
    var sentInterProcessorInterrupts: [(ipi: InterProcessorInterrupt, apicID: UInt32)] = []
    /// INIT and SIPI that arrived (EmulatedCPU+InterProcessorInterrupts): an INIT held pending
    /// for the next VM entry, the vector of a SIPI taken in wait-for-SIPI, and the record.
    var initPending = false
    var latchedStartupVector: UInt8?
    var receivedInterProcessorInterrupts:
        [(ipi: InterProcessorInterrupt, source: UInt32, delivery: InterProcessorDelivery)] = []
    var instructionLimit = 2_000_000
    var instructionsRetired: UInt64 = 0

    // MARK: The engine

    private var engineStorage: UnicornEngine?
    private var hooks: [uc_hook] = []
    /// The guest's x87/SSE and other state the VMCS does not hold, per VMCS region, kept
    /// between a VM exit and the next VM entry of that VMCS.
    var savedEngineState: [UInt64: OpaquePointer] = [:]
    /// PhysicalMemory's write generation at the last VM exit (.max: none yet).
    var memoryGenerationAtExit: UInt64 = .max

    // MARK: State of the current entry

    var controls: GuestControls!
    var stop: StopReason?
    /// The instruction the code hook let Unicorn execute, retired when the next one starts.
    var inFlight: (rip: UInt64, linear: UInt64, length: Int, decoded: DecodedInstruction, rflags: UInt64)?
    /// Set by the TLB fill hook when it refused an access.
    var memoryFault: MemoryFault?
    /// Cached views of guest state that only change at known points.
    var mode = GuestMode()
    var blockingBySTI = false
    var blockingByMovSS = false
    var blockingByNMI = false
    var activityState: UInt32 = 0
    var mtfPending = false
    var preemptionTimerStart: UInt64 = 0
    var preemptionTimerValue: UInt64 = 0
    var pdptes: [UInt64] = [0, 0, 0, 0]
    var cr8: UInt64 = 0
    /// The page the last instruction bytes came from (linear page -> host-physical page).
    var fetchCache: (linearPage: UInt64, hostPage: UInt64)?
    /// A fetch fault met while Unicorn translated ahead: the faulting linear page.
    var fetchFaultPage: UInt64?
    /// Whether the current fetch fault was already narrowed down to its instruction.
    var fetchFaultRefined = false
    /// During the replay of a faulting instruction (`refineFaultAddress`).
    var replay: ReplayState?

    /// Mode-dependent values read from the engine when they may have changed.
    struct GuestMode {
        var cpl: UInt8 = 0
        var codeSize: CodeSize = .bits64
        var csBase: UInt64 = 0
        var cr0: UInt64 = 0
        var cr4: UInt64 = 0
        var efer: UInt64 = 0
        var stale = true
    }

    /// A refused access, as the fill hook saw it.
    struct MemoryFault {
        var linearPage: UInt64
        var access: AccessKind
        /// nil for a non-canonical address in IA-32e mode, which is never translated.
        var translation: LinearTranslation?
    }

    struct ReplayState {
        var faultPage: UInt64
        var scratchPage: UInt64
        var firstAddress: UInt64?
        /// The instruction wrote the faulting page too (a read-modify-write when the refused
        /// access was a read).
        var writesFaultPage = false
        var undo: [(host: UInt64, bytes: [UInt8])] = []
    }

    init(cpu: EmulatedCPU) {
        self.cpu = cpu
    }

    deinit {
        for context in savedEngineState.values { uc_context_free(context) }
    }

    var engineStorageIfStarted: UnicornEngine? { engineStorage }

    var engine: UnicornEngine {
        if let engineStorage { return engineStorage }
        let engine: UnicornEngine
        do {
            engine = try UnicornEngine(memory: cpu.memory)
        } catch {
            fatalError("cannot start Unicorn for guest execution: \(error)")
        }
        engineStorage = engine
        installHooks(engine)
        return engine
    }

    /// The page Unicorn sees beyond the emulated memory: the replay of a faulting instruction
    /// maps the faulting page there.
    var scratchPage: UInt64 { engine.scratchPage }

    private func installHooks(_ engine: UnicornEngine) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let code: @convention(c) (OpaquePointer?, UInt64, UInt32, UnsafeMutableRawPointer?) -> Void = {
            _, address, size, data in
            Unmanaged<GuestExecution>.fromOpaque(data!).takeUnretainedValue().beforeInstruction(
                linear: address, length: Int(size))
        }
        let interrupt: @convention(c) (OpaquePointer?, UInt32, UnsafeMutableRawPointer?) -> Void = { _, vector, data in
            Unmanaged<GuestExecution>.fromOpaque(data!).takeUnretainedValue().unicornRaised(vector: vector)
        }
        let fill:
            @convention(c) (
                OpaquePointer?, UInt64, uc_mem_type, UnsafeMutablePointer<uc_tlb_entry>?, UnsafeMutableRawPointer?
            ) -> Bool = {
                _, address, type, entry, data in
                Unmanaged<GuestExecution>.fromOpaque(data!).takeUnretainedValue().fillTLB(
                    linearPage: address, type: type, entry: entry!)
            }
        hooks.append(
            engine.addHook(
                type: UC_HOOK_CODE, callback: unsafeBitCast(code, to: UnsafeMutableRawPointer.self), userData: me))
        hooks.append(
            engine.addHook(
                type: UC_HOOK_INTR, callback: unsafeBitCast(interrupt, to: UnsafeMutableRawPointer.self), userData: me))
        hooks.append(
            engine.addHook(
                type: UC_HOOK_TLB_FILL, callback: unsafeBitCast(fill, to: UnsafeMutableRawPointer.self), userData: me))
    }

    // MARK: The run loop

    /// Runs the guest of the current VMCS, just entered, until a VM exit; `registers` hold the
    /// general-purpose registers in and out.
    func run(_ registers: inout GuestRegisters, launch: Bool) {
        loadGuestState(registers: registers, launch: launch)
        var pending: PendingEvent? = nil
        if let injected = entryEvent() {
            // SDM 27.6: the event is delivered after the guest state is loaded, as if it
            // occurred on the instruction boundary before the first guest instruction.
            if injected.type == .otherEvent {
                mtfPending = true
            } else {
                pending = injected
            }
        }
        if let event = pending, let exit = deliver(event, injected: true) {
            finishVMExit(exit, registers: &registers)
            return
        }
        if pending != nil && controls.primary.contains(.monitorTrapFlag) { mtfPending = true }
        if let exit = startupEventAfterEntry() {
            finishVMExit(exit, registers: &registers)
            return
        }
        // Pending debug exceptions (SDM 27.7.3): without an injected event, a single step (BS)
        // or breakpoints (B3-B0) pending in the guest-state area are delivered as a #DB trap
        // before the first instruction, DR6 saying which (unless blocking by MOV SS defers it).
        if pending == nil, activityState == 0, !blockingByMovSS {
            let debug =
                cpu.currentVMCSFieldValue(.guestPendingDebugExceptions)
                & (GuestPendingDebugExceptions.breakpointConditions | GuestPendingDebugExceptions.bs)
            if debug != 0 {
                engine.write(UC_X86_REG_DR6, (engine.read(UC_X86_REG_DR6) & ~0xF) | debug)
                if let exit = deliver(
                    PendingEvent(vector: 1, type: .hardwareException, debugBits: debug), injected: false)
                {
                    finishVMExit(exit, registers: &registers)
                    return
                }
            }
        }

        while true {
            if activityState == 1, let exit = waitWhileHalted() {
                finishVMExit(exit, registers: &registers)
                return
            }
            stop = nil
            memoryFault = nil
            inFlight = nil
            let rip = engine.read(UC_X86_REG_RIP)
            let error = engine.run(from: rip)
            if let exit = afterRun(error) {
                finishVMExit(exit, registers: &registers)
                return
            }
        }
    }

    /// Acts on why the engine stopped; returns the VM exit to perform, nil to keep running.
    private func afterRun(_ error: uc_err) -> ExitInformation? {
        if let stop {
            switch stop {
            case .vmExit(let exit):
                return exit
            case .emulate(let decoded, let length):
                return emulate(decoded, length: length)
            case .fault(let vector, let errorCode):
                return deliver(
                    PendingEvent(vector: vector, type: .hardwareException, errorCode: errorCode), injected: false)
            case .deliverExternalInterrupt(let vector):
                return deliver(PendingEvent(vector: vector, type: .externalInterrupt), injected: false)
            case .unicornException(let vector):
                return unicornException(vector: vector)
            case .fetchFaultReached:
                // The scratch translation of the faulting page must not be executed.
                engine.flushTLB()
                engine.flushTranslations()
                return nil
            }
        }
        if let fault = memoryFault {
            return handleMemoryFault(fault)
        }
        switch error {
        case UC_ERR_OK:
            // Stopped after an instruction without a hook's request (cannot normally happen):
            // retire it and go on.
            retireInFlight()
            return nil
        case UC_ERR_INSN_INVALID:
            // Unicorn does not know the instruction, or it is invalid: #UD at RIP.
            return deliver(PendingEvent(vector: 6, type: .hardwareException), injected: false)
        default:
            let rip = engine.read(UC_X86_REG_RIP)
            cpu.reportGuestExecutionProblem(
                "Unicorn stopped with \(String(cString: uc_strerror(error))) at RIP \(hex(rip))")
            return ExitInformation(reason: Self.emulationLimitReason)
        }
    }

    /// INIT and SIPI at the end of VM entry (SDM 27.7.2, 26.2): in wait-for-SIPI a latched SIPI
    /// is the VM exit (reason 4, the vector in exit-qualification bits 7:0, SDM 28.2.1), an INIT
    /// held pending is dropped, and with no SIPI the processor would wait for ever: the emulated
    /// CPU cannot wait inside VM entry (the machine's scheduler does not enter a processor that
    /// waits), so it reports the problem and stops with the emulation-limit exit. In the active
    /// and HLT states a pending INIT exits (reason 3) before the first guest instruction: INIT
    /// has priority over pending MTF VM exits, debug traps and the timers (SDM Vol. 3A 6.9, 3C
    /// 26.7.2). The activity state saved is the one VM entry established (SDM 28.3.4 with 28.1:
    /// the return to the active state comes only after such a VM exit), and interruptibility is
    /// saved as loaded; Bochs 2.7 saves activity state 0 with blocking by SMI and NMI instead.
    private func startupEventAfterEntry() -> ExitInformation? {
        if activityState == UInt32(GuestActivityState.waitForSIPI) {
            if let vector = latchedStartupVector {
                latchedStartupVector = nil
                return ExitInformation(reason: .startupIPI, qualification: UInt64(vector))
            }
            initPending = false
            cpu.reportGuestExecutionProblem(
                """
                the guest waits for SIPI (activity state 3) and no SIPI has arrived: nothing runs while a \
                processor waits inside VM entry (EmulatedMachine enters a waiting processor only after its SIPI)
                """
            )
            return ExitInformation(reason: Self.emulationLimitReason)
        }
        if initPending {
            initPending = false
            return ExitInformation(reason: .initSignal)
        }
        return nil
    }

    /// The exit reason the emulated CPU reports when it cannot go on (an instruction limit
    /// reached, a state it does not model). No SDM exit reason has this number; the
    /// hypervisor's handling of unknown exits stops the guest, and the emulated CPU has already
    /// recorded a test issue saying why.
    static let emulationLimitReason = ExitReason(rawValue: 0xFFFF)

    // MARK: Hooks

    /// The code hook: called before each guest instruction.
    func beforeInstruction(linear: UInt64, length: Int) {
        if replay != nil { return }
        retireInFlight()
        if mode.stale { refreshMode() }
        let rip = linear &- mode.csBase
        // A fetch fault met while Unicorn translated the block ahead: stop at the instruction
        // that reaches the faulting page, so that the fault is reported there.
        if let page = fetchFaultPage,
            (linear &+ UInt64(max(length, 1)) &- 1) & ~0xFFF >= page || linear & ~0xFFF == page
        {
            fetchFaultPage = nil
            stopWith(.fetchFaultReached)
            return
        }
        if instructionsRetired >= UInt64(instructionLimit) {
            cpu.reportGuestExecutionProblem("the guest ran \(instructionLimit) instructions without a VM exit")
            stopWith(.vmExit(ExitInformation(reason: Self.emulationLimitReason)))
            return
        }
        if let boundary = boundaryEvent() {
            stopWith(boundary)
            return
        }
        // Most instructions are ordinary: their opcode byte says so without a full decode.
        guard mayNeedAttention(linear: linear) else {
            inFlight = (rip, linear, length, Self.ordinaryInstruction, 0)
            return
        }
        let decoded = decode(linear: linear)
        // Unicorn's length is wrong for instructions it cannot translate (the VMX
        // instructions): the decoder's counts for everything it recognises.
        let instructionLength = decoded.operation == .other ? length : decoded.length
        if let action = classify(decoded, rip: rip, length: instructionLength) {
            stopWith(action)
            return
        }
        let rflags = decoded.operation == .sti ? engine.read(UC_X86_REG_RFLAGS) : 0
        inFlight = (rip, linear, instructionLength, decoded, rflags)
    }

    static let ordinaryInstruction = DecodedInstruction(
        operation: .other, operandSize: 4, addressSize: 8, segmentOverride: nil, repeatPrefix: false,
        repeatNotEqualPrefix: false, lockPrefix: false, modRM: nil)

    /// The first opcode bytes of every instruction `InstructionDecoder` recognises.
    static let attentionOpcodes: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for opcode in [0x0F, 0xF4, 0xCC, 0xCD, 0xCE, 0xF1, 0xFB, 0xCF, 0x17, 0x8E, 0x90, 0x9A, 0xCA, 0xCB, 0xEA, 0xFF]
            + Array(0xE4...0xE7) + Array(0xEC...0xEF) + Array(0x6C...0x6F)
        {
            table[opcode] = true
        }
        return table
    }()

    /// Whether the instruction at `linear` may be one the decoder recognises (its opcode byte,
    /// after legacy and REX prefixes, is in `attentionOpcodes`), or cannot be read.
    func mayNeedAttention(linear: UInt64) -> Bool {
        var offset: UInt64 = 0
        while offset < 15 {
            guard let byte = fetchByte(linear &+ offset) else { return true }
            switch byte {
            case 0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0xF0, 0xF2, 0xF3:
                offset += 1
            case 0x40...0x4F where mode.codeSize == .bits64:
                offset += 1
            default:
                return Self.attentionOpcodes[Int(byte)]
            }
        }
        return true
    }

    func stopWith(_ reason: StopReason) {
        stop = reason
        engine.stop()
    }

    /// The interrupt hook: Unicorn raised an exception (not #UD, which it reports as an error,
    /// nor page faults, which the fill hook produces).
    func unicornRaised(vector: UInt32) {
        if replay != nil { engine.stop(); return }
        stopWith(.unicornException(vector: UInt8(truncatingIfNeeded: vector)))
    }

    /// Retires the instruction Unicorn executed: it completed.
    func retireInFlight() {
        guard let instruction = inFlight else { return }
        inFlight = nil
        retire(instruction.decoded, rflagsBefore: instruction.rflags)
    }

    /// The bookkeeping of an instruction's completion: time, interruptibility (SDM 25.4.2
    /// Table 25-3), the monitor trap flag (26.7.2), and cached mode state.
    func retire(_ decoded: DecodedInstruction, rflagsBefore: UInt64) {
        countInstruction()
        switch decoded.operation {
        case .sti:
            // Blocking by STI only when STI set IF (it was clear before).
            if rflagsBefore & RFLAGS.if.rawValue == 0 { blockingBySTI = true }
        case .loadSS:
            blockingByMovSS = true
        case .modeChange, .iret, .farTransfer:
            mode.stale = true
            fetchCache = nil
            if case .iret = decoded.operation, controls.iretEndsNMIBlocking { blockingByNMI = false }
        case .movToCR(3, _):
            fetchCache = nil
            reloadPDPTEsIfPAE()
        case .invlpg:
            fetchCache = nil
        default:
            break
        }
        if controls.monitorTrapFlag { mtfPending = true }
    }
}

extension GuestExecution {
    /// INVEPT, INVVPID: the engine's TLB caches guest translations.
    func invalidateTranslations() {
        fetchCache = nil
        engineStorageIfStarted?.flushTLB()
    }
}
