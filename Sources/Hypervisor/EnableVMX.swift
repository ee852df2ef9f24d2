// Entering and leaving VMX root operation, step by step as the SDM describes it:
// SDM 24.6 "Discovering Support for VMX", 24.7 "Enabling and Entering VMX Operation",
// 24.8 "Restrictions on VMX Operation", 24.11.5 "VMXON Region", and 31.3 VMXON/VMXOFF.
import VMX

/// Proof of being in VMX root operation, and what leaving it needs.
public struct VMXRootOperation {
    public let vmxonRegion: UInt64
    public let basic: VMXBasic
    /// The physical-address width (CPUID.80000008H:EAX[7:0]) that bounds every VMX pointer.
    public let physicalAddressWidth: UInt8
}

/// Enables VMX and executes VMXON. Each step writes one line to the console, unless `quiet` (the
/// other processors, whose start-up reports one line of its own); each failure names its condition.
/// `quiet` has no default: a default argument is a function of its own, which gdb's
/// `hbreak enableVMX<A>(on:arena:quiet:)` would also stop in (tools/gdb-test).
public func enableVMX<P: Host>(
    on cpu: P, arena: inout PageArena, quiet: Bool
) throws(VMXEnableError) -> VMXRootOperation {
    // SDM 24.6: VMX is supported when CPUID.1:ECX.VMX[bit 5] = 1.
    let features = cpu.cpuid(leaf: 1, subleaf: 0).ecx
    guard features & CPUIDFeatures1ECX.vmx.rawValue != 0 else { throw .vmxNotSupported }
    if !quiet { cpu.log("VMX: supported (CPUID.1:ECX.VMX[bit 5] = 1)") }

    try enableInFeatureControl(on: cpu, smx: features & CPUIDFeatures1ECX.smx.rawValue != 0, quiet: quiet)

    // SDM 24.8: CR0 and CR4 must hold the values IA32_VMX_CRn_FIXED0/1 require; CR4.VMXE = 1
    // is among them and is what makes VMXON legal at all (SDM 24.7).
    let cr0 = FixedBits(fixed0: cpu.readMSR(MSR.ia32VMXCR0Fixed0), fixed1: cpu.readMSR(MSR.ia32VMXCR0Fixed1))
    try bringWithinFixedBits(.cr0, cr0, on: cpu, quiet: quiet)
    var cr4 = FixedBits(fixed0: cpu.readMSR(MSR.ia32VMXCR4Fixed0), fixed1: cpu.readMSR(MSR.ia32VMXCR4Fixed1))
    cr4.fixed0 |= ControlRegister4.vmxe.rawValue
    try bringWithinFixedBits(.cr4, cr4, on: cpu, quiet: quiet)

    // SDM 24.11.5: the VMXON region is 4-KiB aligned, of the size IA32_VMX_BASIC[44:32] gives,
    // within the physical-address width, and below 4 GiB when IA32_VMX_BASIC[48] = 1. Its first
    // 31 bits hold the VMCS revision identifier and bit 31 is clear.
    let basic = VMXBasic(rawValue: cpu.readMSR(MSR.ia32VMXBasic))
    let width = UInt8(truncatingIfNeeded: addressWidths(of: cpu).physical)
    var limit: UInt64 = width >= 64 ? .max : UInt64(1) << UInt64(width)
    if basic.physicalAddressesLimitedTo32Bits { limit = min(limit, UInt64(1) << 32) }
    let size = UInt64(basic.vmcsRegionSize)
    guard let region = arena.allocate(bytes: size, below: limit, zeroingWith: cpu) else {
        throw .noMemoryForVMXONRegion(size: size, limit: limit)
    }
    cpu.writePhysical32(region, basic.revisionIdentifier)
    if !quiet {
        cpu.log(
            "VMX: VMXON region at \(hex: region), \(size) bytes, revision identifier \(hex: basic.revisionIdentifier)")
    }

    do { try cpu.vmxon(region) } catch { throw .vmxonFailed(error) }
    if !quiet { cpu.log("VMX: VMXON succeeded: in VMX root operation") }
    return VMXRootOperation(vmxonRegion: region, basic: basic, physicalAddressWidth: width)
}

/// Leaves VMX operation: VMXOFF, then CR4.VMXE = 0 (SDM 24.7); one line unless `quiet`.
public func disableVMX<P: Host>(
    _ operation: VMXRootOperation, on cpu: P, quiet: Bool
) throws(VMXEnableError) {
    do { try cpu.vmxoff() } catch { throw .vmxoffFailed(error) }
    let cr4 = cpu.readControlRegister(.cr4)
    cpu.writeControlRegister(.cr4, cr4 & ~ControlRegister4.vmxe.rawValue)
    if !quiet { cpu.log("VMX: VMXOFF succeeded, CR4.VMXE cleared") }
}

/// SDM 24.7: VMXON needs IA32_FEATURE_CONTROL locked with "enable VMX outside SMX" set. When
/// firmware left it unlocked, set that bit (and "inside SMX" where SMX exists) and lock it.
private func enableInFeatureControl<P: Host>(
    on cpu: P, smx: Bool, quiet: Bool
) throws(VMXEnableError) {
    let value = cpu.readMSR(MSR.ia32FeatureControl)
    if value & FeatureControl.lock.rawValue != 0 {
        guard value & FeatureControl.enableVMXOutsideSMX.rawValue != 0 else {
            throw .disabledByFirmware(featureControl: value)
        }
        if !quiet {
            cpu.log("VMX: IA32_FEATURE_CONTROL = \(hex: value): locked by firmware, VMXON outside SMX enabled")
        }
        return
    }
    var wanted = value | FeatureControl.enableVMXOutsideSMX.rawValue | FeatureControl.lock.rawValue
    if smx { wanted |= FeatureControl.enableVMXInsideSMX.rawValue }
    cpu.writeMSR(MSR.ia32FeatureControl, wanted)
    let readBack = cpu.readMSR(MSR.ia32FeatureControl)
    guard readBack == wanted else { throw .featureControlNotWritable(wrote: wanted, readBack: readBack) }
    if !quiet {
        cpu.log("VMX: IA32_FEATURE_CONTROL \(hex: value) -> \(hex: wanted): VMXON outside SMX enabled, locked")
    }
}

/// Writes the register with the fixed bits applied and checks that every bit took.
private func bringWithinFixedBits<P: Host>(
    _ register: ControlRegister, _ fixed: FixedBits, on cpu: P, quiet: Bool
) throws(VMXEnableError) {
    let name: StaticString = register == .cr0 ? "CR0" : "CR4"
    let current = cpu.readControlRegister(register)
    let wanted = fixed.apply(to: current)
    if wanted != current { cpu.writeControlRegister(register, wanted) }
    let actual = cpu.readControlRegister(register)
    let wrong = actual ^ wanted
    if wrong != 0 {
        let bit = wrong.trailingZeroBitCount
        throw .controlRegisterBitNotAccepted(
            register: register, bit: bit, required: wanted & (UInt64(1) << UInt64(bit)) != 0)
    }
    if !quiet {
        cpu.log(
            "VMX: \(name) \(hex: current) -> \(hex: actual) (fixed0 \(hex: fixed.fixed0), fixed1 \(hex: fixed.fixed1))")
    }
}
