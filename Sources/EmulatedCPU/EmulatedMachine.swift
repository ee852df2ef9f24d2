// Several emulated CPUs over one physical memory: a multiprocessor machine for hosted tests of
// what the hypervisor does with the other processors (docs/EMULATED-CPU.md, "The machine").
// Each processor is an EmulatedCPU of the same profile with its own local APIC ID, registers,
// VMX state, VMCSs and Unicorn engine; the memory (VMCS regions, EPT tables, guest memory) is
// one. An interprocessor interrupt the hypervisor sends through one processor's Host seam
// (`sendInterProcessorInterrupt`) reaches the processor with that APIC ID, which takes it as
// its state says (EmulatedCPU+InterProcessorInterrupts). The processors run one at a time,
// interleaved by an explicit scheduler (EmulatedMachine+Scheduler.swift), not by host threads:
// every run is deterministic.
import VMX

public final class EmulatedMachine {
    /// The memory every processor sees.
    public let memory: PhysicalMemory
    /// The processors; the first is the bootstrap processor (IA32_APIC_BASE[8]).
    public let processors: [EmulatedCPU]
    /// Every interprocessor interrupt sent, in order, with what became of it.
    public internal(set) var interProcessorMessages: [InterProcessorMessage] = []
    /// Every step the scheduler gave or refused a processor, in order.
    public internal(set) var schedule: [(apicID: UInt32, step: ProcessorStep)] = []

    /// `apicIDs.count` processors like `profile`'s, with those local APIC IDs (distinct), over
    /// `memorySize` bytes of zeroed memory.
    public init(
        profile: CapabilityProfile, apicIDs: [UInt32] = [0, 1], memorySize: Int = 64 << 20,
        faultReporter: ((String) -> Void)? = nil
    ) {
        precondition(!apicIDs.isEmpty, "a machine needs a processor")
        precondition(Set(apicIDs).count == apicIDs.count, "local APIC IDs must be distinct")
        let memory = PhysicalMemory(size: memorySize)
        self.memory = memory
        processors = apicIDs.enumerated().map { index, apicID in
            let cpu = EmulatedCPU(profile: profile, memory: memory, faultReporter: faultReporter)
            cpu.localAPICID = apicID
            if index > 0 {
                // An application processor (SDM Vol. 3A 12.4.4: the BSP flag is set only on
                // the bootstrap processor).
                cpu.msrs[MSR.ia32APICBase.rawValue] = LocalAPIC.defaultBase
            }
            return cpu
        }
        for cpu in processors { cpu.machine = self }
    }

    /// The processor with local APIC ID `apicID`.
    public func processor(apicID: UInt32) -> EmulatedCPU? {
        processors.first { $0.localAPICID == apicID }
    }

    /// Delivers `ipi` from `source` to the processor with APIC ID `destination` (physical
    /// destination mode, one processor: SDM Vol. 3A 12.6.1).
    func route(_ ipi: InterProcessorInterrupt, from source: EmulatedCPU, to destination: UInt32)
        -> InterProcessorDelivery
    {
        let delivery =
            processor(apicID: destination)?.receive(ipi, from: source.localAPICID) ?? .noSuchProcessor
        interProcessorMessages.append(
            InterProcessorMessage(source: source.localAPICID, destination: destination, ipi: ipi, delivery: delivery))
        return delivery
    }
}

/// One interprocessor interrupt sent in the machine.
public struct InterProcessorMessage: Equatable, Sendable {
    public var source: UInt32
    public var destination: UInt32
    public var ipi: InterProcessorInterrupt
    public var delivery: InterProcessorDelivery

    public init(source: UInt32, destination: UInt32, ipi: InterProcessorInterrupt, delivery: InterProcessorDelivery) {
        self.source = source
        self.destination = destination
        self.ipi = ipi
        self.delivery = delivery
    }
}
