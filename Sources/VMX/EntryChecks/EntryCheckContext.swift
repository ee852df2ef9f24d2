// What the rules look at: the VMCS fields VM entry consults, read once from the input, and
// the processor facts that come with them. Fields are read only where the controls make them
// relevant (SDM 27.2-27.3 consult, say, the EPTP only if "enable EPT" is 1), so the kernel
// never VMREADs a field its processor lacks for a feature the VMCS does not use.

public struct EntryCheckContext {
    // MARK: Processor

    public let capabilities: VMXCapabilities
    public let physicalAddressWidth: Int
    public let linearAddressWidth: Int
    public let currentVMCSPointer: UInt64
    public let vmxonPointer: UInt64
    public let processorInIA32eMode: Bool
    public let processorInSMM: Bool
    public let features: EntryCheckProcessorFeatures
    public let readPhysical64: (UInt64) -> UInt64
    public let msrWriteFaults: ((UInt32, UInt64) -> Bool)?

    // MARK: VM-execution control fields (SDM 25.6)

    public let pinBased: PinBasedControls
    public let primary: PrimaryProcessorBasedControls
    /// The secondary controls in effect: read when "activate secondary controls" is 1, else 0
    /// (SDM 27.2.1.1: the processor then operates as if all of them were 0).
    public let secondary: SecondaryProcessorBasedControls
    /// The tertiary controls in effect: read when "activate tertiary controls" is 1, else 0.
    public let tertiary: TertiaryProcessorBasedControls
    public let cr3TargetCount: UInt64
    public let ioBitmapA: UInt64
    public let ioBitmapB: UInt64
    public let msrBitmaps: UInt64
    public let virtualAPICAddress: UInt64
    public let tprThreshold: UInt64
    public let apicAccessAddress: UInt64
    public let postedInterruptNotificationVector: UInt64
    public let postedInterruptDescriptorAddress: UInt64
    public let vpid: UInt64
    public let eptPointer: UInt64
    public let pmlAddress: UInt64
    /// The VM-function controls in effect: read when "enable VM functions" is 1, else 0.
    public let vmFunctionControls: VMFunctionControls
    public let eptpListAddress: UInt64
    public let vmreadBitmapAddress: UInt64
    public let vmwriteBitmapAddress: UInt64
    public let virtualizationExceptionInformationAddress: UInt64
    public let subPagePermissionTablePointer: UInt64
    public let executiveVMCSPointer: UInt64

    // MARK: VM-exit control fields (SDM 25.7)

    public let exitControls: VMExitControls
    /// The secondary VM-exit controls in effect: read when the VM-exit control "activate
    /// secondary controls" is 1, else 0.
    public let secondaryExit: SecondaryVMExitControls
    public let exitMSRStoreCount: UInt64
    public let exitMSRStoreAddress: UInt64
    public let exitMSRLoadCount: UInt64
    public let exitMSRLoadAddress: UInt64

    // MARK: VM-entry control fields (SDM 25.8)

    public let entryControls: VMEntryControls
    public let entryMSRLoadCount: UInt64
    public let entryMSRLoadAddress: UInt64
    public let entryInterruptionInformation: VMEntryInterruptionInformation
    public let entryExceptionErrorCode: UInt64
    public let entryInstructionLength: UInt64

    // MARK: Host-state area (SDM 25.5)

    public let hostCR0: UInt64
    public let hostCR3: UInt64
    public let hostCR4: UInt64
    public let hostESSelector: UInt64
    public let hostCSSelector: UInt64
    public let hostSSSelector: UInt64
    public let hostDSSelector: UInt64
    public let hostFSSelector: UInt64
    public let hostGSSelector: UInt64
    public let hostTRSelector: UInt64
    public let hostFSBase: UInt64
    public let hostGSBase: UInt64
    public let hostTRBase: UInt64
    public let hostGDTRBase: UInt64
    public let hostIDTRBase: UInt64
    public let hostRIP: UInt64
    public let hostSysenterESP: UInt64
    public let hostSysenterEIP: UInt64
    public let hostPerfGlobalCtrl: UInt64
    public let hostPAT: UInt64
    public let hostEFER: UInt64
    public let hostSCET: UInt64
    public let hostSSP: UInt64
    public let hostInterruptSSPTableAddress: UInt64
    public let hostPKRS: UInt64

    // MARK: Guest-state area (SDM 25.4)

