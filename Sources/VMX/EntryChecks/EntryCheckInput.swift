// Everything a VM-entry check needs besides the rules: the processor's capabilities, the
// VMCS (through a reader), the memory the VMCS points to, and the few pieces of processor
// state chapter 27 consults. The kernel fills it from VMREAD and the capability MSRs of the
// live processor; the emulated CPU from its VMCS storage and profile; a hosted tool from a
// scenario.

/// Model-specific facts some checks need: which bits of an MSR are reserved is not in the
/// VMX capability MSRs but in CPUID (SDM Vol. 4) or the processor's documentation.
public struct EntryCheckProcessorFeatures: Sendable {
    /// Bits IA32_EFER may hold: SCE (0), LME (8), LMA (10), NXE (11) on Intel 64 processors.
    public var eferValidBits: UInt64 = 0x0D01
    /// Bits IA32_DEBUGCTL may hold: LBR (0), BTF (1), TR (6), BTS (7), BTINT (8),
    /// BTS_OFF_OS (9), BTS_OFF_USR (10), FREEZE_LBRS_ON_PMI (11), FREEZE_PERFMON_ON_PMI (12),
    /// ENABLE_UNCORE_PMI (13), FREEZE_WHILE_SMM (14), RTM_DEBUG (15) (SDM Vol. 3B 18.4.1).
    public var debugCtlValidBits: UInt64 = 0xFFC3
    /// Bits IA32_PERF_GLOBAL_CTRL may hold: one enable per general-purpose and fixed counter
    /// (CPUID.0AH, SDM Vol. 3B 20.2.2). 0 when the processor has no architectural PMU.
    public var perfGlobalCtrlValidBits: UInt64 = 0
    /// Bits IA32_RTIT_CTL may hold (Intel PT, SDM Vol. 3C 33.2.8.2); 0 without Intel PT.
    public var rtitCtlValidBits: UInt64 = 0
    /// Bits IA32_LBR_CTL may hold (architectural LBRs, CPUID.1CH); 0 without them.
    public var lbrCtlValidBits: UInt64 = 0
    /// CPUID.(EAX=07H,ECX=0):EBX.RTM[bit 11]: pending debug exceptions may report RTM.
    public var supportsRTM = false
    /// CPUID.(EAX=07H,ECX=0):EBX.SGX[bit 2]: the enclave-interruption bit may be set.
    public var supportsSGX = false
    /// SDM 27.3.1.5: "A processor may require bit 0 (blocking by STI) to be 0" when injecting
    /// an NMI; "other processors may not make this requirement". true: this processor does
    /// (the failure reports exit qualification 3).
    public var requiresNoBlockingBySTIForNMIInjection = true

    public init() {}

    /// The valid bits of IA32_PERF_GLOBAL_CTRL from CPUID leaf 0AH: EAX[15:8] general-purpose
    /// counters (bits 0 up), EDX[4:0] fixed-function counters (bits 32 up) when the
    /// architectural performance-monitoring version (EAX[7:0]) is at least 2.
    public static func perfGlobalCtrlValidBits(cpuidLeaf0A leaf: CPUIDResult) -> UInt64 {
        let version = leaf.eax & 0xFF
        guard version >= 2 else { return 0 }
        let general = min(Int((leaf.eax >> 8) & 0xFF), 32)
        let fixed = min(Int(leaf.edx & 0x1F), 32)
        let generalMask: UInt64 = general == 0 ? 0 : (UInt64(1) << UInt64(general)) &- 1
        let fixedMask: UInt64 = fixed == 0 ? 0 : ((UInt64(1) << UInt64(fixed)) &- 1) << 32
        return generalMask | fixedMask
    }
}

/// The input of one run of the VM-entry checks.
public struct EntryCheckInput {
    /// The VMX capability MSRs of the processor that executes the VM entry.
    public var capabilities: VMXCapabilities
    /// MAXPHYADDR: CPUID.80000008H:EAX[7:0] (SDM Vol. 3A 4.1.4).
    public var physicalAddressWidth: Int
    /// The linear-address width: CPUID.80000008H:EAX[15:8] (48, or 57 with 5-level paging).
    /// An address is canonical when bits 63 down to this width minus 1 are all equal.
    public var linearAddressWidth: Int
    /// Reads a VMCS field of the current VMCS, full width (a 64-bit field in one read). The
    /// checks read only fields that the controls make relevant; for a field the processor
    /// does not support, return 0 (the kernel's VMREAD fails with error 12 there).
    public var readField: (VMCSField) -> UInt64
    /// Reads 8 bytes of physical memory (MSR-load entries, PDPTEs, the link pointer's VMCS
    /// revision identifier, the VTPR). Out-of-range addresses should read as 0.
    public var readPhysical64: (UInt64) -> UInt64
    /// The current-VMCS pointer (the link pointer may not equal it, SDM 27.3.1.5).
    public var currentVMCSPointer: UInt64
    /// The VMXON pointer (documentation of the state; the SMM checks that use it are not
    /// reached outside SMM).
    public var vmxonPointer: UInt64
    /// IA32_EFER.LMA of the processor executing VMLAUNCH/VMRESUME (SDM 27.2.4).
    public var processorInIA32eMode: Bool
    /// Whether VM entry executes in system-management mode (dual-monitor treatment only).
    public var processorInSMM: Bool
    /// Whether WRMSR of the value to the MSR would raise #GP at CPL 0 (SDM 27.4); nil when the
    /// caller cannot tell, which skips that check.
    public var msrWriteFaults: ((UInt32, UInt64) -> Bool)?
    public var features: EntryCheckProcessorFeatures

    public init(
        capabilities: VMXCapabilities,
        physicalAddressWidth: Int,
        linearAddressWidth: Int = 48,
        readField: @escaping (VMCSField) -> UInt64,
        readPhysical64: @escaping (UInt64) -> UInt64,
        currentVMCSPointer: UInt64,
        vmxonPointer: UInt64,
        processorInIA32eMode: Bool = true,
        processorInSMM: Bool = false,
        msrWriteFaults: ((UInt32, UInt64) -> Bool)? = nil,
        features: EntryCheckProcessorFeatures = EntryCheckProcessorFeatures()
    ) {
        self.capabilities = capabilities
        self.physicalAddressWidth = physicalAddressWidth
        self.linearAddressWidth = linearAddressWidth
        self.readField = readField
        self.readPhysical64 = readPhysical64
        self.currentVMCSPointer = currentVMCSPointer
        self.vmxonPointer = vmxonPointer
        self.processorInIA32eMode = processorInIA32eMode
        self.processorInSMM = processorInSMM
        self.msrWriteFaults = msrWriteFaults
        self.features = features
    }
}
