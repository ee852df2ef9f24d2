// Secondary processor-based VM-execution controls (SDM 25.6.2), in effect only
// when the primary control "activate secondary controls" is 1. Allowed settings:
// IA32_VMX_PROCBASED_CTLS2 (SDM A.3.3), which has no TRUE variant and no default1 class.

public struct SecondaryProcessorBasedControls: VMXControlField {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Virtualize APIC accesses
    public static let virtualizeAPICAccesses = Self(rawValue: 1 << 0)
    /// Enable EPT
    public static let enableEPT = Self(rawValue: 1 << 1)
    /// Descriptor-table exiting
    public static let descriptorTableExiting = Self(rawValue: 1 << 2)
    /// Enable RDTSCP
    public static let enableRDTSCP = Self(rawValue: 1 << 3)
    /// Virtualize x2APIC mode
    public static let virtualizeX2APICMode = Self(rawValue: 1 << 4)
    /// Enable VPID
    public static let enableVPID = Self(rawValue: 1 << 5)
    /// WBINVD exiting
    public static let wbinvdExiting = Self(rawValue: 1 << 6)
    /// Unrestricted guest
    public static let unrestrictedGuest = Self(rawValue: 1 << 7)
    /// APIC-register virtualization
    public static let apicRegisterVirtualization = Self(rawValue: 1 << 8)
    /// Virtual-interrupt delivery
    public static let virtualInterruptDelivery = Self(rawValue: 1 << 9)
    /// PAUSE-loop exiting
    public static let pauseLoopExiting = Self(rawValue: 1 << 10)
    /// RDRAND exiting
    public static let rdrandExiting = Self(rawValue: 1 << 11)
    /// Enable INVPCID
    public static let enableINVPCID = Self(rawValue: 1 << 12)
    /// Enable VM functions
    public static let enableVMFunctions = Self(rawValue: 1 << 13)
    /// VMCS shadowing
    public static let vmcsShadowing = Self(rawValue: 1 << 14)
    /// Enable ENCLS exiting
    public static let enableENCLSExiting = Self(rawValue: 1 << 15)
    /// RDSEED exiting
    public static let rdseedExiting = Self(rawValue: 1 << 16)
    /// Enable PML
    public static let enablePML = Self(rawValue: 1 << 17)
    /// EPT-violation #VE
    public static let eptViolationVE = Self(rawValue: 1 << 18)
    /// Conceal VMX from PT
    public static let concealVMXFromPT = Self(rawValue: 1 << 19)
    /// Enable XSAVES/XRSTORS
    public static let enableXSAVESXRSTORS = Self(rawValue: 1 << 20)
    /// PASID translation
    public static let pasidTranslation = Self(rawValue: 1 << 21)
    /// Mode-based execute control for EPT
    public static let modeBasedExecuteControlForEPT = Self(rawValue: 1 << 22)
    /// Sub-page write permissions for EPT
    public static let subPageWritePermissionsForEPT = Self(rawValue: 1 << 23)
    /// Intel PT uses guest physical addresses
    public static let intelPTUsesGuestPhysicalAddresses = Self(rawValue: 1 << 24)
    /// Use TSC scaling
    public static let useTSCScaling = Self(rawValue: 1 << 25)
    /// Enable user wait and pause
    public static let enableUserWaitAndPause = Self(rawValue: 1 << 26)
    /// Enable PCONFIG
    public static let enablePCONFIG = Self(rawValue: 1 << 27)
    /// Enable ENCLV exiting
    public static let enableENCLVExiting = Self(rawValue: 1 << 28)
    /// VMM bus-lock detection
    public static let vmmBusLockDetection = Self(rawValue: 1 << 30)
    /// Instruction timeout
    public static let instructionTimeout = Self(rawValue: 1 << 31)

    public static let fieldName = "secondary processor-based VM-execution controls"
}