    public let guestCR0: UInt64
    public let guestCR3: UInt64
    public let guestCR4: UInt64
    public let guestDR7: UInt64
    public let guestDebugCtl: UInt64
    public let guestSysenterESP: UInt64
    public let guestSysenterEIP: UInt64
    public let guestPerfGlobalCtrl: UInt64
    public let guestPAT: UInt64
    public let guestEFER: UInt64
    public let guestBNDCFGS: UInt64
    public let guestRTITCtl: UInt64
    public let guestLBRCtl: UInt64
    public let guestPKRS: UInt64
    public let guestSCET: UInt64
    public let guestSSP: UInt64
    public let guestInterruptSSPTableAddress: UInt64
    public let guestUINV: UInt64
    public let es: GuestSegment
    public let cs: GuestSegment
    public let ss: GuestSegment
    public let ds: GuestSegment
    public let fs: GuestSegment
    public let gs: GuestSegment
    public let ldtr: GuestSegment
    public let tr: GuestSegment
    public let guestGDTRBase: UInt64
    public let guestGDTRLimit: UInt64
    public let guestIDTRBase: UInt64
    public let guestIDTRLimit: UInt64
    public let guestRIP: UInt64
    public let guestRFLAGS: UInt64
    public let guestActivityState: UInt64
    public let guestInterruptibility: UInt64
    public let guestPendingDebugExceptions: UInt64
    public let vmcsLinkPointer: UInt64
    /// The guest PDPTE fields; read only for a guest using PAE paging with EPT.
    public let guestPDPTEFields: (UInt64, UInt64, UInt64, UInt64)

