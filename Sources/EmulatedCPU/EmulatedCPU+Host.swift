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
}
