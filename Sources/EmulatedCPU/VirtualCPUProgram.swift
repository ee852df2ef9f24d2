// A virtual CPU as a program of the emulated machine's scheduler (EmulatedMachine+Scheduler):
// each step is one turn of the hypervisor's own run loop on that processor - VM entry, the VM
// exit, its handler from the standard table (VirtualCPU.step) - so that the shared code, the
// start-up exits among it, runs on every emulated processor, interleaved deterministically.
import Hypervisor

public final class VirtualCPUProgram {
    public let vcpu: VirtualCPU<EmulatedCPU>
    /// Why the guest stopped, once it did.
    public private(set) var stop: GuestStop?

    public init(_ vcpu: VirtualCPU<EmulatedCPU>) {
        self.vcpu = vcpu
    }

    /// One VM entry and the handling of its exit; finished when a handler stopped the guest.
    public func step() -> ProcessorStep {
        guard stop == nil else { return .finished }
        if let stop = vcpu.step() {
            self.stop = stop
            return .finished
        }
        return .ran
    }
}
