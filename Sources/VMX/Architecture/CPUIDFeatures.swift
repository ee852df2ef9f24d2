// CPUID leaves and the feature bits the hypervisor reads or hides (SDM Vol. 2A CPUID,
// Tables 3-8 "Information Returned by CPUID", 3-10 and 3-11 "Feature Information").

/// CPUID leaf numbers (the value of EAX).
public enum CPUIDLeaf {
    /// 01H: version information and feature flags.
    public static let versionAndFeatures: UInt32 = 1
    /// 06H: thermal and power management.
    public static let thermalAndPower: UInt32 = 6
    /// 07H: structured extended feature flags.
    public static let structuredExtendedFeatures: UInt32 = 7
    /// 0DH: processor extended state enumeration (XSAVE).
    public static let extendedState: UInt32 = 0xD
    /// 40000000H-400000FFH: reserved for hypervisors; 40000000H names the highest of them.
    public static let hypervisorBase: UInt32 = 0x4000_0000
    public static let hypervisorLast: UInt32 = 0x4000_00FF
    /// 80000000H: the highest extended leaf.
    public static let extendedBase: UInt32 = 0x8000_0000
    /// 80000001H: extended feature bits.
    public static let extendedFeatures: UInt32 = 0x8000_0001
    /// 80000008H: physical and linear address sizes.
    public static let addressSizes: UInt32 = 0x8000_0008
}

/// CPUID.01H:ECX feature flags (Table 3-10).
public struct CPUIDFeatures1ECX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// VMX (bit 5): virtual machine extensions.
    public static let vmx = Self(rawValue: 1 << 5)
    /// SMX (bit 6): safer mode extensions.
    public static let smx = Self(rawValue: 1 << 6)
    /// TM2 (bit 8): thermal monitor 2.
    public static let tm2 = Self(rawValue: 1 << 8)
    /// FMA (bit 12).
    public static let fma = Self(rawValue: 1 << 12)
    /// PDCM (bit 15): perfmon and debug capability (IA32_PERF_CAPABILITIES).
    public static let pdcm = Self(rawValue: 1 << 15)
    /// x2APIC (bit 21).
    public static let x2apic = Self(rawValue: 1 << 21)
    /// XSAVE (bit 26).
    public static let xsave = Self(rawValue: 1 << 26)
    /// OSXSAVE (bit 27).
    public static let osxsave = Self(rawValue: 1 << 27)
    /// AVX (bit 28).
    public static let avx = Self(rawValue: 1 << 28)
    /// F16C (bit 29).
    public static let f16c = Self(rawValue: 1 << 29)
    /// Bit 31: not used by Intel processors, set by hypervisors ("hypervisor present").
    public static let hypervisor = Self(rawValue: 1 << 31)
}

/// CPUID.01H:EDX feature flags (Table 3-11).
public struct CPUIDFeatures1EDX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// ACPI (bit 22): thermal monitor and software controlled clock facilities.
    public static let acpi = Self(rawValue: 1 << 22)
    /// TM (bit 29): thermal monitor.
    public static let tm = Self(rawValue: 1 << 29)
}

/// CPUID.06H:ECX (Table 3-8).
public struct CPUIDThermalAndPowerECX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0: hardware coordination feedback capability (IA32_MPERF, IA32_APERF).
    public static let hardwareCoordinationFeedback = Self(rawValue: 1 << 0)
    /// Bit 3: performance-energy bias preference (IA32_ENERGY_PERF_BIAS).
    public static let energyPerformanceBias = Self(rawValue: 1 << 3)
}

/// CPUID.(EAX=07H,ECX=0):EBX (Table 3-8).
public struct CPUIDStructuredFeaturesEBX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// AVX2 (bit 5).
    public static let avx2 = Self(rawValue: 1 << 5)
    /// INVPCID (bit 10).
    public static let invpcid = Self(rawValue: 1 << 10)
    /// AVX512F (16), AVX512DQ (17), AVX512_IFMA (21), AVX512PF (26), AVX512ER (27), AVX512CD (28),
    /// AVX512BW (30), AVX512VL (31).
    public static let avx512 = Self(
        rawValue: 1 << 16 | 1 << 17 | 1 << 21 | 1 << 26 | 1 << 27 | 1 << 28
            | 1 << 30 | 1 << 31)
}

/// CPUID.(EAX=07H,ECX=0):ECX (Table 3-8).
public struct CPUIDStructuredFeaturesECX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// AVX512_VBMI (1), AVX512_VBMI2 (6), AVX512_VNNI (11), AVX512_BITALG (12),
    /// AVX512_VPOPCNTDQ (14).
    public static let avx512 = Self(rawValue: 1 << 1 | 1 << 6 | 1 << 11 | 1 << 12 | 1 << 14)
    /// PKU (bit 3) and OSPKE (bit 4): protection keys for user-mode pages.
    public static let protectionKeys = Self(rawValue: 1 << 3 | 1 << 4)
    /// VAES (bit 9).
    public static let vaes = Self(rawValue: 1 << 9)
    /// VPCLMULQDQ (bit 10).
    public static let vpclmulqdq = Self(rawValue: 1 << 10)
    /// LA57 (bit 16): 5-level paging.
    public static let la57 = Self(rawValue: 1 << 16)
}

/// CPUID.(EAX=07H,ECX=0):EDX (Table 3-8).
public struct CPUIDStructuredFeaturesEDX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// AVX512_4VNNIW (2), AVX512_4FMAPS (3), AVX512_VP2INTERSECT (8), AVX512_FP16 (23).
    public static let avx512 = Self(rawValue: 1 << 2 | 1 << 3 | 1 << 8 | 1 << 23)
    /// AMX-BF16 (22), AMX-TILE (24), AMX-INT8 (25).
    public static let amx = Self(rawValue: 1 << 22 | 1 << 24 | 1 << 25)
}

/// CPUID.80000001H:EDX (Table 3-8).
public struct CPUIDExtendedFeaturesEDX: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// RDTSCP and IA32_TSC_AUX (bit 27).
    public static let rdtscp = Self(rawValue: 1 << 27)
}
