// The processor the kernel runs on, behind the `Processor` seam (Sources/VMX/Processor.swift).
// Each requirement is one instruction from the Intrinsics module; physical memory is reached
// through the identity map the boot code built (addresses below 4 GiB).
import Intrinsics
import VMX

public struct RealProcessor: Processor {
    public init() {}

    public func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        let r = x86_cpuid(leaf, subleaf)
        return CPUIDResult(eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx)
    }

    public func readMSR(_ msr: MSR) -> UInt64 { x86_rdmsr(msr.rawValue) }
    public func writeMSR(_ msr: MSR, _ value: UInt64) { x86_wrmsr(msr.rawValue, value) }

    public func readControlRegister(_ register: ControlRegister) -> UInt64 {
        switch register {
        case .cr0: return x86_read_cr0()
        case .cr3: return x86_read_cr3()
        case .cr4: return x86_read_cr4()
        }
    }

    public func writeControlRegister(_ register: ControlRegister, _ value: UInt64) {
        switch register {
        case .cr0: x86_write_cr0(value)
        case .cr3: x86_write_cr3(value)
        case .cr4: x86_write_cr4(value)
        }
    }

    // MARK: Physical memory (identity-mapped)

    // `unsafelyUnwrapped`: the hypervisor's addresses are never 0 (the arena starts at 16 MiB),
    // and the exit statistics are updated through these on every VM exit.
    public var physicalMemoryEnd: UInt64 { IdentityMap.limit }
    public func readPhysical32(_ address: UInt64) -> UInt32 {
        return UnsafeRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped.loadUnaligned(as: UInt32.self)
    }
    public func writePhysical32(_ address: UInt64, _ value: UInt32) {
        UnsafeMutableRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped.storeBytes(of: value, as: UInt32.self)
    }
    public func readPhysical64(_ address: UInt64) -> UInt64 {
        return UnsafeRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped.loadUnaligned(as: UInt64.self)
    }
    public func writePhysical64(_ address: UInt64, _ value: UInt64) {
        UnsafeMutableRawPointer(bitPattern: UInt(address)).unsafelyUnwrapped.storeBytes(of: value, as: UInt64.self)
    }
    public func zeroPhysical(_ address: UInt64, count: Int) {
        UnsafeMutableRawPointer(bitPattern: UInt(address))!.initializeMemory(as: UInt8.self, repeating: 0, count: count)
    }

    // MARK: VMX instructions (SDM Vol. 3C 31.3)

    public func vmxon(_ region: UInt64) throws(VMFailure) { try outcome(x86_vmxon(region)) }
    public func vmxoff() throws(VMFailure) { try outcome(x86_vmxoff()) }
    public func vmclear(_ vmcs: UInt64) throws(VMFailure) { try outcome(x86_vmclear(vmcs)) }
    public func vmptrld(_ vmcs: UInt64) throws(VMFailure) { try outcome(x86_vmptrld(vmcs)) }

    public func vmptrst() throws(VMFailure) -> UInt64 {
        var pointer: UInt64 = 0
        try outcome(x86_vmptrst(&pointer))
        return pointer
    }

    @inline(__always)
    public func vmread(_ field: VMCSField) throws(VMFailure) -> UInt64 {
        var value: UInt64 = 0
        try outcome(x86_vmread(UInt64(field.rawValue), &value))
        return value
    }

    @inline(__always)
    public func vmwrite(_ field: VMCSField, _ value: UInt64) throws(VMFailure) {
        try outcome(x86_vmwrite(UInt64(field.rawValue), value))
    }

    /// VMsucceed returns; VMfailInvalid (CF) and VMfailValid (ZF) throw, the latter with the
    /// current VMCS's VM-instruction error field (encoding 0x4400, SDM 31.4).
    @inline(__always)
    func outcome(_ code: CInt) throws(VMFailure) {
        if code != CInt(VMX_SUCCEED) { throw failure(code) }
    }

    @inline(never)
    func failure(_ code: CInt) -> VMFailure {
        if code == CInt(VMX_FAIL_INVALID) { return .invalid }
        var error: UInt64 = 0
        _ = x86_vmread(UInt64(VMCSField.vmInstructionError.rawValue), &error)
        return .valid(VMInstructionError(rawValue: UInt32(truncatingIfNeeded: error)))
    }
}

/// RDMSR and WRMSR of a typed address, for the kernel's own code outside the seam (start-up of
/// the processors, the host timer, the host state).
@inline(__always)
func x86_rdmsr(_ msr: MSR) -> UInt64 { x86_rdmsr(msr.rawValue) }

@inline(__always)
func x86_wrmsr(_ msr: MSR, _ value: UInt64) { x86_wrmsr(msr.rawValue, value) }
