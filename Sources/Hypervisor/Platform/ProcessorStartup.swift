// Starting another processor (SDM Vol. 3A 9.4.4.1, "Typical BSP Initialization Sequence", and
// 9.4.4.2): INIT, a 10-ms wait, a start-up IPI, 200 us, a second start-up IPI. The processor then
// runs in real mode at `vector` << 12; what it finds there (the kernel's trampoline, boot/ap.asm)
// and how the caller learns it arrived are the caller's. The same sequence in both worlds: the
// kernel's through its local APIC, the emulated machine's through its routing.
import VMX

/// The waits of the sequence, in microseconds.
public enum ProcessorStartup {
    public static let afterINIT: UInt64 = 10_000
    public static let betweenStartupIPIs: UInt64 = 200
}

/// Sends INIT-SIPI-SIPI to the processor with local APIC ID `apicID`, waiting with `delay`
/// (microseconds) between them. Returns whether every IPI left this processor's local APIC.
public func startProcessor<P: Host>(
    apicID: UInt32, vector: UInt8, cpu: P, delay: (_ microseconds: UInt64) -> Void
) -> Bool {
    var delivered = cpu.sendInterProcessorInterrupt(.initSignal, to: apicID)
    delay(ProcessorStartup.afterINIT)
    delivered = cpu.sendInterProcessorInterrupt(.startup(vector: vector), to: apicID) && delivered
    delay(ProcessorStartup.betweenStartupIPIs)
    return cpu.sendInterProcessorInterrupt(.startup(vector: vector), to: apicID) && delivered
}
