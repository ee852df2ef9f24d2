// The table of every VMCS field the SDM defines, with the SDM's name for it (SDM Appendix B),
// and name lookup for any encoding. Full encodings only, ascending: the high half of a 64-bit
// field is the full encoding with bit 0 set.

extension VMCSField {
    /// One defined field and its name as the SDM's tables print it.
    public struct Definition: Sendable {
        public let field: VMCSField
        public let name: String
        public init(_ field: VMCSField, _ name: String) {
            self.field = field
            self.name = name
        }
    }

    /// Every field of SDM Appendix B (full encodings), sorted by encoding.
    public static let all: [Definition] = [
        Definition(.virtualProcessorIdentifier, "Virtual-processor identifier (VPID)"),
        Definition(.postedInterruptNotificationVector, "Posted-interrupt notification vector"),
        Definition(.eptpIndex, "EPTP index"),
        Definition(.hlatPrefixSize, "HLAT prefix size"),
        Definition(.lastPIDPointerIndex, "Last PID-pointer index"),
        Definition(.guestESSelector, "Guest ES selector"),
        Definition(.guestCSSelector, "Guest CS selector"),
        Definition(.guestSSSelector, "Guest SS selector"),
        Definition(.guestDSSelector, "Guest DS selector"),
        Definition(.guestFSSelector, "Guest FS selector"),
        Definition(.guestGSSelector, "Guest GS selector"),
        Definition(.guestLDTRSelector, "Guest LDTR selector"),
        Definition(.guestTRSelector, "Guest TR selector"),
        Definition(.guestInterruptStatus, "Guest interrupt status"),
        Definition(.pmlIndex, "PML index"),
        Definition(.guestUINV, "Guest UINV"),
        Definition(.hostESSelector, "Host ES selector"),
        Definition(.hostCSSelector, "Host CS selector"),
        Definition(.hostSSSelector, "Host SS selector"),
        Definition(.hostDSSelector, "Host DS selector"),
        Definition(.hostFSSelector, "Host FS selector"),
        Definition(.hostGSSelector, "Host GS selector"),
        Definition(.hostTRSelector, "Host TR selector"),
        Definition(.ioBitmapAAddress, "Address of I/O bitmap A"),
        Definition(.ioBitmapBAddress, "Address of I/O bitmap B"),
        Definition(.msrBitmapsAddress, "Address of MSR bitmaps"),
        Definition(.vmExitMSRStoreAddress, "VM-exit MSR-store address"),
        Definition(.vmExitMSRLoadAddress, "VM-exit MSR-load address"),
        Definition(.vmEntryMSRLoadAddress, "VM-entry MSR-load address"),
        Definition(.executiveVMCSPointer, "Executive-VMCS pointer"),
        Definition(.pmlAddress, "PML address"),
        Definition(.tscOffset, "TSC offset"),
        Definition(.virtualAPICAddress, "Virtual-APIC address"),
        Definition(.apicAccessAddress, "APIC-access address"),
        Definition(.postedInterruptDescriptorAddress, "Posted-interrupt descriptor address"),
        Definition(.vmFunctionControls, "VM-function controls"),
        Definition(.eptPointer, "EPT pointer (EPTP)"),
        Definition(.eoiExitBitmap0, "EOI-exit bitmap 0 (EOI_EXIT0)"),
        Definition(.eoiExitBitmap1, "EOI-exit bitmap 1 (EOI_EXIT1)"),
        Definition(.eoiExitBitmap2, "EOI-exit bitmap 2 (EOI_EXIT2)"),
        Definition(.eoiExitBitmap3, "EOI-exit bitmap 3 (EOI_EXIT3)"),
        Definition(.eptpListAddress, "EPTP-list address"),
        Definition(.vmreadBitmapAddress, "VMREAD-bitmap address"),
        Definition(.vmwriteBitmapAddress, "VMWRITE-bitmap address"),
        Definition(.virtualizationExceptionInformationAddress, "Virtualization-exception information address"),
        Definition(.xssExitingBitmap, "XSS-exiting bitmap"),
        Definition(.enclsExitingBitmap, "ENCLS-exiting bitmap"),
        Definition(.subPagePermissionTablePointer, "Sub-page-permission-table pointer (SPPTP)"),
        Definition(.tscMultiplier, "TSC multiplier"),
        Definition(.tertiaryProcessorBasedVMExecutionControls, "Tertiary processor-based VM-execution controls"),
        Definition(.enclvExitingBitmap, "ENCLV-exiting bitmap"),
        Definition(.lowPASIDDirectoryAddress, "Low PASID directory address"),
        Definition(.highPASIDDirectoryAddress, "High PASID directory address"),
        Definition(.sharedEPTPointer, "Shared EPT pointer"),
        Definition(.pconfigExitingBitmap, "PCONFIG-exiting bitmap"),
        Definition(.hlatPointer, "Hypervisor-managed linear-address translation pointer (HLATP)"),
        Definition(.pidPointerTableAddress, "PID-pointer table address"),
        Definition(.secondaryVMExitControls, "Secondary VM-exit controls"),
        Definition(.guestPhysicalAddress, "Guest-physical address"),
        Definition(.vmcsLinkPointer, "VMCS link pointer"),
        Definition(.guestIA32DebugCtl, "Guest IA32_DEBUGCTL"),
        Definition(.guestIA32PAT, "Guest IA32_PAT"),
        Definition(.guestIA32EFER, "Guest IA32_EFER"),
        Definition(.guestIA32PerfGlobalCtrl, "Guest IA32_PERF_GLOBAL_CTRL"),
        Definition(.guestPDPTE0, "Guest PDPTE0"),
        Definition(.guestPDPTE1, "Guest PDPTE1"),
        Definition(.guestPDPTE2, "Guest PDPTE2"),
        Definition(.guestPDPTE3, "Guest PDPTE3"),
        Definition(.guestIA32BNDCFGS, "Guest IA32_BNDCFGS"),
        Definition(.guestIA32RTITCtl, "Guest IA32_RTIT_CTL"),
        Definition(.guestIA32LBRCtl, "Guest IA32_LBR_CTL"),
        Definition(.guestIA32PKRS, "Guest IA32_PKRS"),
        Definition(.hostIA32PAT, "Host IA32_PAT"),
        Definition(.hostIA32EFER, "Host IA32_EFER"),
        Definition(.hostIA32PerfGlobalCtrl, "Host IA32_PERF_GLOBAL_CTRL"),
        Definition(.hostIA32PKRS, "Host IA32_PKRS"),
        Definition(.pinBasedVMExecutionControls, "Pin-based VM-execution controls"),
        Definition(.primaryProcessorBasedVMExecutionControls, "Primary processor-based VM-execution controls"),
        Definition(.exceptionBitmap, "Exception bitmap"),
        Definition(.pageFaultErrorCodeMask, "Page-fault error-code mask"),
        Definition(.pageFaultErrorCodeMatch, "Page-fault error-code match"),
        Definition(.cr3TargetCount, "CR3-target count"),
        Definition(.primaryVMExitControls, "Primary VM-exit controls"),
        Definition(.vmExitMSRStoreCount, "VM-exit MSR-store count"),
        Definition(.vmExitMSRLoadCount, "VM-exit MSR-load count"),
        Definition(.vmEntryControls, "VM-entry controls"),
        Definition(.vmEntryMSRLoadCount, "VM-entry MSR-load count"),
        Definition(.vmEntryInterruptionInformation, "VM-entry interruption-information field"),
        Definition(.vmEntryExceptionErrorCode, "VM-entry exception error code"),
        Definition(.vmEntryInstructionLength, "VM-entry instruction length"),
        Definition(.tprThreshold, "TPR threshold"),
        Definition(.secondaryProcessorBasedVMExecutionControls, "Secondary processor-based VM-execution controls"),
        Definition(.pleGap, "PLE_Gap"),
        Definition(.pleWindow, "PLE_Window"),
        Definition(.instructionTimeoutControl, "Instruction-timeout control"),
        Definition(.vmInstructionError, "VM-instruction error"),
        Definition(.exitReason, "Exit reason"),
        Definition(.vmExitInterruptionInformation, "VM-exit interruption information"),
        Definition(.vmExitInterruptionErrorCode, "VM-exit interruption error code"),
        Definition(.idtVectoringInformation, "IDT-vectoring information field"),
        Definition(.idtVectoringErrorCode, "IDT-vectoring error code"),
        Definition(.vmExitInstructionLength, "VM-exit instruction length"),
        Definition(.vmExitInstructionInformation, "VM-exit instruction information"),
        Definition(.guestESLimit, "Guest ES limit"),
        Definition(.guestCSLimit, "Guest CS limit"),
        Definition(.guestSSLimit, "Guest SS limit"),
        Definition(.guestDSLimit, "Guest DS limit"),
        Definition(.guestFSLimit, "Guest FS limit"),
        Definition(.guestGSLimit, "Guest GS limit"),
        Definition(.guestLDTRLimit, "Guest LDTR limit"),
        Definition(.guestTRLimit, "Guest TR limit"),
        Definition(.guestGDTRLimit, "Guest GDTR limit"),
        Definition(.guestIDTRLimit, "Guest IDTR limit"),
        Definition(.guestESAccessRights, "Guest ES access rights"),
        Definition(.guestCSAccessRights, "Guest CS access rights"),
        Definition(.guestSSAccessRights, "Guest SS access rights"),
        Definition(.guestDSAccessRights, "Guest DS access rights"),
        Definition(.guestFSAccessRights, "Guest FS access rights"),
        Definition(.guestGSAccessRights, "Guest GS access rights"),
        Definition(.guestLDTRAccessRights, "Guest LDTR access rights"),
        Definition(.guestTRAccessRights, "Guest TR access rights"),
        Definition(.guestInterruptibilityState, "Guest interruptibility state"),
        Definition(.guestActivityState, "Guest activity state"),
        Definition(.guestSMBASE, "Guest SMBASE"),
        Definition(.guestIA32SysenterCS, "Guest IA32_SYSENTER_CS"),
        Definition(.vmxPreemptionTimerValue, "VMX-preemption timer value"),
        Definition(.hostIA32SysenterCS, "Host IA32_SYSENTER_CS"),
        Definition(.cr0GuestHostMask, "CR0 guest/host mask"),
        Definition(.cr4GuestHostMask, "CR4 guest/host mask"),
        Definition(.cr0ReadShadow, "CR0 read shadow"),
        Definition(.cr4ReadShadow, "CR4 read shadow"),
        Definition(.cr3TargetValue0, "CR3-target value 0"),
        Definition(.cr3TargetValue1, "CR3-target value 1"),
        Definition(.cr3TargetValue2, "CR3-target value 2"),
        Definition(.cr3TargetValue3, "CR3-target value 3"),
        Definition(.exitQualification, "Exit qualification"),
        Definition(.ioRCX, "I/O RCX"),
        Definition(.ioRSI, "I/O RSI"),
        Definition(.ioRDI, "I/O RDI"),
        Definition(.ioRIP, "I/O RIP"),
        Definition(.guestLinearAddress, "Guest-linear address"),
        Definition(.guestCR0, "Guest CR0"),
        Definition(.guestCR3, "Guest CR3"),
        Definition(.guestCR4, "Guest CR4"),
        Definition(.guestESBase, "Guest ES base"),
        Definition(.guestCSBase, "Guest CS base"),
        Definition(.guestSSBase, "Guest SS base"),
        Definition(.guestDSBase, "Guest DS base"),
        Definition(.guestFSBase, "Guest FS base"),
        Definition(.guestGSBase, "Guest GS base"),
        Definition(.guestLDTRBase, "Guest LDTR base"),
        Definition(.guestTRBase, "Guest TR base"),
        Definition(.guestGDTRBase, "Guest GDTR base"),
        Definition(.guestIDTRBase, "Guest IDTR base"),
        Definition(.guestDR7, "Guest DR7"),
        Definition(.guestRSP, "Guest RSP"),
        Definition(.guestRIP, "Guest RIP"),
        Definition(.guestRFLAGS, "Guest RFLAGS"),
        Definition(.guestPendingDebugExceptions, "Guest pending debug exceptions"),
        Definition(.guestIA32SysenterESP, "Guest IA32_SYSENTER_ESP"),
        Definition(.guestIA32SysenterEIP, "Guest IA32_SYSENTER_EIP"),
        Definition(.guestIA32SCET, "Guest IA32_S_CET"),
        Definition(.guestSSP, "Guest SSP"),
        Definition(.guestIA32InterruptSSPTableAddr, "Guest IA32_INTERRUPT_SSP_TABLE_ADDR"),
        Definition(.hostCR0, "Host CR0"),
        Definition(.hostCR3, "Host CR3"),
        Definition(.hostCR4, "Host CR4"),
        Definition(.hostFSBase, "Host FS base"),
        Definition(.hostGSBase, "Host GS base"),
        Definition(.hostTRBase, "Host TR base"),
        Definition(.hostGDTRBase, "Host GDTR base"),
        Definition(.hostIDTRBase, "Host IDTR base"),
        Definition(.hostIA32SysenterESP, "Host IA32_SYSENTER_ESP"),
        Definition(.hostIA32SysenterEIP, "Host IA32_SYSENTER_EIP"),
        Definition(.hostRSP, "Host RSP"),
        Definition(.hostRIP, "Host RIP"),
        Definition(.hostIA32SCET, "Host IA32_S_CET"),
        Definition(.hostSSP, "Host SSP"),
        Definition(.hostIA32InterruptSSPTableAddr, "Host IA32_INTERRUPT_SSP_TABLE_ADDR"),
    ]
}

extension VMCSField {
    /// The definition of this encoding's field (the full one for a high access), or nil when
    /// the SDM defines no such field or the encoding is malformed. Binary search: `all` is
    /// sorted.
    public var definition: Definition? {
        guard isWellFormed else { return nil }
        let key = full.rawValue
        var low = 0
        var high = Self.all.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = Self.all[middle].field.rawValue
            if candidate == key { return Self.all[middle] }
            if candidate < key { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Whether the SDM defines this encoding: a defined field, or the high half of a defined
    /// 64-bit field.
    public var isDefined: Bool { definition != nil }

    /// The SDM's name of the field, with " (high)" for the high half of a 64-bit field; nil
    /// when the encoding names no defined field.
    public var name: String? {
        guard let definition else { return nil }
        return isHigh ? definition.name + " (high)" : definition.name
    }
}
