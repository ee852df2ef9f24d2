// `make bench`: the built-in guest "bench" (guests/bench.asm) times many CPUID, VMCALL
// (GET_VERSION) and OUT (port 80H) exits with RDTSC and leaves its totals in its memory; the
// hypervisor runs it twice - with the Swift dispatcher and handlers, and with the assembly
// baseline (Host.enterGuestBaseline: the same entry/exit stub and state saving, only
// dispatch and handlers in assembly) - and prints the average round trip of each exit kind in
// TSC cycles, the ratio, and the cycles from the Swift entry point to the first VM entry.
import VMX

/// The built-in benchmark guest's name.
let benchmarkGuestName = "bench"

/// Where the benchmark guest leaves its results (guest-linear): the iteration count, then the
/// total cycles of the CPUID, VMCALL and OUT loops, eight bytes each.
let benchmarkResults: UInt64 = 0x1000

func runBenchmark<P: Host>(
    _ guests: [GuestImage], environment: GuestEnvironment, bootTimestamp: UInt64, arena: inout PageArena, cpu: P
) -> Bool {
    guard let image = guests.first(where: { $0.name.utf8.elementsEqual(benchmarkGuestName.utf8) }) else {
        cpu.log("bench: no built-in guest \"bench\"")
        return false
    }
    let swift = runGuest(image, environment: environment, vpid: 1, arena: &arena, cpu: cpu, path: .swift)
    cpu.log("bench: \(swift.firstEntryTimestamp &- bootTimestamp) TSC cycles from the Swift entry point (kmain) to the first VM entry")
    let baseline = runGuest(image, environment: environment, vpid: 2, arena: &arena, cpu: cpu, path: .assemblyBaseline)
    guard let swiftResults = results(swift.vcpu), let baselineResults = results(baseline.vcpu) else {
        cpu.log("bench: the benchmark guest left no results")
        return false
    }
    let names: [StaticString] = ["CPUID", "VMCALL", "OUT"]
    for index in 0..<3 {
        let s = swiftResults[index], a = baselineResults[index]
        let ratio = a == 0 ? 0 : (s &* 100) / a      // the figures come from guest memory: no trap
        cpu.log("bench: \(names[index]) exit round trip: \(s) cycles with the Swift dispatcher, \(a) with the assembly baseline: ratio \(ratio / 100).\(ratio % 100 < 10 ? "0" : "")\(ratio % 100)")
    }
    return swift.healthy && baseline.healthy
}

/// Average cycles per exit of each kind, from the guest's memory.
private func results<P: Host>(_ vcpu: VirtualCPU<P>?) -> [UInt64]? {
    // Linear addresses of a 64-bit guest are offsets into its memory block (GuestMemory).
    guard let vcpu else { return nil }
    var words: [UInt64] = []
    for index in 0..<4 { words.append(vcpu.cpu.readPhysical64(vcpu.memory.host + benchmarkResults + UInt64(index) * 8)) }
    guard words[0] > 0 else { return nil }
    return [words[1] / words[0], words[2] / words[0], words[3] / words[0]]
}
