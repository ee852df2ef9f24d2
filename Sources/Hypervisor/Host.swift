// The machine around the processor (docs/ARCHITECTURE.md, "The seam"): what the hypervisor
// needs besides the processor's own instructions (VMX.Host) - the console its lines
// go to, the host timer that stops guests on CPUs without the VMX-preemption timer, the
// debugger's pointer to the exit statistics, and the benchmark's assembly baseline.
// Conformers: the kernel's `RealProcessor` (Sources/Kernel/RealProcessor+Host.swift) and the
// emulated CPU (Sources/EmulatedCPU/EmulatedCPU+Host.swift).
import VMX

public protocol Host: GuestProcessor {
    // MARK: The console

    /// Writes one line (without its line end) to the host console: the one sink of every
    /// line the hypervisor writes (`log`).
    func writeConsoleLine(_ bytes: UnsafeRawBufferPointer)

    // MARK: The host timer: stops a guest on a CPU without the VMX-preemption timer
    //
    // The timer interrupts the guest until the budget is spent, as an NMI (vector 2, with
    // "NMI exiting" a VM exit of reason 0) or as an external interrupt (with "external-
    // interrupt exiting" a VM exit of reason 1, the vector in the VM-exit interruption-
    // information field when "acknowledge interrupt on exit" is 1).

    /// Arms the host timer for about `cycles` time-stamp-counter cycles from now; returns the
    /// vector its interrupts use (2 for an NMI), or nil when there is no host timer.
    func armHostTimer(cycles: UInt64) -> UInt8?
    /// Disarms the host timer (no interrupt after this, except one already pending).
    func disarmHostTimer()
    /// Whether the armed host timer's budget is spent.
    func hostTimerExpired() -> Bool
    /// Ends the handling of a host interrupt that caused a VM exit: EOI for an external
    /// interrupt; for an NMI, whatever lifts the NMI blocking the exit left (SDM 28.1).
    func endHostInterrupt(vector: UInt8)

    // MARK: The other processors (a guest with several virtual CPUs, GuestProcessorGroup.swift)

    /// This processor's local APIC ID: the one interprocessor interrupts name it by.
    var localAPICID: UInt32 { get }
    /// Sends `ipi` to the processor with local APIC ID `apicID` through this processor's local
    /// APIC (SDM Vol. 3A 12.6.1); returns whether the APIC took it (delivery status idle).
    @discardableResult
    func sendInterProcessorInterrupt(_ ipi: InterProcessorInterrupt, to apicID: UInt32) -> Bool
    /// Atomically, seen from every processor: when the 32-bit word at physical `address` is
    /// `expected`, writes `desired`. Returns the word found (`expected` when it wrote).
    func compareExchangePhysical32(_ address: UInt64, expected: UInt32, desired: UInt32) -> UInt32
    /// The 32-bit word at physical `address` as every processor sees it now (a load the
    /// compiler may not merge with another: other processors write it).
    func loadPhysical32Atomic(_ address: UInt64) -> UInt32
    /// Stores `value` at physical `address`, visible to every processor before what follows.
    func storePhysical32Atomic(_ address: UInt64, _ value: UInt32)

    /// TSC ticks per millisecond, 0 where the host does not know. The default is 0.
    var timestampTicksPerMillisecond: UInt64 { get }

    // MARK: The debugger

    /// Tells a debugger where the exit statistics are (the kernel stores the address in the
    /// symbol `swiftvmx_exit_statistics`). The default does nothing.
    func announceExitStatistics(at address: UInt64)

    // MARK: The benchmark's baseline

    /// Enters the guest like `enterGuest`, but the exits the benchmark measures (CPUID, VMCALL
    /// GET_VERSION, OUT to port 80H) are handled by an assembly dispatcher on the same entry
    /// and exit path, without returning; returns at the first other exit. Returns whether that
    /// exit is already recorded in the exit-statistics page at `statistics`. The default has
    /// no assembly dispatcher: it is `enterGuest`, and returns false.
    func enterGuestBaseline(_ registers: inout GuestRegisters, launch: Bool, statistics: UInt64) throws(VMFailure)
        -> Bool
}

extension Host {
    public var timestampTicksPerMillisecond: UInt64 { 0 }
    public func announceExitStatistics(at address: UInt64) {}

    public func enterGuestBaseline(_ registers: inout GuestRegisters, launch: Bool, statistics: UInt64)
        throws(VMFailure) -> Bool
    {
        try enterGuest(&registers, launch: launch)
        return false
    }
}
