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
        leaf1ECX: (CPUIDFeatures1ECX.x2apic.rawValue | CPUIDFeatures1ECX.pdcm.rawValue
            | CPUIDFeatures1ECX.tm2.rawValue),
        leaf1EDX: (CPUIDFeatures1EDX.acpi.rawValue | CPUIDFeatures1EDX.tm.rawValue), leaf6EAX: .max,
        leaf6ECX: (CPUIDThermalAndPowerECX.hardwareCoordinationFeedback.rawValue
            | CPUIDThermalAndPowerECX.energyPerformanceBias.rawValue),
        leaf7ECX: CPUIDStructuredFeaturesECX.la57.rawValue)
}

public enum GuestCPUID {
    /// Leaf 40000000H: EBX, ECX, EDX spell "SwiftVMX" and four zero bytes.
    public static let signature: (UInt32, UInt32, UInt32) = (0x6669_7753, 0x584D_5674, 0)
    /// The highest hypervisor leaf.
    public static let highestHypervisorLeaf: UInt32 = CPUIDLeaf.hypervisorBase + 1

    // CPUID.1:ECX features every guest loses: VMX, SMX, and XSAVE with what depends on it.
    static let leaf1ECXHidden: UInt32 =
        (CPUIDFeatures1ECX.vmx.rawValue | CPUIDFeatures1ECX.smx.rawValue
            | CPUIDFeatures1ECX.xsave.rawValue | CPUIDFeatures1ECX.osxsave.rawValue | CPUIDFeatures1ECX.avx.rawValue
            | CPUIDFeatures1ECX.f16c.rawValue | CPUIDFeatures1ECX.fma.rawValue)
    static let hypervisor: UInt32 = CPUIDFeatures1ECX.hypervisor.rawValue
    // CPUID.(EAX=7,ECX=0): AVX2, AVX-512, PKU/OSPKE, VAES, VPCLMULQDQ and AMX.
    static let leaf7AVXEBX: UInt32 =
        (CPUIDStructuredFeaturesEBX.avx2.rawValue
            | CPUIDStructuredFeaturesEBX.avx512.rawValue)
    static let invpcid: UInt32 = CPUIDStructuredFeaturesEBX.invpcid.rawValue
    static let leaf7AVXECX: UInt32 =
        (CPUIDStructuredFeaturesECX.avx512.rawValue
            | CPUIDStructuredFeaturesECX.protectionKeys.rawValue | CPUIDStructuredFeaturesECX.vaes.rawValue
            | CPUIDStructuredFeaturesECX.vpclmulqdq.rawValue)
    static let leaf7AVXEDX: UInt32 =
        (CPUIDStructuredFeaturesEDX.avx512.rawValue
            | CPUIDStructuredFeaturesEDX.amx.rawValue)
    static let rdtscp: UInt32 = CPUIDExtendedFeaturesEDX.rdtscp.rawValue
    /// The basic leaves `result` changes, as bits 0-31: 1, 6, 7 and 0DH.
    static let changedBasicLeaves: UInt32 =
        1 << CPUIDLeaf.versionAndFeatures | 1 << CPUIDLeaf.thermalAndPower
        | 1 << CPUIDLeaf.structuredExtendedFeatures | 1 << CPUIDLeaf.extendedState

    /// Whether `result` changes anything of `leaf`: the leaves below 32 it edits, and every
    /// leaf from 40000000H on. Checked first on every CPUID exit, before anything is loaded.
    @inline(__always)
    public static func changes(leaf: UInt32) -> Bool {
        leaf >= CPUIDLeaf.hypervisorBase || (leaf < 32 && (changedBasicLeaves >> leaf) & 1 != 0)
    }

    /// What the guest sees for `leaf`/`subleaf`, given the processor's answer `host`.
    public static func result(
        leaf: UInt32, subleaf: UInt32, host: CPUIDResult, setup: ControlSetup,
        view: CPUIDView = .sandboxed
    ) -> CPUIDResult {
        guard changes(leaf: leaf) else { return host }
        var r = host
        switch leaf {
        case CPUIDLeaf.versionAndFeatures:
            r.ecx &= ~(leaf1ECXHidden | view.leaf1ECX)
            r.ecx |= hypervisor
            r.edx &= ~view.leaf1EDX
        case CPUIDLeaf.thermalAndPower:
            r.eax &= ~view.leaf6EAX
            r.ecx &= ~view.leaf6ECX
        case CPUIDLeaf.structuredExtendedFeatures:
            if subleaf == 0 {
                r.ebx &= ~leaf7AVXEBX
                if !setup.enablesINVPCID { r.ebx &= ~invpcid }
                r.ecx &= ~(leaf7AVXECX | view.leaf7ECX)
                r.edx &= ~leaf7AVXEDX
            }
        case CPUIDLeaf.extendedState:
            r = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)  // no XSAVE state components
        case CPUIDLeaf.hypervisorBase:
            r = CPUIDResult(eax: highestHypervisorLeaf, ebx: signature.0, ecx: signature.1, edx: signature.2)
        case highestHypervisorLeaf:
            r = CPUIDResult(eax: Hypercall.abiVersion, ebx: 0, ecx: 0, edx: 0)
        case highestHypervisorLeaf + 1...CPUIDLeaf.hypervisorLast:
            r = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
        case CPUIDLeaf.extendedFeatures:
            if !setup.enablesRDTSCP { r.edx &= ~rdtscp }
        default:
            break
        }
        return r
    }
}

public func handleCPUID<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let leaf = UInt32(truncatingIfNeeded: vcpu.registers.rax)
    let subleaf = UInt32(truncatingIfNeeded: vcpu.registers.rcx)
    let host = vcpu.cpu.cpuid(leaf: leaf, subleaf: subleaf)
    let r = GuestCPUID.changes(leaf: leaf) ? guestView(vcpu, leaf: leaf, subleaf: subleaf, host: host) : host
    // CPUID writes EAX, EBX, ECX, EDX, which clears bits 63:32 of RAX..RDX.
    vcpu.registers.rax = UInt64(r.eax)
    vcpu.registers.rbx = UInt64(r.ebx)
    vcpu.registers.rcx = UInt64(r.ecx)
    vcpu.registers.rdx = UInt64(r.edx)
    vcpu.skipInstruction(exit)
    return .resume
}

/// The leaves `GuestCPUID.result` edits, out of line: the common case then needs no stack frame
/// for the set-up it reads.
@inline(never)
func guestView<P: Host>(_ vcpu: VirtualCPU<P>, leaf: UInt32, subleaf: UInt32, host: CPUIDResult) -> CPUIDResult {
    GuestCPUID.result(leaf: leaf, subleaf: subleaf, host: host, setup: vcpu.setup, view: vcpu.cpuidView)
}
