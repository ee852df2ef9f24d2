// The emulated machine as the hypervisor's Host: the host timer, which counts guest time
// (GuestExecution), and the console, whose lines are kept (`consoleLines`) and handed to
// `consoleHandler` (docs/EMULATED-CPU.md).
import Hypervisor
import VMX

extension EmulatedCPU: Host {
    /// The host timer: its interrupt is requested when the time-stamp counter has advanced by
    /// `cycles` (it advances only while a guest runs). The vector is `hostTimerVector`.
    public func armHostTimer(cycles: UInt64) -> UInt8? {
        let execution = guestExecution
        execution.hostTimerDeadline = execution.timestampCounter &+ cycles
        execution.hostTimerFired = false
        execution.hostInterruptPending = false
        return execution.hostTimerVector
    }

    public func disarmHostTimer() {
        guestExecution.hostTimerDeadline = nil
        guestExecution.hostTimerFired = false
    }

    public func hostTimerExpired() -> Bool {
        guestExecution.pollHostTimer()
        return guestExecution.hostTimerFired
    }

    /// The end of the host timer's interrupt: an interrupt that was not acknowledged on exit is
    /// no longer pending.
    public func endHostInterrupt(vector: UInt8) {
        if vector == guestExecution.hostTimerVector { guestExecution.hostInterruptPending = false }
    }

    public func writeConsoleLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        guestExecution.consoleLines.append(line)
        guestExecution.consoleHandler?(line)
    }

    // The other processors. In an EmulatedMachine an IPI goes to the processor with that APIC
    // ID (EmulatedCPU+InterProcessorInterrupts); an emulated CPU alone has APIC ID
    // `localAPICID` (0 by default) and its IPIs reach no one. The machine runs one processor at
    // a time (its scheduler interleaves them at VM-entry boundaries), so plain accesses to the
    // shared memory are atomic.
    public var localAPICID: UInt32 {
        get { guestExecution.localAPICID }
        set { guestExecution.localAPICID = newValue }
    }

    /// Returns whether a processor took the IPI: false when no processor has APIC ID `apicID`
    /// (always, for a CPU outside a machine).
    @discardableResult
    public func sendInterProcessorInterrupt(_ ipi: InterProcessorInterrupt, to apicID: UInt32) -> Bool {
        guestExecution.sentInterProcessorInterrupts.append((ipi, apicID))
        guard let machine else { return false }
        return machine.route(ipi, from: self, to: apicID) != .noSuchProcessor
    }

    public func compareExchangePhysical32(_ address: UInt64, expected: UInt32, desired: UInt32) -> UInt32 {
        hostAccess()
        let found = memory.read32(address)
        if found == expected { memory.write32(address, desired) }
        return found
    }

    public func loadPhysical32Atomic(_ address: UInt64) -> UInt32 { readPhysical32(address) }
    public func storePhysical32Atomic(_ address: UInt64, _ value: UInt32) { writePhysical32(address, value) }
}
