// The seam between the hypervisor and a logical processor (docs/ARCHITECTURE.md).
//
// Everything that touches the processor goes through this protocol. Two conformers:
// the kernel's `RealProcessor` (inline asm in the Intrinsics C module, nasm for VM entry)
// and the hosted `EmulatedCPU`, a model of VMX root operation. Hypervisor code is generic
// over `P: Processor`; Embedded Swift specializes it, so the seam costs nothing in the kernel.
//
// Faults (#UD, #GP) are not results: correct hypervisor code checks before it acts (for
// example it reads an MSR only where the SDM says it exists). A VMX instruction's
// architectural outcome is VMsucceed (a normal return) or a `VMFailure` (SDM Vol. 3C 31.2,
// "Conventions").

/// The general-purpose result of CPUID.
public struct CPUIDResult: Equatable, Sendable {
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
}

/// VMfailInvalid or VMfailValid(error number) (SDM Vol. 3C 31.2).
public enum VMFailure: Error, Equatable, Sendable {
    /// CF = 1: there is no current VMCS to hold an error number.
    case invalid
    /// ZF = 1: the VM-instruction error field of the current VMCS holds the reason.
    case valid(VMInstructionError)
}

/// The control registers the hypervisor reads or writes.
public enum ControlRegister: Sendable {
    case cr0, cr3, cr4
}

public protocol Processor {
    // MARK: Identification and model-specific registers
    func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult
    func readMSR(_ msr: MSR) -> UInt64
    func writeMSR(_ msr: MSR, _ value: UInt64)
    func readControlRegister(_ register: ControlRegister) -> UInt64
    func writeControlRegister(_ register: ControlRegister, _ value: UInt64)

    // MARK: Physical memory (VMXON and VMCS regions, bitmaps, EPT tables, guest memory)
    func readPhysical32(_ address: UInt64) -> UInt32
    func writePhysical32(_ address: UInt64, _ value: UInt32)
    func readPhysical64(_ address: UInt64) -> UInt64
    func writePhysical64(_ address: UInt64, _ value: UInt64)
    /// Fills `count` bytes at `address` with zero.
    func zeroPhysical(_ address: UInt64, count: Int)

    // MARK: VMX instructions (SDM Vol. 3C chapter 31, "VMX Instruction Reference")
    func vmxon(_ region: UInt64) throws(VMFailure)
    func vmxoff() throws(VMFailure)
    func vmclear(_ vmcs: UInt64) throws(VMFailure)
    func vmptrld(_ vmcs: UInt64) throws(VMFailure)
    func vmptrst() throws(VMFailure) -> UInt64
    func vmread(_ field: VMCSField) throws(VMFailure) -> UInt64
    func vmwrite(_ field: VMCSField, _ value: UInt64) throws(VMFailure)

    // MARK: What the VM-entry rules cannot read from a VMCS
    /// Whether WRMSR of a value to an MSR would raise #GP, for the VM-entry MSR-load rule (SDM
    /// 27.4), on a processor whose WRMSR is known in full (the emulated CPU); nil otherwise.
    var msrWriteFaultCheck: ((UInt32, UInt64) -> Bool)? { get }
    /// The end of the physical memory `readPhysical64` can reach (the kernel's identity map):
    /// the VM-entry rules read where a VMCS points - an MSR-load list, the VMCS link pointer's
    /// region - which may be anywhere below the physical-address width.
    var physicalMemoryEnd: UInt64 { get }
}

extension Processor {
    /// A real processor's WRMSR is known only by executing it.
    public var msrWriteFaultCheck: ((UInt32, UInt64) -> Bool)? { nil }
    /// Everything: the processor itself answers for memory nothing backs (the emulated CPU
    /// reads all ones there).
    public var physicalMemoryEnd: UInt64 { .max }
}
