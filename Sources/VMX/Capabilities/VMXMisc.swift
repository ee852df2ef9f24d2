// IA32_VMX_MISC (485H): miscellaneous VMX data (SDM A.6).

public struct VMXMisc: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 4:0: the VMX-preemption timer counts down by 1 each time this bit of the TSC
    /// changes.
    public var preemptionTimerRate: Int { Int(rawValue & 0x1F) }

    /// Bit 5: VM exits store EFER.LMA into the "IA-32e mode guest" VM-entry control.
    public var storesEFERLMA: Bool { rawValue & (1 << 5) != 0 }

    /// Bit 6: VM entry can establish activity state 1 (HLT).
    public var supportsHLTActivityState: Bool { rawValue & (1 << 6) != 0 }
    /// Bit 7: VM entry can establish activity state 2 (shutdown).
    public var supportsShutdownActivityState: Bool { rawValue & (1 << 7) != 0 }
    /// Bit 8: VM entry can establish activity state 3 (wait-for-SIPI).
    public var supportsWaitForSIPIActivityState: Bool { rawValue & (1 << 8) != 0 }

    /// Bit 14: Intel Processor Trace may be used in VMX operation.
    public var supportsIntelPTInVMX: Bool { rawValue & (1 << 14) != 0 }

    /// Bit 15: RDMSR can read IA32_SMBASE in system-management mode.
    public var allowsRDMSRofSMBASEInSMM: Bool { rawValue & (1 << 15) != 0 }

    /// Bits 24:16: the number of CR3-target values supported (0 to 256).
    public var cr3TargetCount: Int { Int((rawValue >> 16) & 0x1FF) }

    /// Bits 27:25 = N: the recommended maximum number of entries in each MSR list of the
    /// VMX transitions is 512 * (N + 1).
    public var maxMSRListEntries: Int { 512 * (Int((rawValue >> 25) & 0x7) + 1) }

    /// Bit 28: bit 2 of IA32_SMM_MONITOR_CTL can be set to 1 (VMXOFF unblocks SMIs unless it is).
    public var allowsSMMMonitorControlBit2: Bool { rawValue & (1 << 28) != 0 }

    /// Bit 29: VMWRITE may write any supported VMCS field, including the VM-exit information
    /// fields that are otherwise read-only.
    public var allowsVMWRITEToAnyField: Bool { rawValue & (1 << 29) != 0 }

    /// Bit 30: VM entry may inject software interrupts, software exceptions and privileged
    /// software exceptions with an instruction length of 0.
    public var allowsZeroLengthInstructionInjection: Bool { rawValue & (1 << 30) != 0 }

    /// Bits 63:32: the MSEG revision identifier.
    public var msegRevisionIdentifier: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }
}
