// The machine's scheduler: one program per processor, run in turns on the calling thread. A
// program is a step function - for a virtual CPU one VM entry and the handling of its exit by
// the hypervisor's own code (VirtualCPUProgram) - and the scheduler gives each processor one
// step in turn, round-robin in the order of `processors`, so that every run interleaves the
// processors the same way. What one processor does in a step (an IPI sent, memory written) is
// seen by the others from their next step on.
//
// A processor that waits for SIPI (EmulatedCPU.waitsForSIPI: its next VM entry establishes
// wait-for-SIPI and no SIPI has arrived) is not stepped: on a real processor that VM entry
// would not return. When no processor can take a step - every one left waits, or its program
// found nothing to do - nothing can change any more, and the run ends with `noEvent`, naming
// the processors still waiting, instead of hanging.

/// What one step of a processor's program did.
public enum ProcessorStep: Equatable, Sendable {
    /// It did something (a VM entry and its exit, say): others may see a change.
    case ran
    /// It could do nothing now: the scheduler found its guest waiting for SIPI, or the program
    /// waits for another processor.
    case waiting
    /// Its program is done; the processor runs nothing more.
    case finished
}

/// How a run of the machine ended.
public enum MachineRunOutcome: Equatable, Sendable {
    /// Every program finished, after `steps` steps taken (waiting turns not counted).
    case finished(steps: Int)
    /// No program could take a step: the processors with these APIC IDs wait for an event
    /// (a SIPI) that nothing left running can send.
    case noEvent(waiting: [UInt32])
    /// `stepLimit` steps were taken before every program finished.
    case stepLimitReached(steps: Int)
}

extension EmulatedMachine {
    /// Runs `programs[i]` on `processors[i]` (nil: that processor runs nothing), one step per
    /// processor in turn, until every program finished, none can take a step, or `stepLimit`
    /// steps were taken. Each turn is recorded in `schedule`.
    public func run(_ programs: [(() -> ProcessorStep)?], stepLimit: Int = 100_000) -> MachineRunOutcome {
        precondition(programs.count <= processors.count, "more programs than processors")
        var done = programs.map { $0 == nil }
        var steps = 0
        while done.contains(false) {
            var progress = false
            for (index, program) in programs.enumerated() where !done[index] {
                guard let program else { continue }
                let processor = processors[index]
                let step: ProcessorStep = processor.waitsForSIPI ? .waiting : program()
                schedule.append((processor.localAPICID, step))
                switch step {
                case .ran:
                    progress = true
                    steps += 1
                case .finished:
                    progress = true
                    steps += 1
                    done[index] = true
                case .waiting:
                    break
                }
                if steps >= stepLimit && done.contains(false) { return .stepLimitReached(steps: steps) }
            }
            if !progress {
                let waiting = programs.indices.filter { !done[$0] }.map { processors[$0].localAPICID }
                return .noEvent(waiting: waiting)
            }
        }
        return .finished(steps: steps)
    }
}
