// Every VMCS field the SDM defines (SDM Appendix B "Field Encoding in VMCS", Tables B-1 to
// B-15, edition 325462-080US), as encodings built from their parts. Fields added by later
// editions (e.g. the FRED and IA32_SPEC_CTRL fields) are not listed yet. For 64-bit fields
// only the full encoding is named; `high` gives the encoding of bits 63:32.
// This is the one declaration of each field: its doc comment, `/// SDM name (encoding H).`, is
// the name `VMCSField.all` gives it (tools/gen-declarations writes the table from this file and
// checks each comment's encoding against the parts).

extension VMCSField {

    // MARK: 16-Bit Control Fields (Table B-1)

    /// Virtual-processor identifier (VPID) (0000H).
    public static let virtualProcessorIdentifier = VMCSField(width: .sixteenBit, type: .control, index: 0)
    /// Posted-interrupt notification vector (0002H).
    public static let postedInterruptNotificationVector = VMCSField(width: .sixteenBit, type: .control, index: 1)
    /// EPTP index (0004H).
    public static let eptpIndex = VMCSField(width: .sixteenBit, type: .control, index: 2)
    /// HLAT prefix size (0006H).
    public static let hlatPrefixSize = VMCSField(width: .sixteenBit, type: .control, index: 3)
    /// Last PID-pointer index (0008H).
    public static let lastPIDPointerIndex = VMCSField(width: .sixteenBit, type: .control, index: 4)

    // MARK: 16-Bit Guest-State Fields (Table B-2)

