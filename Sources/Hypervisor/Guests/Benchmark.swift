// `make bench`: the built-in guest "bench" (guests/bench.asm) times many CPUID, VMCALL
// (GET_VERSION), OUT (port 80H) and RDMSR (IA32_PAT) exits, and EPT violations on pages mapped at
// first touch, with RDTSC and leaves its totals in its memory; the
// hypervisor runs it twice - with the Swift dispatcher and handlers, and with the assembly
// baseline (Host.enterGuestBaseline: the same entry/exit stub and state saving, only
// dispatch and handlers in assembly) - and prints the average round trip of each exit kind in
// TSC cycles, the ratio, and the cycles from the Swift entry point to the first VM entry.
import VMX

/// The built-in benchmark guest's name.
let benchmarkGuestName = "bench"

/// Where the benchmark guest leaves its results (guest-linear): the iteration count, the total
/// cycles of the CPUID, VMCALL, OUT and RDMSR loops, the pages touched and the total cycles of
/// that loop, eight bytes each.
let benchmarkResults: UInt64 = 0x1000

func runBenchmark<P: Host>(
    _ guests: [GuestImage], environment: GuestEnvironment, bootTimestamp: UInt64, vmxTimestamp: UInt64,
    others: OtherProcessors, arena: inout PageArena, cpu: P
) -> Bool {
    guard let image = guests.first(where: { $0.name.utf8.elementsEqual(benchmarkGuestName.utf8) }) else {
        cpu.log("bench: no built-in guest \"bench\"")
        return false
    }
    cpu.log(
        """
        bench: \(vmxTimestamp &- bootTimestamp) TSC cycles from the Swift entry point (kmain) until every \
        processor is in VMX root operation
        """
    )
    // The other processors run the benchmark guest at the same time as this one's Swift run:
    // each one's figures against the one-processor figures show what they share on the exit path.
    let othersRun = others.startGuests([image], benchmark: true, environment: environment, arena: &arena)
    let swift = runGuest(image, environment: environment, vpid: 1, arena: &arena, cpu: cpu, path: .swift)
    let othersHealthy = othersRun ? others.finish() : true
    cpu.log(
        """
        bench: \(swift.firstEntryTimestamp &- bootTimestamp) TSC cycles from the Swift entry point (kmain) to the \
        first VM entry
        """
    )
    let baseline = runGuest(image, environment: environment, vpid: 2, arena: &arena, cpu: cpu, path: .assemblyBaseline)
    guard let swiftResults = results(swift.vcpu), let baselineResults = results(baseline.vcpu) else {
        cpu.log("bench: the benchmark guest left no results")
        return false
    }
    let names: [StaticString] = ["CPUID", "VMCALL", "OUT", "RDMSR IA32_PAT", "EPT violation"]
    // Without EPT the touched pages were mapped from the start: nothing exited.
    for index in 0..<(environment.setup.usesEPT ? 5 : 4) {
        let s = swiftResults[index], a = baselineResults[index]
        let ratio = a == 0 ? 0 : (s &* 100) / a  // the figures come from guest memory: no trap
        cpu.log(
            """
            bench: \(names[index]) exit round trip: \(s) cycles with the Swift dispatcher, \(a) with the assembly \
            baseline: ratio \(ratio / 100).\(ratio % 100 < 10 ? "0" : "")\(ratio % 100)
            """
        )
    }
    return swift.healthy && baseline.healthy && othersHealthy
}

/// One line per exit kind with the guest's average round trips (another processor's run).
func logBenchmarkFigures<P: Host>(_ vcpu: VirtualCPU<P>?, path: StaticString) {
    guard let vcpu, let figures = results(vcpu) else { return }
    let names: [StaticString] = ["CPUID", "VMCALL", "OUT"]
    for index in 0..<3 { vcpu.cpu.log("bench: \(names[index]) exit round trip: \(figures[index]) cycles with \(path)") }
}

/// Average cycles per exit of each kind, from the guest's memory.
private func results<P: Host>(_ vcpu: VirtualCPU<P>?) -> [UInt64]? {
    // Linear addresses of a 64-bit guest are offsets into its memory block (GuestMemory).
    guard let vcpu else { return nil }
    var words: [UInt64] = []
    for index in 0..<7 {
        words.append(vcpu.cpu.readPhysical64(vcpu.memory.host + benchmarkResults + UInt64(index) * 8))
    }
    guard words[0] > 0, words[5] > 0 else { return nil }
    return [words[1] / words[0], words[2] / words[0], words[3] / words[0], words[4] / words[0], words[6] / words[5]]
}