    // swiftlint:disable:next function_body_length
    public init(_ input: EntryCheckInput) {
        let read = input.readField
        capabilities = input.capabilities
        physicalAddressWidth = input.physicalAddressWidth
        linearAddressWidth = input.linearAddressWidth
        currentVMCSPointer = input.currentVMCSPointer
        vmxonPointer = input.vmxonPointer
        processorInIA32eMode = input.processorInIA32eMode
        processorInSMM = input.processorInSMM
        features = input.features
        readPhysical64 = input.readPhysical64
        msrWriteFaults = input.msrWriteFaults

        // Controls. A field is read when a control that makes VM entry consult it is 1.
        let pin = PinBasedControls(mask: read(.pinBasedVMExecutionControls))
        let primary = PrimaryProcessorBasedControls(mask: read(.primaryProcessorBasedVMExecutionControls))
        pinBased = pin
        self.primary = primary
        let secondary =
            primary.contains(.activateSecondaryControls)
            ? SecondaryProcessorBasedControls(mask: read(.secondaryProcessorBasedVMExecutionControls))
            : SecondaryProcessorBasedControls(rawValue: 0)
        self.secondary = secondary
        let tertiary =
            primary.contains(.activateTertiaryControls)
            ? TertiaryProcessorBasedControls(mask: read(.tertiaryProcessorBasedVMExecutionControls))
            : TertiaryProcessorBasedControls(rawValue: 0)
        self.tertiary = tertiary
        cr3TargetCount = read(.cr3TargetCount)
        let useIOBitmaps = primary.contains(.useIOBitmaps)
        ioBitmapA = useIOBitmaps ? read(.ioBitmapAAddress) : 0
        ioBitmapB = useIOBitmaps ? read(.ioBitmapBAddress) : 0
        msrBitmaps = primary.contains(.useMSRBitmaps) ? read(.msrBitmapsAddress) : 0
        let useTPRShadow = primary.contains(.useTPRShadow)
        virtualAPICAddress = useTPRShadow ? read(.virtualAPICAddress) : 0
        tprThreshold = useTPRShadow ? read(.tprThreshold) : 0
        apicAccessAddress = secondary.contains(.virtualizeAPICAccesses) ? read(.apicAccessAddress) : 0
        let postedInterrupts = pin.contains(.processPostedInterrupts)
        postedInterruptNotificationVector = postedInterrupts ? read(.postedInterruptNotificationVector) : 0
        postedInterruptDescriptorAddress = postedInterrupts ? read(.postedInterruptDescriptorAddress) : 0
        vpid = secondary.contains(.enableVPID) ? read(.virtualProcessorIdentifier) : 0
        eptPointer = secondary.contains(.enableEPT) ? read(.eptPointer) : 0
        pmlAddress = secondary.contains(.enablePML) ? read(.pmlAddress) : 0
        let vmFunctions =
            secondary.contains(.enableVMFunctions)
            ? VMFunctionControls(mask: read(.vmFunctionControls)) : VMFunctionControls(rawValue: 0)
        vmFunctionControls = vmFunctions
        eptpListAddress = vmFunctions.contains(.eptpSwitching) ? read(.eptpListAddress) : 0
        let shadowing = secondary.contains(.vmcsShadowing)
        vmreadBitmapAddress = shadowing ? read(.vmreadBitmapAddress) : 0
        vmwriteBitmapAddress = shadowing ? read(.vmwriteBitmapAddress) : 0
        virtualizationExceptionInformationAddress =
            secondary.contains(.eptViolationVE)
            ? read(.virtualizationExceptionInformationAddress) : 0
        subPagePermissionTablePointer =
            secondary.contains(.subPageWritePermissionsForEPT)
            ? read(.subPagePermissionTablePointer) : 0

        let exit = VMExitControls(mask: read(.primaryVMExitControls))
        exitControls = exit
        secondaryExit =
            exit.contains(.activateSecondaryControls)
            ? SecondaryVMExitControls(mask: read(.secondaryVMExitControls)) : SecondaryVMExitControls(rawValue: 0)
        exitMSRStoreCount = read(.vmExitMSRStoreCount)
        exitMSRStoreAddress = exitMSRStoreCount != 0 ? read(.vmExitMSRStoreAddress) : 0
        exitMSRLoadCount = read(.vmExitMSRLoadCount)
        exitMSRLoadAddress = exitMSRLoadCount != 0 ? read(.vmExitMSRLoadAddress) : 0

        let entry = VMEntryControls(mask: read(.vmEntryControls))
        entryControls = entry
        entryMSRLoadCount = read(.vmEntryMSRLoadCount)
        entryMSRLoadAddress = entryMSRLoadCount != 0 ? read(.vmEntryMSRLoadAddress) : 0
        let injection = VMEntryInterruptionInformation(
            rawValue: UInt32(truncatingIfNeeded: read(.vmEntryInterruptionInformation)))
        entryInterruptionInformation = injection
        entryExceptionErrorCode = injection.isValid ? read(.vmEntryExceptionErrorCode) : 0
        entryInstructionLength = injection.isValid ? read(.vmEntryInstructionLength) : 0
        executiveVMCSPointer = input.processorInSMM ? read(.executiveVMCSPointer) : 0

        // Host state.
        hostCR0 = read(.hostCR0)
        hostCR3 = read(.hostCR3)
        hostCR4 = read(.hostCR4)
        hostESSelector = read(.hostESSelector)
        hostCSSelector = read(.hostCSSelector)
        hostSSSelector = read(.hostSSSelector)
        hostDSSelector = read(.hostDSSelector)
        hostFSSelector = read(.hostFSSelector)
        hostGSSelector = read(.hostGSSelector)
        hostTRSelector = read(.hostTRSelector)
        hostFSBase = read(.hostFSBase)
        hostGSBase = read(.hostGSBase)
        hostTRBase = read(.hostTRBase)
        hostGDTRBase = read(.hostGDTRBase)
        hostIDTRBase = read(.hostIDTRBase)
        hostRIP = read(.hostRIP)
        hostSysenterESP = read(.hostIA32SysenterESP)
        hostSysenterEIP = read(.hostIA32SysenterEIP)
        hostPerfGlobalCtrl = exit.contains(.loadIA32PerfGlobalCtrl) ? read(.hostIA32PerfGlobalCtrl) : 0
        hostPAT = exit.contains(.loadIA32PAT) ? read(.hostIA32PAT) : 0
        hostEFER = exit.contains(.loadIA32EFER) ? read(.hostIA32EFER) : 0
        let hostCET = exit.contains(.loadCETState)
        hostSCET = hostCET ? read(.hostIA32SCET) : 0
        hostSSP = hostCET ? read(.hostSSP) : 0
        hostInterruptSSPTableAddress = hostCET ? read(.hostIA32InterruptSSPTableAddr) : 0
        hostPKRS = exit.contains(.loadPKRS) ? read(.hostIA32PKRS) : 0

        // Guest state.
        guestCR0 = read(.guestCR0)
        guestCR3 = read(.guestCR3)
        guestCR4 = read(.guestCR4)
        guestDR7 = entry.contains(.loadDebugControls) ? read(.guestDR7) : 0
        guestDebugCtl = read(.guestIA32DebugCtl)
        guestSysenterESP = read(.guestIA32SysenterESP)
        guestSysenterEIP = read(.guestIA32SysenterEIP)
        guestPerfGlobalCtrl = entry.contains(.loadIA32PerfGlobalCtrl) ? read(.guestIA32PerfGlobalCtrl) : 0
        guestPAT = entry.contains(.loadIA32PAT) ? read(.guestIA32PAT) : 0
        guestEFER = entry.contains(.loadIA32EFER) ? read(.guestIA32EFER) : 0
        guestBNDCFGS = entry.contains(.loadIA32BNDCFGS) ? read(.guestIA32BNDCFGS) : 0
        guestRTITCtl = entry.contains(.loadIA32RTITCtl) ? read(.guestIA32RTITCtl) : 0
        guestLBRCtl = entry.contains(.loadGuestIA32LBRCtl) ? read(.guestIA32LBRCtl) : 0
        guestPKRS = entry.contains(.loadPKRS) ? read(.guestIA32PKRS) : 0
        let guestCET = entry.contains(.loadCETState)
        guestSCET = guestCET ? read(.guestIA32SCET) : 0
        guestSSP = guestCET ? read(.guestSSP) : 0
        guestInterruptSSPTableAddress = guestCET ? read(.guestIA32InterruptSSPTableAddr) : 0
        guestUINV = entry.contains(.loadUINV) ? read(.guestUINV) : 0
        func segment(_ register: SegmentRegister) -> GuestSegment {
            GuestSegment(
                register: register,
                selector: UInt16(truncatingIfNeeded: read(register.selectorField)),
                base: read(register.baseField),
                limit: UInt32(truncatingIfNeeded: read(register.limitField)),
                accessRights: UInt32(truncatingIfNeeded: read(register.accessRightsField)))
        }
        es = segment(.es)
        cs = segment(.cs)
        ss = segment(.ss)
        ds = segment(.ds)
        fs = segment(.fs)
        gs = segment(.gs)
        ldtr = segment(.ldtr)
        tr = segment(.tr)
        guestGDTRBase = read(.guestGDTRBase)
        guestGDTRLimit = read(.guestGDTRLimit)
        guestIDTRBase = read(.guestIDTRBase)
        guestIDTRLimit = read(.guestIDTRLimit)
        guestRIP = read(.guestRIP)
        guestRFLAGS = read(.guestRFLAGS)
        guestActivityState = read(.guestActivityState)
        guestInterruptibility = read(.guestInterruptibilityState)
        guestPendingDebugExceptions = read(.guestPendingDebugExceptions)
        vmcsLinkPointer = read(.vmcsLinkPointer)
        let paePaging =
            guestCR0 & ControlRegister0.pg.rawValue != 0
            && guestCR4 & ControlRegister4.pae.rawValue != 0 && !entry.contains(.ia32eModeGuest)
        guestPDPTEFields =
            paePaging && secondary.contains(.enableEPT)
            ? (read(.guestPDPTE0), read(.guestPDPTE1), read(.guestPDPTE2), read(.guestPDPTE3))
            : (0, 0, 0, 0)
    }
}

