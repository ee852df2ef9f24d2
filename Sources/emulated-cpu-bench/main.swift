// `make bench` (hosted half): the emulated CPU's VMREAD and VMWRITE cost, to show they are
// constant-time (the target): the same cost for the first and the last field of the
// table, for every width, and whether 1 or 64 VMCSs exist.
import EmulatedCPU
import Hypervisor
import VMX

let iterations = 2_000_000

/// Nanoseconds per call of `body`, over `iterations` calls.
func nanosecondsPerCall(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure { for _ in 0..<iterations { body() } }
    let (seconds, attoseconds) = elapsed.components
    return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(iterations)
}

func format(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

/// A CPU in VMX root operation with `count` VMCSs, the last one current.
func makeCPU(profile: CapabilityProfile, vmcsCount: Int) throws -> EmulatedCPU {
    let cpu = EmulatedCPU(profile: profile)
    var arena = PageArena()
    let operation = try enableVMX(on: cpu, arena: &arena, quiet: true)
    for _ in 0..<vmcsCount {
        let vmcs = arena.allocate(bytes: UInt64(operation.basic.vmcsRegionSize), zeroingWith: cpu)!
        cpu.writePhysical32(vmcs, operation.basic.revisionIdentifier)
        try cpu.vmclear(vmcs)
        try cpu.vmptrld(vmcs)
    }
    return cpu
}

let profile = try CapabilityProfile.load(named: "corei7_skylake_x")
let probes: [(String, VMCSField)] = [
    ("16-bit guest ES selector (first field)", .guestESSelector),
    ("32-bit pin-based controls", .pinBasedVMExecutionControls),
    ("64-bit EPT pointer", .eptPointer),
    ("64-bit EPT pointer (high)", VMCSField(rawValue: VMCSField.eptPointer.rawValue | 1)),
    ("natural-width host RIP (last field)", .hostRIP)
]
print("bench: emulated CPU (profile corei7_skylake_x), \(iterations) calls each, ns per call")
for vmcsCount in [1, 64] {
    let cpu = try makeCPU(profile: profile, vmcsCount: vmcsCount)
    for (name, field) in probes {
        var sink: UInt64 = 0
        let read = nanosecondsPerCall { sink &+= (try? cpu.vmread(field)) ?? 0 }
        let write = nanosecondsPerCall { try? cpu.vmwrite(field, sink & 0xFFFF) }
        print(
            "bench:   \(vmcsCount) VMCS\(vmcsCount == 1 ? " " : "s"): VMREAD \(format(read)) ns, "
                + "VMWRITE \(format(write)) ns: \(name)")
    }
}