    /// Guest ES selector (0800H).
    public static let guestESSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 0)
    /// Guest CS selector (0802H).
    public static let guestCSSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 1)
    /// Guest SS selector (0804H).
    public static let guestSSSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 2)
    /// Guest DS selector (0806H).
    public static let guestDSSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 3)
    /// Guest FS selector (0808H).
    public static let guestFSSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 4)
    /// Guest GS selector (080AH).
    public static let guestGSSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 5)
    /// Guest LDTR selector (080CH).
    public static let guestLDTRSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 6)
    /// Guest TR selector (080EH).
    public static let guestTRSelector = VMCSField(width: .sixteenBit, type: .guestState, index: 7)
    /// Guest interrupt status (0810H).
    public static let guestInterruptStatus = VMCSField(width: .sixteenBit, type: .guestState, index: 8)
    /// PML index (0812H).
    public static let pmlIndex = VMCSField(width: .sixteenBit, type: .guestState, index: 9)
    /// Guest UINV (0814H).
    public static let guestUINV = VMCSField(width: .sixteenBit, type: .guestState, index: 10)

    // MARK: 16-Bit Host-State Fields (Table B-3)

    /// Host ES selector (0C00H).
    public static let hostESSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 0)
    /// Host CS selector (0C02H).
    public static let hostCSSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 1)
    /// Host SS selector (0C04H).
    public static let hostSSSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 2)
    /// Host DS selector (0C06H).
    public static let hostDSSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 3)
    /// Host FS selector (0C08H).
    public static let hostFSSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 4)
    /// Host GS selector (0C0AH).
    public static let hostGSSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 5)
    /// Host TR selector (0C0CH).
    public static let hostTRSelector = VMCSField(width: .sixteenBit, type: .hostState, index: 6)

    // MARK: 64-Bit Control Fields (Table B-4)

    /// Address of I/O bitmap A (2000H).
    public static let ioBitmapAAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 0)
    /// Address of I/O bitmap B (2002H).
    public static let ioBitmapBAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 1)
    /// Address of MSR bitmaps (2004H).
    public static let msrBitmapsAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 2)
    /// VM-exit MSR-store address (2006H).
    public static let vmExitMSRStoreAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 3)
    /// VM-exit MSR-load address (2008H).
    public static let vmExitMSRLoadAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 4)
    /// VM-entry MSR-load address (200AH).
    public static let vmEntryMSRLoadAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 5)
    /// Executive-VMCS pointer (200CH).
    public static let executiveVMCSPointer = VMCSField(width: .sixtyFourBit, type: .control, index: 6)
    /// PML address (200EH).
    public static let pmlAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 7)
    /// TSC offset (2010H).
    public static let tscOffset = VMCSField(width: .sixtyFourBit, type: .control, index: 8)
    /// Virtual-APIC address (2012H).
    public static let virtualAPICAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 9)
    /// APIC-access address (2014H).
    public static let apicAccessAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 10)
    /// Posted-interrupt descriptor address (2016H).
    public static let postedInterruptDescriptorAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 11)
    /// VM-function controls (2018H).
    public static let vmFunctionControls = VMCSField(width: .sixtyFourBit, type: .control, index: 12)
    /// EPT pointer (EPTP) (201AH).
    public static let eptPointer = VMCSField(width: .sixtyFourBit, type: .control, index: 13)
    /// EOI-exit bitmap 0 (EOI_EXIT0) (201CH).
    public static let eoiExitBitmap0 = VMCSField(width: .sixtyFourBit, type: .control, index: 14)
    /// EOI-exit bitmap 1 (EOI_EXIT1) (201EH).
    public static let eoiExitBitmap1 = VMCSField(width: .sixtyFourBit, type: .control, index: 15)
    /// EOI-exit bitmap 2 (EOI_EXIT2) (2020H).
    public static let eoiExitBitmap2 = VMCSField(width: .sixtyFourBit, type: .control, index: 16)
    /// EOI-exit bitmap 3 (EOI_EXIT3) (2022H).
    public static let eoiExitBitmap3 = VMCSField(width: .sixtyFourBit, type: .control, index: 17)
    /// EPTP-list address (2024H).
    public static let eptpListAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 18)
    /// VMREAD-bitmap address (2026H).
    public static let vmreadBitmapAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 19)
    /// VMWRITE-bitmap address (2028H).
    public static let vmwriteBitmapAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 20)
    /// Virtualization-exception information address (202AH).
    public static let virtualizationExceptionInformationAddress = VMCSField(
        width: .sixtyFourBit, type: .control, index: 21)
    /// XSS-exiting bitmap (202CH).
    public static let xssExitingBitmap = VMCSField(width: .sixtyFourBit, type: .control, index: 22)
    /// ENCLS-exiting bitmap (202EH).
    public static let enclsExitingBitmap = VMCSField(width: .sixtyFourBit, type: .control, index: 23)
    /// Sub-page-permission-table pointer (SPPTP) (2030H).
    public static let subPagePermissionTablePointer = VMCSField(width: .sixtyFourBit, type: .control, index: 24)
    /// TSC multiplier (2032H).
    public static let tscMultiplier = VMCSField(width: .sixtyFourBit, type: .control, index: 25)
    /// Tertiary processor-based VM-execution controls (2034H).
    public static let tertiaryProcessorBasedVMExecutionControls = VMCSField(
        width: .sixtyFourBit, type: .control, index: 26)
    /// ENCLV-exiting bitmap (2036H).
    public static let enclvExitingBitmap = VMCSField(width: .sixtyFourBit, type: .control, index: 27)
    /// Low PASID directory address (2038H).
    public static let lowPASIDDirectoryAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 28)
    /// High PASID directory address (203AH).
    public static let highPASIDDirectoryAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 29)
    /// Shared EPT pointer (203CH).
    public static let sharedEPTPointer = VMCSField(width: .sixtyFourBit, type: .control, index: 30)
    /// PCONFIG-exiting bitmap (203EH).
    public static let pconfigExitingBitmap = VMCSField(width: .sixtyFourBit, type: .control, index: 31)
    /// Hypervisor-managed linear-address translation pointer (HLATP) (2040H).
    public static let hlatPointer = VMCSField(width: .sixtyFourBit, type: .control, index: 32)
    /// PID-pointer table address (2042H).
    public static let pidPointerTableAddress = VMCSField(width: .sixtyFourBit, type: .control, index: 33)
    /// Secondary VM-exit controls (2044H).
    public static let secondaryVMExitControls = VMCSField(width: .sixtyFourBit, type: .control, index: 34)

    // MARK: 64-Bit Read-Only Data Fields (Table B-5)

    /// Guest-physical address (2400H).
    public static let guestPhysicalAddress = VMCSField(width: .sixtyFourBit, type: .vmExitInformation, index: 0)

    // MARK: 64-Bit Guest-State Fields (Table B-6)

    /// VMCS link pointer (2800H).
    public static let vmcsLinkPointer = VMCSField(width: .sixtyFourBit, type: .guestState, index: 0)
    /// Guest IA32_DEBUGCTL (2802H).
    public static let guestIA32DebugCtl = VMCSField(width: .sixtyFourBit, type: .guestState, index: 1)
    /// Guest IA32_PAT (2804H).
    public static let guestIA32PAT = VMCSField(width: .sixtyFourBit, type: .guestState, index: 2)
    /// Guest IA32_EFER (2806H).
    public static let guestIA32EFER = VMCSField(width: .sixtyFourBit, type: .guestState, index: 3)
    /// Guest IA32_PERF_GLOBAL_CTRL (2808H).
    public static let guestIA32PerfGlobalCtrl = VMCSField(width: .sixtyFourBit, type: .guestState, index: 4)
    /// Guest PDPTE0 (280AH).
    public static let guestPDPTE0 = VMCSField(width: .sixtyFourBit, type: .guestState, index: 5)
    /// Guest PDPTE1 (280CH).
    public static let guestPDPTE1 = VMCSField(width: .sixtyFourBit, type: .guestState, index: 6)
    /// Guest PDPTE2 (280EH).
    public static let guestPDPTE2 = VMCSField(width: .sixtyFourBit, type: .guestState, index: 7)
    /// Guest PDPTE3 (2810H).
    public static let guestPDPTE3 = VMCSField(width: .sixtyFourBit, type: .guestState, index: 8)
    /// Guest IA32_BNDCFGS (2812H).
    public static let guestIA32BNDCFGS = VMCSField(width: .sixtyFourBit, type: .guestState, index: 9)
    /// Guest IA32_RTIT_CTL (2814H).
    public static let guestIA32RTITCtl = VMCSField(width: .sixtyFourBit, type: .guestState, index: 10)
    /// Guest IA32_LBR_CTL (2816H).
    public static let guestIA32LBRCtl = VMCSField(width: .sixtyFourBit, type: .guestState, index: 11)
    /// Guest IA32_PKRS (2818H).
    public static let guestIA32PKRS = VMCSField(width: .sixtyFourBit, type: .guestState, index: 12)

    // MARK: 64-Bit Host-State Fields (Table B-7)

    /// Host IA32_PAT (2C00H).
    public static let hostIA32PAT = VMCSField(width: .sixtyFourBit, type: .hostState, index: 0)
    /// Host IA32_EFER (2C02H).
    public static let hostIA32EFER = VMCSField(width: .sixtyFourBit, type: .hostState, index: 1)
    /// Host IA32_PERF_GLOBAL_CTRL (2C04H).
    public static let hostIA32PerfGlobalCtrl = VMCSField(width: .sixtyFourBit, type: .hostState, index: 2)
    /// Host IA32_PKRS (2C06H).
    public static let hostIA32PKRS = VMCSField(width: .sixtyFourBit, type: .hostState, index: 3)

    // MARK: 32-Bit Control Fields (Table B-8)

    /// Pin-based VM-execution controls (4000H).
    public static let pinBasedVMExecutionControls = VMCSField(width: .thirtyTwoBit, type: .control, index: 0)
    /// Primary processor-based VM-execution controls (4002H).
    public static let primaryProcessorBasedVMExecutionControls = VMCSField(
        width: .thirtyTwoBit, type: .control, index: 1)
    /// Exception bitmap (4004H).
    public static let exceptionBitmap = VMCSField(width: .thirtyTwoBit, type: .control, index: 2)
    /// Page-fault error-code mask (4006H).
    public static let pageFaultErrorCodeMask = VMCSField(width: .thirtyTwoBit, type: .control, index: 3)
    /// Page-fault error-code match (4008H).
    public static let pageFaultErrorCodeMatch = VMCSField(width: .thirtyTwoBit, type: .control, index: 4)
    /// CR3-target count (400AH).
    public static let cr3TargetCount = VMCSField(width: .thirtyTwoBit, type: .control, index: 5)
    /// Primary VM-exit controls (400CH).
    public static let primaryVMExitControls = VMCSField(width: .thirtyTwoBit, type: .control, index: 6)
    /// VM-exit MSR-store count (400EH).
    public static let vmExitMSRStoreCount = VMCSField(width: .thirtyTwoBit, type: .control, index: 7)
    /// VM-exit MSR-load count (4010H).
    public static let vmExitMSRLoadCount = VMCSField(width: .thirtyTwoBit, type: .control, index: 8)
    /// VM-entry controls (4012H).
    public static let vmEntryControls = VMCSField(width: .thirtyTwoBit, type: .control, index: 9)
    /// VM-entry MSR-load count (4014H).
    public static let vmEntryMSRLoadCount = VMCSField(width: .thirtyTwoBit, type: .control, index: 10)
    /// VM-entry interruption-information field (4016H).
    public static let vmEntryInterruptionInformation = VMCSField(width: .thirtyTwoBit, type: .control, index: 11)
    /// VM-entry exception error code (4018H).
    public static let vmEntryExceptionErrorCode = VMCSField(width: .thirtyTwoBit, type: .control, index: 12)
    /// VM-entry instruction length (401AH).
    public static let vmEntryInstructionLength = VMCSField(width: .thirtyTwoBit, type: .control, index: 13)
    /// TPR threshold (401CH).
    public static let tprThreshold = VMCSField(width: .thirtyTwoBit, type: .control, index: 14)
    /// Secondary processor-based VM-execution controls (401EH).
    public static let secondaryProcessorBasedVMExecutionControls = VMCSField(
        width: .thirtyTwoBit, type: .control, index: 15)
    /// PLE_Gap (4020H).
    public static let pleGap = VMCSField(width: .thirtyTwoBit, type: .control, index: 16)
    /// PLE_Window (4022H).
    public static let pleWindow = VMCSField(width: .thirtyTwoBit, type: .control, index: 17)
    /// Instruction-timeout control (4024H).
    public static let instructionTimeoutControl = VMCSField(width: .thirtyTwoBit, type: .control, index: 18)

    // MARK: 32-Bit Read-Only Data Fields (Table B-9)

    /// VM-instruction error (4400H).
    public static let vmInstructionError = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 0)
    /// Exit reason (4402H).
    public static let exitReason = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 1)
    /// VM-exit interruption information (4404H).
    public static let vmExitInterruptionInformation = VMCSField(
        width: .thirtyTwoBit, type: .vmExitInformation, index: 2)
    /// VM-exit interruption error code (4406H).
    public static let vmExitInterruptionErrorCode = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 3)
    /// IDT-vectoring information field (4408H).
    public static let idtVectoringInformation = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 4)
    /// IDT-vectoring error code (440AH).
    public static let idtVectoringErrorCode = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 5)
    /// VM-exit instruction length (440CH).
    public static let vmExitInstructionLength = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 6)
    /// VM-exit instruction information (440EH).
    public static let vmExitInstructionInformation = VMCSField(width: .thirtyTwoBit, type: .vmExitInformation, index: 7)

    // MARK: 32-Bit Guest-State Fields (Table B-10)

    /// Guest ES limit (4800H).
    public static let guestESLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 0)
    /// Guest CS limit (4802H).
    public static let guestCSLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 1)
    /// Guest SS limit (4804H).
    public static let guestSSLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 2)
    /// Guest DS limit (4806H).
    public static let guestDSLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 3)
    /// Guest FS limit (4808H).
    public static let guestFSLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 4)
    /// Guest GS limit (480AH).
    public static let guestGSLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 5)
    /// Guest LDTR limit (480CH).
    public static let guestLDTRLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 6)
    /// Guest TR limit (480EH).
    public static let guestTRLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 7)
    /// Guest GDTR limit (4810H).
    public static let guestGDTRLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 8)
    /// Guest IDTR limit (4812H).
    public static let guestIDTRLimit = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 9)
    /// Guest ES access rights (4814H).
    public static let guestESAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 10)
    /// Guest CS access rights (4816H).
    public static let guestCSAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 11)
    /// Guest SS access rights (4818H).
    public static let guestSSAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 12)
    /// Guest DS access rights (481AH).
    public static let guestDSAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 13)
    /// Guest FS access rights (481CH).
    public static let guestFSAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 14)
    /// Guest GS access rights (481EH).
    public static let guestGSAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 15)
    /// Guest LDTR access rights (4820H).
    public static let guestLDTRAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 16)
    /// Guest TR access rights (4822H).
    public static let guestTRAccessRights = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 17)
    /// Guest interruptibility state (4824H).
    public static let guestInterruptibilityState = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 18)
    /// Guest activity state (4826H).
    public static let guestActivityState = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 19)
    /// Guest SMBASE (4828H).
    public static let guestSMBASE = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 20)
    /// Guest IA32_SYSENTER_CS (482AH).
    public static let guestIA32SysenterCS = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 21)
    /// VMX-preemption timer value (482EH).
    public static let vmxPreemptionTimerValue = VMCSField(width: .thirtyTwoBit, type: .guestState, index: 23)

    // MARK: 32-Bit Host-State Fields (Table B-11)

    /// Host IA32_SYSENTER_CS (4C00H).
    public static let hostIA32SysenterCS = VMCSField(width: .thirtyTwoBit, type: .hostState, index: 0)

    // MARK: Natural-Width Control Fields (Table B-12)

    /// CR0 guest/host mask (6000H).
    public static let cr0GuestHostMask = VMCSField(width: .naturalWidth, type: .control, index: 0)
    /// CR4 guest/host mask (6002H).
    public static let cr4GuestHostMask = VMCSField(width: .naturalWidth, type: .control, index: 1)
    /// CR0 read shadow (6004H).
    public static let cr0ReadShadow = VMCSField(width: .naturalWidth, type: .control, index: 2)
    /// CR4 read shadow (6006H).
    public static let cr4ReadShadow = VMCSField(width: .naturalWidth, type: .control, index: 3)
    /// CR3-target value 0 (6008H).
    public static let cr3TargetValue0 = VMCSField(width: .naturalWidth, type: .control, index: 4)
    /// CR3-target value 1 (600AH).
    public static let cr3TargetValue1 = VMCSField(width: .naturalWidth, type: .control, index: 5)
    /// CR3-target value 2 (600CH).
    public static let cr3TargetValue2 = VMCSField(width: .naturalWidth, type: .control, index: 6)
    /// CR3-target value 3 (600EH).
    public static let cr3TargetValue3 = VMCSField(width: .naturalWidth, type: .control, index: 7)

    // MARK: Natural-Width Read-Only Data Fields (Table B-13)

    /// Exit qualification (6400H).
    public static let exitQualification = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 0)
    /// I/O RCX (6402H).
    public static let ioRCX = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 1)
    /// I/O RSI (6404H).
    public static let ioRSI = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 2)
    /// I/O RDI (6406H).
    public static let ioRDI = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 3)
    /// I/O RIP (6408H).
    public static let ioRIP = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 4)
    /// Guest-linear address (640AH).
    public static let guestLinearAddress = VMCSField(width: .naturalWidth, type: .vmExitInformation, index: 5)

    // MARK: Natural-Width Guest-State Fields (Table B-14)

    /// Guest CR0 (6800H).
    public static let guestCR0 = VMCSField(width: .naturalWidth, type: .guestState, index: 0)
    /// Guest CR3 (6802H).
    public static let guestCR3 = VMCSField(width: .naturalWidth, type: .guestState, index: 1)
    /// Guest CR4 (6804H).
    public static let guestCR4 = VMCSField(width: .naturalWidth, type: .guestState, index: 2)
    /// Guest ES base (6806H).
    public static let guestESBase = VMCSField(width: .naturalWidth, type: .guestState, index: 3)
    /// Guest CS base (6808H).
    public static let guestCSBase = VMCSField(width: .naturalWidth, type: .guestState, index: 4)
    /// Guest SS base (680AH).
    public static let guestSSBase = VMCSField(width: .naturalWidth, type: .guestState, index: 5)
    /// Guest DS base (680CH).
    public static let guestDSBase = VMCSField(width: .naturalWidth, type: .guestState, index: 6)
    /// Guest FS base (680EH).
    public static let guestFSBase = VMCSField(width: .naturalWidth, type: .guestState, index: 7)
    /// Guest GS base (6810H).
    public static let guestGSBase = VMCSField(width: .naturalWidth, type: .guestState, index: 8)
    /// Guest LDTR base (6812H).
    public static let guestLDTRBase = VMCSField(width: .naturalWidth, type: .guestState, index: 9)
    /// Guest TR base (6814H).
    public static let guestTRBase = VMCSField(width: .naturalWidth, type: .guestState, index: 10)
    /// Guest GDTR base (6816H).
    public static let guestGDTRBase = VMCSField(width: .naturalWidth, type: .guestState, index: 11)
    /// Guest IDTR base (6818H).
    public static let guestIDTRBase = VMCSField(width: .naturalWidth, type: .guestState, index: 12)
    /// Guest DR7 (681AH).
    public static let guestDR7 = VMCSField(width: .naturalWidth, type: .guestState, index: 13)
    /// Guest RSP (681CH).
    public static let guestRSP = VMCSField(width: .naturalWidth, type: .guestState, index: 14)
    /// Guest RIP (681EH).
    public static let guestRIP = VMCSField(width: .naturalWidth, type: .guestState, index: 15)
    /// Guest RFLAGS (6820H).
    public static let guestRFLAGS = VMCSField(width: .naturalWidth, type: .guestState, index: 16)
    /// Guest pending debug exceptions (6822H).
    public static let guestPendingDebugExceptions = VMCSField(width: .naturalWidth, type: .guestState, index: 17)
    /// Guest IA32_SYSENTER_ESP (6824H).
    public static let guestIA32SysenterESP = VMCSField(width: .naturalWidth, type: .guestState, index: 18)
    /// Guest IA32_SYSENTER_EIP (6826H).
    public static let guestIA32SysenterEIP = VMCSField(width: .naturalWidth, type: .guestState, index: 19)
    /// Guest IA32_S_CET (6828H).
    public static let guestIA32SCET = VMCSField(width: .naturalWidth, type: .guestState, index: 20)
    /// Guest SSP (682AH).
    public static let guestSSP = VMCSField(width: .naturalWidth, type: .guestState, index: 21)
    /// Guest IA32_INTERRUPT_SSP_TABLE_ADDR (682CH).
    public static let guestIA32InterruptSSPTableAddr = VMCSField(width: .naturalWidth, type: .guestState, index: 22)

    // MARK: Natural-Width Host-State Fields (Table B-15)

    /// Host CR0 (6C00H).
    public static let hostCR0 = VMCSField(width: .naturalWidth, type: .hostState, index: 0)
    /// Host CR3 (6C02H).
    public static let hostCR3 = VMCSField(width: .naturalWidth, type: .hostState, index: 1)
    /// Host CR4 (6C04H).
    public static let hostCR4 = VMCSField(width: .naturalWidth, type: .hostState, index: 2)
    /// Host FS base (6C06H).
    public static let hostFSBase = VMCSField(width: .naturalWidth, type: .hostState, index: 3)
    /// Host GS base (6C08H).
    public static let hostGSBase = VMCSField(width: .naturalWidth, type: .hostState, index: 4)
    /// Host TR base (6C0AH).
    public static let hostTRBase = VMCSField(width: .naturalWidth, type: .hostState, index: 5)
    /// Host GDTR base (6C0CH).
    public static let hostGDTRBase = VMCSField(width: .naturalWidth, type: .hostState, index: 6)
    /// Host IDTR base (6C0EH).
    public static let hostIDTRBase = VMCSField(width: .naturalWidth, type: .hostState, index: 7)
    /// Host IA32_SYSENTER_ESP (6C10H).
    public static let hostIA32SysenterESP = VMCSField(width: .naturalWidth, type: .hostState, index: 8)
    /// Host IA32_SYSENTER_EIP (6C12H).
    public static let hostIA32SysenterEIP = VMCSField(width: .naturalWidth, type: .hostState, index: 9)
    /// Host RSP (6C14H).
    public static let hostRSP = VMCSField(width: .naturalWidth, type: .hostState, index: 10)
    /// Host RIP (6C16H).
    public static let hostRIP = VMCSField(width: .naturalWidth, type: .hostState, index: 11)
    /// Host IA32_S_CET (6C18H).
    public static let hostIA32SCET = VMCSField(width: .naturalWidth, type: .hostState, index: 12)
    /// Host SSP (6C1AH).
    public static let hostSSP = VMCSField(width: .naturalWidth, type: .hostState, index: 13)
    /// Host IA32_INTERRUPT_SSP_TABLE_ADDR (6C1CH).
    public static let hostIA32InterruptSSPTableAddr = VMCSField(width: .naturalWidth, type: .hostState, index: 14)
}
