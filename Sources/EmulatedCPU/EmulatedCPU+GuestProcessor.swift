// The emulated CPU as a GuestProcessor: VMLAUNCH/VMRESUME that run the guest until its next VM
// exit (GuestExecution), INVEPT and INVVPID with the protocol's types, the time-stamp counter,
// the machine's ports (docs/EMULATED-CPU.md). The host timer and the console are in
// EmulatedCPU+Host.swift.
import CUnicorn
import VMX

extension EmulatedCPU: GuestProcessor {
    /// TSC cycles per guest instruction retired (default 1). Time on the emulated CPU is
    /// counted in guest instructions, as in Bochs with `clock: sync=none` (FACTS.md); root
    /// operation takes no time (but see `tscCyclesPerHostAccess`). The VMX-preemption timer
    /// therefore expires after
    /// value << IA32_VMX_MISC[4:0] guest instructions, divided by this ratio. Whole-guest
    /// tests raise it so that a budget of millions of cycles passes quickly.
    public var tscCyclesPerInstruction: UInt64 {
        get { guestExecution.cyclesPerInstruction }
        set { guestExecution.cyclesPerInstruction = max(newValue, 1) }
    }

    /// TSC cycles each physical-memory access by the host takes (default 0). Whole-hypervisor
    /// runs set it so that work the hypervisor does for a guest counts as time, as it does on
    /// a real processor and in Bochs: a budget that charges host time (VirtualCPU.
    /// armBudget) then sees it.
    public var tscCyclesPerHostAccess: UInt64 {
        get { guestExecution.cyclesPerHostAccess }
        set { guestExecution.cyclesPerHostAccess = newValue }
    }

    public func enterGuest(_ registers: inout GuestRegisters, launch: Bool) throws(VMFailure) {
        switch launch ? vmlaunch() : vmresume() {
        case .entered:
            guestExecution.run(&registers, launch: launch)
        case .vmFail(let failure):
            throw failure
        case .entryFailure:
            // SDM 27.8: host state is loaded and the exit reason (bit 31 set) recorded; the
            // hypervisor reads them like a VM exit's.
            return
        case .faulted, .causedVMExit:
            // Only reachable outside VMX root operation or at CPL > 0: the fault is recorded
            // (and, by the default fault policy, a test issue). There is no guest to run.
            throw .invalid
        }
    }

    /// VMREAD without an outcome for the caller: a failure is reported like a fault.
    public func vmreadField(_ field: VMCSField) -> UInt64 {
        do { return try vmread(field) } catch {
            reportFieldAccessFailure("VMREAD", field, error)
            return 0
        }
    }

    /// VMWRITE without an outcome for the caller: a failure is reported like a fault.
    public func vmwriteField(_ field: VMCSField, _ value: UInt64) {
        do { try vmwrite(field, value) } catch { reportFieldAccessFailure("VMWRITE", field, error) }
    }

    func reportFieldAccessFailure(_ instruction: String, _ field: VMCSField, _ failure: VMFailure) {
        let name = field.name ?? "an undefined field"
        let outcome: String
        switch failure {
        case .invalid: outcome = "VMfailInvalid"
        case .valid(let error): outcome = "VMfailValid, VM-instruction error \(error.rawValue)"
        }
        let message =
            """
            \(instruction) of \(name) [\(hex(field.rawValue, digits: 4))] without an outcome to check failed: \
            \(outcome)
            """
        guestExecutionProblems.append(message)
        applyFaultPolicy(message)
    }

    public func invept(type: VMX.INVEPTType, eptp: UInt64) throws(VMFailure) {
        try invept(type: type.rawValue, eptPointer: eptp)
        guestExecution.invalidateTranslations()
    }

    public func invvpid(type: VMX.INVVPIDType, vpid: UInt16, address: UInt64) throws(VMFailure) {
        try invvpid(type: type.rawValue, vpidQuadword: UInt64(vpid), linearAddress: address)
        guestExecution.invalidateTranslations()
    }

    public func readTimestampCounter() -> UInt64 { guestExecution.timestampCounter }

    /// DR0-DR3 as the guest left them (Unicorn executes MOV to DRn; VM exits do not switch them).
    public func readDebugRegister(_ number: Int) -> UInt64 {
        guard let engine = guestExecution.engineStorageIfStarted else { return 0 }
        let registers = [UC_X86_REG_DR0, UC_X86_REG_DR1, UC_X86_REG_DR2, UC_X86_REG_DR3]
        return engine.read(registers[number & 3])
    }

    /// The emulated machine's ports: a port with a value in `portValues` reads it, any other
    /// reads all ones (nothing there); every write is recorded in `portWrites`.
    public func readPort(_ port: UInt16, size: Int) -> UInt32 {
        let ones: UInt32 = size >= 4 ? .max : (1 << UInt32(size * 8)) - 1
        return (guestExecution.portValues[port] ?? .max) & ones
    }

    public func writePort(_ port: UInt16, size: Int, _ value: UInt32) {
        guestExecution.portWrites.append((port: port, size: size, value: value))
    }

    // MARK: Hosted-only controls and observations

    /// The time-stamp counter (settable for tests).
    public var timestampCounter: UInt64 {
        get { guestExecution.timestampCounter }
        set { guestExecution.timestampCounter = newValue }
    }

    /// The vector of the host timer's interrupt (the kernel's timer uses 20H after the PIC is
    /// remapped).
    public var hostTimerVector: UInt8 {
        get { guestExecution.hostTimerVector }
        set { guestExecution.hostTimerVector = newValue }
    }

    /// What the machine's ports read (a pass-through guest's forwarded IN), by port.
    public var portValues: [UInt16: UInt32] {
        get { guestExecution.portValues }
        set { guestExecution.portValues = newValue }
    }

    /// Every OUT the hypervisor performed on the machine's ports, in order.
    public var portWrites: [(port: UInt16, size: Int, value: UInt32)] { guestExecution.portWrites }

    /// Every line written with `writeConsoleLine`, in order.
    public var consoleLines: [String] { guestExecution.consoleLines }

    /// Called with each console line as it is written (e.g. `{ print($0) }`).
    public var consoleHandler: ((String) -> Void)? {
        get { guestExecution.consoleHandler }
        set { guestExecution.consoleHandler = newValue }
    }

    /// Guest instructions one VM entry may run before the emulated CPU gives up with a test
    /// issue (a guest that never exits would otherwise hang the test).
    public var guestInstructionLimit: Int {
        get { guestExecution.instructionLimit }
        set { guestExecution.instructionLimit = newValue }
    }

    /// Guest instructions retired since the CPU was made.
    public var guestInstructionsRetired: UInt64 { guestExecution.instructionsRetired }

    /// Reports a guest state or behaviour the emulated CPU does not model: to the fault
    /// reporter (by the fault policy), then guest execution stops with a VM exit whose reason the SDM does
    /// not define (`ExitReason(rawValue: 0xFFFF)`).
    func reportGuestExecutionProblem(_ message: String) {
        let text = "guest execution on the emulated CPU (\(profile.name)): \(message)"
        guestExecutionProblems.append(text)
        applyFaultPolicy(text)
    }
}
