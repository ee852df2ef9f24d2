// Captures the CPU's VMX capabilities as raw data (docs/FIXTURES.md): the MSRs, the CPUID
// leaves the code uses, and the VMCS field encodings the CPU supports. Every line starts with
// `FIXTURE ` so tools/capture-fixtures can cut it out of the serial log (and add the
// machine's name, which the kernel cannot know).
import VMX

/// The CPUID leaves (leaf, subleaf) a fixture records.
let fixtureLeaves: [(UInt32, UInt32)] = [
    (0, 0), (1, 0), (7, 0), (0x8000_0000, 0), (0x8000_0001, 0), (0x8000_0008, 0)
]

/// Prints the fixture. Probes the field set with VMREAD on a fresh current VMCS: every
/// well-formed encoding (SDM 25.11.2: access type, index 9:1, type 11:10, width 14:13) is
/// tried, so the set is the CPU's own, not our table's. Returns false if the probe's VMCS
/// cannot be made current.
func captureFixture<P: Host>(
    cpu: P, capabilities: VMXCapabilities, arena: inout PageArena, operation: VMXRootOperation
) -> Bool {
    cpu.log("FIXTURE # SwiftVMX capability fixture, captured by the kernel")
    for (leaf, subleaf) in fixtureLeaves {
        let r = cpu.cpuid(leaf: leaf, subleaf: subleaf)
        cpu.log(
            """
            FIXTURE cpuid \(hexDigits: leaf, digits: 8) \(hexDigits: subleaf, digits: 8) \
            \(hexDigits: r.eax, digits: 8) \(hexDigits: r.ebx, digits: 8) \(hexDigits: r.ecx, digits: 8) \
            \(hexDigits: r.edx, digits: 8)
            """
        )
    }
    func logMSR(_ address: MSR, _ value: UInt64) {
        cpu.log("FIXTURE msr \(hexDigits: address.rawValue, digits: 8) \(hexDigits: value, digits: 16)")
    }
    logMSR(MSR.ia32FeatureControl, cpu.readMSR(MSR.ia32FeatureControl))
    for address in VMXCapabilities.msrAddresses {
        if let value = capabilities.value(ofMSR: address) { logMSR(address, value) }
    }

    let basic = operation.basic
    guard let vmcs = arena.allocate(bytes: UInt64(basic.vmcsRegionSize), zeroingWith: cpu) else {
        cpu.log("FATAL: no memory for the probe VMCS")
        return false
    }
    cpu.writePhysical32(vmcs, basic.revisionIdentifier)
    do {
        try cpu.vmclear(vmcs)
        try cpu.vmptrld(vmcs)
    } catch {
        cpu.log("FATAL: cannot make the probe VMCS current: \(describe(error))")
        return false
    }
    var line = LogText()
    line.appendLiteral("FIXTURE vmcs-fields")
    var onLine = 0
    for encoding in UInt32(0)..<0x8000 where VMCSField(rawValue: encoding).isWellFormed {
        guard (try? cpu.vmread(VMCSField(rawValue: encoding))) != nil else { continue }
        line.appendLiteral(" ")
        line.appendHexDigits(UInt64(encoding), digits: 4)
        onLine += 1
        if onLine == 16 {
            line.withBytes { cpu.writeConsoleLine($0) }
            line = LogText()
            line.appendLiteral("FIXTURE vmcs-fields")
            onLine = 0
        }
    }
    if onLine > 0 { line.withBytes { cpu.writeConsoleLine($0) } }
    try? cpu.vmclear(vmcs)
    cpu.log("FIXTURE end")
    return true
}
