// INIT and start-up IPIs arriving at the emulated CPU (SDM Vol. 3C 24.8, 26.2, 27.7.2): what
// each does in the state the processor is in, and what the next VM entry makes of it
// (GuestExecution.run). The emulated machine (EmulatedMachine.swift) routes the IPIs other
// processors send; a test may hand one to `receive` directly.
//
// Between VM entries a processor is in VMX root operation, and the guest whose next VM entry
// establishes wait-for-SIPI counts as waiting already (`waitsForSIPI`): the machine's scheduler
// runs it no further until a SIPI arrives, so that arrival and entry cannot be told apart.
// - SIPI: taken only in wait-for-SIPI, where it is latched and the next VM entry (or the
//   scheduler's next step of the waiting processor) is the SIPI VM exit with its vector; any
//   other SIPI is discarded without a VM exit (SDM 26.2, 27.7.2).
// - INIT in wait-for-SIPI: blocked (SDM 26.2, 27.7.2) and dropped, as KVM does. Bochs 2.7 latches
//   it and delivers an INIT VM exit right after the SIPI started the guest; the SDM leaves open
//   what becomes of a blocked INIT, and the hypervisor handles both (StartupExits.swift).
// - INIT otherwise: blocked in VMX root operation and held pending (SDM 24.8; Bochs 2.7 discards
//   it): the next VM entry into the active or HLT state is an INIT VM exit before the first guest
//   instruction; a VM entry into wait-for-SIPI drops it, as above.
// - NMI: not modelled (the emulated CPU has no host IDT to deliver it to in root operation).
import VMX

/// What became of an interprocessor interrupt at the processor it was sent to.
public enum InterProcessorDelivery: Equatable, Sendable {
    /// A SIPI to a processor in wait-for-SIPI: its VM exit (reason 4) comes next.
    case startupLatched
    /// An INIT held pending in VMX root operation: the next VM entry into the active or HLT
    /// state exits with reason 3.
    case initPending
    /// An INIT to a processor in wait-for-SIPI, blocked there: dropped.
    case initDroppedInWaitForSIPI
    /// A SIPI to a processor not in wait-for-SIPI: discarded (SDM 26.2).
    case startupDiscarded
    /// Something the emulated CPU does not model (an NMI; INIT or SIPI outside VMX operation).
    case notModelled
    /// No processor has the destination APIC ID.
    case noSuchProcessor
}

extension EmulatedCPU {
    /// Whether the processor waits for a SIPI: in VMX root operation with a current VMCS whose
    /// guest activity state is wait-for-SIPI (3), which its next VM entry establishes (SDM
    /// 27.7.2), and no SIPI has arrived for it yet. The machine's scheduler does not step it.
    public var waitsForSIPI: Bool {
        vmxOperation == .root && currentVMCS != nil && guestExecution.latchedStartupVector == nil
            && currentVMCSFieldValue(.guestActivityState) == GuestActivityState.waitForSIPI
    }

    /// An INIT is pending: the next VM entry into the active or HLT state exits with reason 3.
    public var initSignalPending: Bool { guestExecution.initPending }

    /// The vector of the SIPI that arrived in wait-for-SIPI, whose VM exit comes next.
    public var latchedStartupVector: UInt8? { guestExecution.latchedStartupVector }

    /// `ipi` arrives at this processor (sent by the processor with APIC ID `source`).
    @discardableResult
    public func receive(_ ipi: InterProcessorInterrupt, from source: UInt32) -> InterProcessorDelivery {
        let delivery: InterProcessorDelivery
        switch ipi {
        case .startup(let vector):
            if vmxOperation == .outside {
                delivery = .notModelled
            } else if waitsForSIPI {
                // The guest entered wait-for-SIPI before this SIPI: that entry dropped an INIT
                // held pending from before it. One that arrives after this is pending again.
                guestExecution.initPending = false
                guestExecution.latchedStartupVector = vector
                delivery = .startupLatched
            } else {
                delivery = .startupDiscarded
            }
        case .initSignal:
            if vmxOperation == .outside {
                delivery = .notModelled
            } else if waitsForSIPI {
                delivery = .initDroppedInWaitForSIPI
            } else {
                guestExecution.initPending = true
                delivery = .initPending
            }
        case .nmi:
            delivery = .notModelled
        }
        guestExecution.receivedInterProcessorInterrupts.append((ipi, source, delivery))
        return delivery
    }

    /// Every interprocessor interrupt that arrived here, with its sender's APIC ID and what
    /// became of it, in order.
    public var receivedInterProcessorInterrupts:
        [(ipi: InterProcessorInterrupt, source: UInt32, delivery: InterProcessorDelivery)]
    {
        guestExecution.receivedInterProcessorInterrupts
    }

    /// Every interprocessor interrupt the hypervisor sent from this processor, in order.
    public var sentInterProcessorInterrupts: [(ipi: InterProcessorInterrupt, apicID: UInt32)] {
        guestExecution.sentInterProcessorInterrupts
    }
}
