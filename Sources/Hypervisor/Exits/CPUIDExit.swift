// CPUID, exit reason 10: CPUID always exits in VMX non-root operation (SDM 26.1.2). The guest
// sees the processor's own answer with what it cannot use taken out: VMX and SMX (it runs in
// VMX non-root operation), XSAVE and everything that depends on it (the hypervisor does not
// switch XCR0 or extended state), RDTSCP and INVPCID where the controls do not enable them;
// the hypervisor-present bit is set, and leaves 40000000H-400000FFH describe the hypervisor.
import VMX

/// Feature bits a kind of guest does not see, on top of what every guest loses
/// (`GuestCPUID.result`).
public struct CPUIDView: Equatable, Sendable {
    public var leaf1ECX: UInt32 = 0
    public var leaf1EDX: UInt32 = 0
    public var leaf6EAX: UInt32 = 0
    public var leaf6ECX: UInt32 = 0
    public var leaf7ECX: UInt32 = 0

    public static let sandboxed = CPUIDView()

    /// A pass-through guest (docs/LINUX.md, "CPUID"): x2APIC (1:ECX[21]; writes that switch
    /// the APIC to x2APIC mode are refused) and 5-level paging (7:ECX[16]; LA57 would need
    /// unrestricted guest to enter) are hidden, and so are features whose MSRs a processor
    /// like Bochs announces without implementing them, as KVM hides what it does not
    /// emulate: perfmon and debug capabilities (1:ECX[15] PDCM), thermal monitoring
    /// (1:EDX[22] ACPI, [29] TM; 1:ECX[8] TM2; all of leaf 6 EAX: DTS, turbo, HWP...),
    /// APERF/MPERF (6:ECX[0]) and the energy-performance bias (6:ECX[3]).
    public static let passThrough = CPUIDView(
        leaf1ECX: 1 << 21 | 1 << 15 | 1 << 8, leaf1EDX: 1 << 22 | 1 << 29, leaf6EAX: .max,
        leaf6ECX: 1 << 0 | 1 << 3, leaf7ECX: 1 << 16)
}

public enum GuestCPUID {
    /// Leaf 40000000H: EBX, ECX, EDX spell "SwiftVMX" and four zero bytes.
    public static let signature: (UInt32, UInt32, UInt32) = (0x6669_7753, 0x584D_5674, 0)
    /// The highest hypervisor leaf.
    public static let highestHypervisorLeaf: UInt32 = 0x4000_0001

    // CPUID.1:ECX (SDM Vol. 2A, Table 3-10).
    static let vmx: UInt32 = 1 << 5, smx: UInt32 = 1 << 6, xsave: UInt32 = 1 << 26
    static let osxsave: UInt32 = 1 << 27, avx: UInt32 = 1 << 28, f16c: UInt32 = 1 << 29, fma: UInt32 = 1 << 12
    static let hypervisor: UInt32 = 1 << 31
    // CPUID.(EAX=7,ECX=0): EBX AVX2 (5), INVPCID (10), AVX-512 F/DQ/IFMA/PF/ER/CD/BW/VL
    // (16, 17, 21, 26, 27, 28, 30, 31); ECX AVX-512 VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ (1, 6, 11,
    // 12, 14), VAES (9), VPCLMULQDQ (10), PKU/OSPKE (3, 4); EDX AVX-512 4VNNIW/4FMAPS (2, 3),
    // VP2INTERSECT (8), AMX (22, 24, 25), AVX512-FP16 (23) (SDM Vol. 2A Table 3-8).
    static let leaf7AVXEBX: UInt32 = 1 << 5 | 1 << 16 | 1 << 17 | 1 << 21 | 1 << 26 | 1 << 27 | 1 << 28 | 1 << 30 | 1 << 31
    static let invpcid: UInt32 = 1 << 10
    static let leaf7AVXECX: UInt32 = 1 << 1 | 1 << 3 | 1 << 4 | 1 << 6 | 1 << 9 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 14
    static let leaf7AVXEDX: UInt32 = 1 << 2 | 1 << 3 | 1 << 8 | 1 << 22 | 1 << 23 | 1 << 24 | 1 << 25
    // CPUID.80000001H:EDX RDTSCP (27).
    static let rdtscp: UInt32 = 1 << 27

    /// What the guest sees for `leaf`/`subleaf`, given the processor's answer `host`.
    @inline(__always)
    public static func result(leaf: UInt32, subleaf: UInt32, host: CPUIDResult, setup: ControlSetup,
                              view: CPUIDView = .sandboxed) -> CPUIDResult {
        // Leaves with nothing to change (0, 2-5, 8-CH, 0EH-3FFFFFFFH), first: the common case.
        if leaf < 0x4000_0000 && leaf != 1 && leaf != 6 && leaf != 7 && leaf != 0xD { return host }
        var r = host
        switch leaf {
        case 1:
            r.ecx &= ~(vmx | smx | xsave | osxsave | avx | f16c | fma | view.leaf1ECX)
            r.ecx |= hypervisor
            r.edx &= ~view.leaf1EDX
        case 6:
            r.eax &= ~view.leaf6EAX
            r.ecx &= ~view.leaf6ECX
        case 7:
            if subleaf == 0 {
                r.ebx &= ~leaf7AVXEBX
                if !setup.enablesINVPCID { r.ebx &= ~invpcid }
                r.ecx &= ~(leaf7AVXECX | view.leaf7ECX)
                r.edx &= ~leaf7AVXEDX
            }
        case 0xD:
            r = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)   // no XSAVE state components
        case 0x4000_0000:
            r = CPUIDResult(eax: highestHypervisorLeaf, ebx: signature.0, ecx: signature.1, edx: signature.2)
        case 0x4000_0001:
            r = CPUIDResult(eax: Hypercall.abiVersion, ebx: 0, ecx: 0, edx: 0)
        case 0x4000_0002...0x4000_00FF:
            r = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
        case 0x8000_0001:
            if !setup.enablesRDTSCP { r.edx &= ~rdtscp }
        default:
            break
        }
        return r
    }
}

public func handleCPUID<P: GuestProcessor>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let leaf = UInt32(truncatingIfNeeded: vcpu.registers.rax)
    let subleaf = UInt32(truncatingIfNeeded: vcpu.registers.rcx)
    let r = GuestCPUID.result(leaf: leaf, subleaf: subleaf, host: vcpu.cpu.cpuid(leaf: leaf, subleaf: subleaf),
                              setup: vcpu.setup, view: vcpu.cpuidView)
    // CPUID writes EAX, EBX, ECX, EDX, which clears bits 63:32 of RAX..RDX.
    vcpu.registers.rax = UInt64(r.eax)
    vcpu.registers.rbx = UInt64(r.ebx)
    vcpu.registers.rcx = UInt64(r.ecx)
    vcpu.registers.rdx = UInt64(r.edx)
    vcpu.skipInstruction(exit)
    return .resume
}