// MARK: - Derived facts the rules share

extension EntryCheckContext {
    public var unrestrictedGuest: Bool { secondary.contains(.unrestrictedGuest) }
    public var enableEPT: Bool { secondary.contains(.enableEPT) }
    /// The "IA-32e mode guest" VM-entry control: the guest will be in IA-32e mode.
    public var ia32eModeGuest: Bool { entryControls.contains(.ia32eModeGuest) }
    /// The "host address-space size" VM-exit control.
    public var hostAddressSpaceSize: Bool { exitControls.contains(.hostAddressSpaceSize) }
    /// RFLAGS.VM in the guest-state area: the guest will be virtual-8086 (SDM 27.3.1.2).
    public var virtual8086Guest: Bool { guestRFLAGS & RFLAGS.vm.rawValue != 0 }
    public var guestCR0PE: Bool { guestCR0 & ControlRegister0.pe.rawValue != 0 }
    public var guestCR0PG: Bool { guestCR0 & ControlRegister0.pg.rawValue != 0 }
    /// Whether the guest will use PAE paging: CR0.PG = 1, CR4.PAE = 1 and "IA-32e mode guest"
    /// = 0 (SDM 27.3.1.6).
    public var guestUsesPAEPaging: Bool {
        guestCR0PG && guestCR4 & ControlRegister4.pae.rawValue != 0 && !ia32eModeGuest
    }
    /// The event VM entry injects, if any.
    public var injection: VMEntryInterruptionInformation? {
        entryInterruptionInformation.isValid ? entryInterruptionInformation : nil
    }

