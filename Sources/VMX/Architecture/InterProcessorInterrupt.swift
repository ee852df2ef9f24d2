// The interprocessor interrupts the hypervisor sends (SDM Vol. 3A 12.6.1 "Interrupt Command
// Register"): INIT and start-up IPIs to start or stop processors, NMIs to wake them.

/// One interprocessor interrupt, as the interrupt command register's low word encodes it.
public enum InterProcessorInterrupt: Equatable, Sendable {
    /// INIT, level assert (delivery mode 101B).
    case initSignal
    /// Start-up (delivery mode 110B): the processor starts in real mode at `vector` << 12.
    case startup(vector: UInt8)
    /// NMI, level assert (delivery mode 100B).
    case nmi

    /// The ICR's bits 31:0: delivery mode, level and vector.
    public var commandLow: UInt32 {
        switch self {
        case .initSignal: return LocalAPIC.initAssert
        case .startup(let vector): return LocalAPIC.startUp | UInt32(vector)
        case .nmi: return LocalAPIC.nmiAssert
        }
    }
}
