// Secondary processor-based VM-execution controls (SDM 25.6.2), in effect only
// when the primary control "activate secondary controls" is 1. Allowed settings:
// IA32_VMX_PROCBASED_CTLS2 (SDM A.3.3), which has no TRUE variant and no default1 class.

public struct SecondaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let virtualizeAPICAccesses = Self(rawValue: 1 << 0)
    public static let enableEPT = Self(rawValue: 1 << 1)
    public static let descriptorTableExiting = Self(rawValue: 1 << 2)
    public static let enableRDTSCP = Self(rawValue: 1 << 3)
    public static let virtualizeX2APICMode = Self(rawValue: 1 << 4)
    public static let enableVPID = Self(rawValue: 1 << 5)
    public static let wbinvdExiting = Self(rawValue: 1 << 6)
    public static let unrestrictedGuest = Self(rawValue: 1 << 7)
    public static let apicRegisterVirtualization = Self(rawValue: 1 << 8)
    public static let virtualInterruptDelivery = Self(rawValue: 1 << 9)
    public static let pauseLoopExiting = Self(rawValue: 1 << 10)
    public static let rdrandExiting = Self(rawValue: 1 << 11)
    public static let enableINVPCID = Self(rawValue: 1 << 12)
    public static let enableVMFunctions = Self(rawValue: 1 << 13)
    public static let vmcsShadowing = Self(rawValue: 1 << 14)
    public static let enableENCLSExiting = Self(rawValue: 1 << 15)
    public static let rdseedExiting = Self(rawValue: 1 << 16)
    public static let enablePML = Self(rawValue: 1 << 17)
    public static let eptViolationVE = Self(rawValue: 1 << 18)
    public static let concealVMXFromPT = Self(rawValue: 1 << 19)
    public static let enableXSAVESXRSTORS = Self(rawValue: 1 << 20)
    public static let pasidTranslation = Self(rawValue: 1 << 21)
    public static let modeBasedExecuteControlForEPT = Self(rawValue: 1 << 22)
    public static let subPageWritePermissionsForEPT = Self(rawValue: 1 << 23)
    public static let intelPTUsesGuestPhysicalAddresses = Self(rawValue: 1 << 24)
    public static let useTSCScaling = Self(rawValue: 1 << 25)
    public static let enableUserWaitAndPause = Self(rawValue: 1 << 26)
    public static let enablePCONFIG = Self(rawValue: 1 << 27)
    public static let enableENCLVExiting = Self(rawValue: 1 << 28)
    public static let vmmBusLockDetection = Self(rawValue: 1 << 30)
    public static let instructionTimeout = Self(rawValue: 1 << 31)

    public static let namedBits: [NamedBit] = [
        NamedBit(0, "Virtualize APIC accesses"),
        NamedBit(1, "Enable EPT"),
        NamedBit(2, "Descriptor-table exiting"),
        NamedBit(3, "Enable RDTSCP"),
        NamedBit(4, "Virtualize x2APIC mode"),
        NamedBit(5, "Enable VPID"),
        NamedBit(6, "WBINVD exiting"),
        NamedBit(7, "Unrestricted guest"),
        NamedBit(8, "APIC-register virtualization"),
        NamedBit(9, "Virtual-interrupt delivery"),
        NamedBit(10, "PAUSE-loop exiting"),
        NamedBit(11, "RDRAND exiting"),
        NamedBit(12, "Enable INVPCID"),
        NamedBit(13, "Enable VM functions"),
        NamedBit(14, "VMCS shadowing"),
        NamedBit(15, "Enable ENCLS exiting"),
        NamedBit(16, "RDSEED exiting"),
        NamedBit(17, "Enable PML"),
        NamedBit(18, "EPT-violation #VE"),
        NamedBit(19, "Conceal VMX from PT"),
        NamedBit(20, "Enable XSAVES/XRSTORS"),
        NamedBit(21, "PASID translation"),
        NamedBit(22, "Mode-based execute control for EPT"),
        NamedBit(23, "Sub-page write permissions for EPT"),
        NamedBit(24, "Intel PT uses guest physical addresses"),
        NamedBit(25, "Use TSC scaling"),
        NamedBit(26, "Enable user wait and pause"),
        NamedBit(27, "Enable PCONFIG"),
        NamedBit(28, "Enable ENCLV exiting"),
        NamedBit(30, "VMM bus-lock detection"),
        NamedBit(31, "Instruction timeout"),
    ]

    public static let fieldName = "secondary processor-based VM-execution controls"
}