    /// The guest-state fields of `register`.
    public func segment(_ register: SegmentRegister) -> GuestSegment {
        switch register {
        case .es: return es
        case .cs: return cs
        case .ss: return ss
        case .ds: return ds
        case .fs: return fs
        case .gs: return gs
        case .ldtr: return ldtr
        case .tr: return tr
        }
    }

    // MARK: Addresses

    /// Whether `address` is canonical for the processor's linear-address width: bits 63 down
    /// to width - 1 all equal (SDM Vol. 1 3.3.7.1).
    public func isCanonical(_ address: UInt64) -> Bool {
        VMX.isCanonical(address, width: linearAddressWidth)
    }

    /// The address width of structures the VMCS points to: the physical-address width, or 32
    /// when IA32_VMX_BASIC[48] limits them to 4 GiB (SDM A.1).
    public var structureAddressWidth: Int {
        capabilities.basic.physicalAddressesLimitedTo32Bits ? min(32, physicalAddressWidth) : physicalAddressWidth
    }

    /// Whether `address` sets no bit at or above `structureAddressWidth`.
    public func fitsAddressWidth(_ address: UInt64) -> Bool {
        structureAddressWidth >= 64 || address >> UInt64(structureAddressWidth) == 0
    }

    /// Whether `value` sets no bit at or above the physical-address width (for CR3).
    public func fitsPhysicalAddressWidth(_ value: UInt64) -> Bool {
        physicalAddressWidth >= 64 || value >> UInt64(physicalAddressWidth) == 0
    }

    /// What is wrong with a 4-KByte aligned structure address, or nil: "bits 11:0 of the
    /// address must be 0" and "the address must not set any bits beyond the processor's
    /// physical-address width" (the wording of many SDM 27.2.1.1 items).
    public func pageAddressProblem(_ address: UInt64) -> String? {
        if address & 0xFFF != 0 { return "bits 11:0 clear (4-KByte aligned)" }
        if !fitsAddressWidth(address) { return addressWidthExpectation }
        return nil
    }

    /// "no bit set at or above bit N (physical-address width)" for a structure address.
    public var addressWidthExpectation: String {
        String(text: "no bit set at or above bit \(structureAddressWidth) (physical-address width)")
    }

    /// "bits 63:N clear (physical-address width)" for a value of `width` bits.
    public static func widthExpectation(_ width: Int) -> String {
        String(text: "bits 63:\(width) clear (physical-address width)")
    }

    /// "canonical (bits 63:47 equal)" for the processor's linear-address width.
    public var canonicalExpectation: String {
        String(text: "canonical (bits 63:\(linearAddressWidth - 1) all equal)")
    }

    /// The first VM-entry MSR-load entry's address when the list address passes its checks
    /// (SDM 27.2.1.3); nil otherwise, and then the MSR-loading checks are not performed.
    public var entryMSRLoadListAddress: UInt64? {
        guard entryMSRLoadCount != 0 else { return nil }
        guard msrListProblem(count: entryMSRLoadCount, address: entryMSRLoadAddress) == nil else { return nil }
        return entryMSRLoadAddress
    }

    /// What is wrong with the address of an MSR list of `count` entries, or nil: "the lower 4
    /// bits ... must be 0", the address and the address of the last byte, address + count *
    /// 16 - 1 computed with more bits than the physical-address width, must not set bits
    /// beyond that width (SDM 27.2.1.2, 27.2.1.3).
    public func msrListProblem(count: UInt64, address: UInt64) -> String? {
        if address & 0xF != 0 { return "bits 3:0 clear (16-byte aligned)" }
        if !fitsAddressWidth(address) {
            return addressWidthExpectation
        }
        // count is a 32-bit field and the address fits the width: the sum cannot overflow.
        let lastByte = address &+ (count & 0xFFFF_FFFF) &* 16 &- 1
        if !fitsAddressWidth(lastByte) {
            return String(
                text: "last byte (\(hex: lastByte)) below bit \(structureAddressWidth) (physical-address width)")
        }
        return nil
    }
}
