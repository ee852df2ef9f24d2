// The shared VM-entry rule list (Sources/VMX/EntryChecks, docs/ENTRY-CHECKS.md) run on the live
// current VMCS of a processor: fields read back with VMREAD (0 for a field the processor does
// not support, where VMREAD fails with error 12), memory through the seam, the capability MSRs
// and CPUID for the widths. The processor features the capability MSRs do not give are the
// defaults the emulated CPU also uses, so both worlds predict the same way.
import VMX

/// Builds the rule list's input for the current VMCS `vmcs` of `cpu`.
public func liveEntryCheckInput<P: Processor>(capabilities: VMXCapabilities, vmcs: UInt64, cpu: P) -> EntryCheckInput {
    let widths = addressWidths(of: cpu)
    return EntryCheckInput(
        capabilities: capabilities,
        physicalAddressWidth: widths.physical,
        linearAddressWidth: widths.linear,
        readField: { field in (try? cpu.vmread(field)) ?? 0 },
        // Beyond the memory the host reaches, all ones, as a read nothing backs returns.
        readPhysical64: { address in
            address < cpu.physicalMemoryEnd &- 7 ? cpu.readPhysical64(address) : .max
        },
        currentVMCSPointer: vmcs,
        vmxonPointer: 0,
        // The hypervisor runs in 64-bit mode in both worlds (SDM 27.2.4: IA32_EFER.LMA = 1).
        processorInIA32eMode: cpu.readMSR(MSR.ia32EFER) & ExtendedFeatureEnable.lma.rawValue != 0,
        msrWriteFaults: cpu.msrWriteFaultCheck)
}

/// MAXPHYADDR and the linear-address width: CPUID.80000008H:EAX[7:0] and [15:8] (36 and 48
/// without that leaf; SDM Vol. 3A 4.1.4).
func addressWidths<P: Processor>(of cpu: P) -> (physical: Int, linear: Int) {
    let maxExtended = cpu.cpuid(leaf: CPUIDLeaf.extendedBase, subleaf: 0).eax
    guard maxExtended >= CPUIDLeaf.addressSizes else { return (36, 48) }
    let eax = cpu.cpuid(leaf: CPUIDLeaf.addressSizes, subleaf: 0).eax
    let linear = Int((eax >> 8) & 0xFF)
    return (Int(eax & 0xFF), linear == 0 ? 48 : linear)
}
