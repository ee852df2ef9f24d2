// SDM 27.2.1.1 "VM-Execution Control Fields": the checks VM entry performs on the
// VM-execution control fields, in the SDM's order. Failure: VMfailValid(7).

extension EntryRules {
    static let vmExecutionControls: [EntryRule] = [
        EntryRule(
            "controls.pin.reserved", "27.2.1.1", .controls,
            "Reserved bits in the pin-based VM-execution controls are set properly"
        ) { c, v in
            EntryRule.reservedControlViolations(
                c.pinBased, c.capabilities.pinBasedControls, field: .pinBasedVMExecutionControls,
                msr: EntryRule.controlsMSRName("IA32_VMX_PINBASED_CTLS", "IA32_VMX_TRUE_PINBASED_CTLS", c), into: &v)
        },
        EntryRule(
            "controls.primary.reserved", "27.2.1.1", .controls,
            "Reserved bits in the primary processor-based VM-execution controls are set properly"
        ) { c, v in
            EntryRule.reservedControlViolations(
                c.primary, c.capabilities.primaryProcessorBasedControls,
                field: .primaryProcessorBasedVMExecutionControls,
                msr: EntryRule.controlsMSRName("IA32_VMX_PROCBASED_CTLS", "IA32_VMX_TRUE_PROCBASED_CTLS", c), into: &v)
        },
        EntryRule(
            "controls.secondary.reserved", "27.2.1.1", .controls,
            """
            If \"activate secondary controls\" is 1, reserved bits in the secondary processor-based VM-execution \
            controls are 0
            """
        ) { c, v in
            guard c.primary.contains(.activateSecondaryControls) else { return }
            EntryRule.reservedControlViolations(
                c.secondary, c.capabilities.secondaryProcessorBasedControls,
                field: .secondaryProcessorBasedVMExecutionControls, msr: "IA32_VMX_PROCBASED_CTLS2", into: &v)
        },
        EntryRule(
            "controls.tertiary.reserved", "27.2.1.1", .controls,
            """
            If \"activate tertiary controls\" is 1, reserved bits in the tertiary processor-based VM-execution \
            controls are 0
            """
        ) { c, v in
            guard c.primary.contains(.activateTertiaryControls) else { return }
            EntryRule.reservedControlViolations(
                c.tertiary, c.capabilities.tertiaryProcessorBasedControls,
                field: .tertiaryProcessorBasedVMExecutionControls, msr: "IA32_VMX_PROCBASED_CTLS3", into: &v)
        },
        EntryRule(
            "controls.cr3-target-count", "27.2.1.1", .controls,
            "The CR3-target count is not greater than the number IA32_VMX_MISC[24:16] supports"
        ) { c, v in
            let supported = UInt64(c.capabilities.misc.cr3TargetCount)
            if c.cr3TargetCount > supported {
                v.record(
                    field: .cr3TargetCount, value: c.cr3TargetCount,
                    expected: String(text: "at most \(supported) (IA32_VMX_MISC[24:16])"))
            }
        },
        EntryRule.pageAddress(
            "controls.io-bitmap-a.address", "27.2.1.1",
            """
            If \"use I/O bitmaps\" is 1, the address of I/O bitmap A is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .ioBitmapAAddress, applies: { $0.primary.contains(.useIOBitmaps) }, value: { $0.ioBitmapA }),
        EntryRule.pageAddress(
            "controls.io-bitmap-b.address", "27.2.1.1",
            """
            If \"use I/O bitmaps\" is 1, the address of I/O bitmap B is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .ioBitmapBAddress, applies: { $0.primary.contains(.useIOBitmaps) }, value: { $0.ioBitmapB }),
        EntryRule.pageAddress(
            "controls.msr-bitmaps.address", "27.2.1.1",
            """
            If \"use MSR bitmaps\" is 1, the MSR-bitmap address is 4-KByte aligned and within the physical-address \
            width
            """,
            field: .msrBitmapsAddress, applies: { $0.primary.contains(.useMSRBitmaps) }, value: { $0.msrBitmaps }),
        EntryRule.pageAddress(
            "controls.virtual-apic.address", "27.2.1.1",
            """
            If \"use TPR shadow\" is 1, the virtual-APIC address is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .virtualAPICAddress, applies: { $0.primary.contains(.useTPRShadow) },
            value: { $0.virtualAPICAddress }),
        EntryRule(
            "controls.tpr-threshold.reserved", "27.2.1.1", .controls,
            "If \"use TPR shadow\" is 1 and \"virtual-interrupt delivery\" is 0, bits 31:4 of the TPR threshold are 0"
        ) { c, v in
            guard c.primary.contains(.useTPRShadow), !c.secondary.contains(.virtualInterruptDelivery) else { return }
            if c.tprThreshold & ~0xF != 0 {
                v.record(field: .tprThreshold, value: c.tprThreshold, expected: "bits 31:4 clear")
            }
        },
        EntryRule(
            "controls.tpr-threshold.vtpr", "27.2.1.1", .controls,
            """
            If \"use TPR shadow\" is 1 and \"virtualize APIC accesses\" and \"virtual-interrupt delivery\" are 0, \
            TPR threshold bits 3:0 do not exceed VTPR bits 7:4
            """
        ) { c, v in
            guard c.primary.contains(.useTPRShadow), !c.secondary.contains(.virtualizeAPICAccesses),
                !c.secondary.contains(.virtualInterruptDelivery),
                c.pageAddressProblem(c.virtualAPICAddress) == nil
            else { return }
            // VTPR is byte 80H of the virtual-APIC page (SDM 30.1.1).
            let vtprAddress = c.virtualAPICAddress + 0x80
            let vtpr = c.readPhysical64(vtprAddress) & 0xFF
            if c.tprThreshold & 0xF > vtpr >> 4 {
                v.record(
                    EntryViolation(
                        field: .tprThreshold, value: c.tprThreshold,
                        expected: String(
                            text: "bits 3:0 at most VTPR[7:4] = \(vtpr >> 4) (VTPR \(hex: vtpr, digits: 2))"),
                        memoryAddress: vtprAddress))
            }
        },
        EntryRule(
            "controls.apic-virtualization.needs-tpr-shadow", "27.2.1.1", .controls,
            """
            If \"use TPR shadow\" is 0, \"virtualize x2APIC mode\", \"APIC-register virtualization\" and \
            \"virtual-interrupt delivery\" are 0
            """
        ) { c, v in
            guard !c.primary.contains(.useTPRShadow) else { return }
            let needing: SecondaryProcessorBasedControls = [
                .virtualizeX2APICMode, .apicRegisterVirtualization, .virtualInterruptDelivery
            ]
            let set = c.secondary.intersection(needing)
            if !set.isEmpty {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: set.names.joined(separator: ", ") + " clear (\"use TPR shadow\" is 0)")
            }
        },
        EntryRule(
            "controls.nmi.virtual-nmis-need-nmi-exiting", "27.2.1.1", .controls,
            "If \"NMI exiting\" is 0, \"virtual NMIs\" is 0"
        ) { c, v in
            if !c.pinBased.contains(.nmiExiting) && c.pinBased.contains(.virtualNMIs) {
                v.record(
                    field: .pinBasedVMExecutionControls, value: c.pinBased.mask,
                    expected: "Virtual NMIs clear (NMI exiting is 0)")
            }
        },
        EntryRule(
            "controls.nmi.nmi-window-needs-virtual-nmis", "27.2.1.1", .controls,
            "If \"virtual NMIs\" is 0, \"NMI-window exiting\" is 0"
        ) { c, v in
            if !c.pinBased.contains(.virtualNMIs) && c.primary.contains(.nmiWindowExiting) {
                v.record(
                    field: .primaryProcessorBasedVMExecutionControls, value: c.primary.mask,
                    expected: "NMI-window exiting clear (virtual NMIs is 0)")
            }
        },
        EntryRule.pageAddress(
            "controls.apic-access.address", "27.2.1.1",
            """
            If \"virtualize APIC accesses\" is 1, the APIC-access address is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .apicAccessAddress, applies: { $0.secondary.contains(.virtualizeAPICAccesses) },
            value: { $0.apicAccessAddress }),
        EntryRule(
            "controls.x2apic-mode.excludes-apic-access", "27.2.1.1", .controls,
            "If \"virtualize x2APIC mode\" is 1, \"virtualize APIC accesses\" is 0"
        ) { c, v in
            if c.secondary.contains(.virtualizeX2APICMode) && c.secondary.contains(.virtualizeAPICAccesses) {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Virtualize APIC accesses clear (virtualize x2APIC mode is 1)")
            }
        },
        EntryRule(
            "controls.virtual-interrupt-delivery.needs-external-interrupt-exiting", "27.2.1.1", .controls,
            "If \"virtual-interrupt delivery\" is 1, \"external-interrupt exiting\" is 1"
        ) { c, v in
            if c.secondary.contains(.virtualInterruptDelivery) && !c.pinBased.contains(.externalInterruptExiting) {
                v.record(
                    field: .pinBasedVMExecutionControls, value: c.pinBased.mask,
                    expected: "External-interrupt exiting set (virtual-interrupt delivery is 1)")
            }
        },
        EntryRule(
            "controls.posted-interrupts.need-virtual-interrupt-delivery", "27.2.1.1", .controls,
            "If \"process posted interrupts\" is 1, \"virtual-interrupt delivery\" is 1"
        ) { c, v in
            if c.pinBased.contains(.processPostedInterrupts) && !c.secondary.contains(.virtualInterruptDelivery) {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Virtual-interrupt delivery set (process posted interrupts is 1)")
            }
        },
        EntryRule(
            "controls.posted-interrupts.need-acknowledge-interrupt-on-exit", "27.2.1.1", .controls,
            "If \"process posted interrupts\" is 1, the VM-exit control \"acknowledge interrupt on exit\" is 1"
        ) { c, v in
            if c.pinBased.contains(.processPostedInterrupts) && !c.exitControls.contains(.acknowledgeInterruptOnExit) {
                v.record(
                    field: .primaryVMExitControls, value: c.exitControls.mask,
                    expected: "Acknowledge interrupt on exit set (process posted interrupts is 1)")
            }
        },
        EntryRule(
            "controls.posted-interrupts.notification-vector", "27.2.1.1", .controls,
            "If \"process posted interrupts\" is 1, the posted-interrupt notification vector is in the range 0-255"
        ) { c, v in
            guard c.pinBased.contains(.processPostedInterrupts) else { return }
            if c.postedInterruptNotificationVector & 0xFF00 != 0 {
                v.record(
                    field: .postedInterruptNotificationVector, value: c.postedInterruptNotificationVector,
                    expected: "bits 15:8 clear (a vector 0-255)")
            }
        },
        EntryRule(
            "controls.posted-interrupts.descriptor-address", "27.2.1.1", .controls,
            """
            If \"process posted interrupts\" is 1, the posted-interrupt descriptor address is 64-byte aligned and \
            within the physical-address width
            """
        ) { c, v in
            guard c.pinBased.contains(.processPostedInterrupts) else { return }
            let address = c.postedInterruptDescriptorAddress
            if address & 0x3F != 0 {
                v.record(
                    field: .postedInterruptDescriptorAddress, value: address,
                    expected: "bits 5:0 clear (64-byte aligned)")
            } else if !c.fitsAddressWidth(address) {
                v.record(
                    field: .postedInterruptDescriptorAddress, value: address,
                    expected: c.addressWidthExpectation)
            }
        },
        EntryRule(
            "controls.vpid.nonzero", "27.2.1.1", .controls,
            "If \"enable VPID\" is 1, the VPID is not 0000H"
        ) { c, v in
            if c.secondary.contains(.enableVPID) && c.vpid & 0xFFFF == 0 {
                v.record(field: .virtualProcessorIdentifier, value: c.vpid, expected: "not 0000H")
            }
        },
        EntryRule(
            "controls.eptp.memory-type", "27.2.1.1", .controls,
            "If \"enable EPT\" is 1, the EPT memory type (EPTP bits 2:0) is one IA32_VMX_EPT_VPID_CAP supports"
        ) { c, v in
            guard c.enableEPT else { return }
            let caps = c.capabilities.eptVPIDCapabilitiesOrNone
            let type = c.eptPointer & 7
            let supported =
                (type == 0 && caps.contains(.uncacheableMemoryType))
                || (type == 6 && caps.contains(.writeBackMemoryType))
            if !supported {
                var allowed: [String] = []
                if caps.contains(.uncacheableMemoryType) { allowed.append("0 (UC)") }
                if caps.contains(.writeBackMemoryType) { allowed.append("6 (WB)") }
                v.record(
                    field: .eptPointer, value: c.eptPointer,
                    expected: "bits 2:0 = "
                        + (allowed.isEmpty
                            ? "a supported type (none reported)"
                            : allowed.joined(separator: " or "))
                        + " (IA32_VMX_EPT_VPID_CAP bits 8, 14)")
            }
        },
        EntryRule(
            "controls.eptp.walk-length", "27.2.1.1", .controls,
            "If \"enable EPT\" is 1, EPTP bits 5:3 (page-walk length minus 1) give a supported page-walk length"
        ) { c, v in
            guard c.enableEPT else { return }
            let caps = c.capabilities.eptVPIDCapabilitiesOrNone
            let lengthMinusOne = (c.eptPointer >> 3) & 7
            let supported =
                (lengthMinusOne == 3 && caps.contains(.pageWalkLength4))
                || (lengthMinusOne == 4 && caps.contains(.pageWalkLength5))
            if !supported {
                v.record(
                    field: .eptPointer, value: c.eptPointer,
                    expected: caps.contains(.pageWalkLength5)
                        ? "bits 5:3 = 3 or 4 (page-walk length 4 or 5)"
                        : "bits 5:3 = 3 (page-walk length 4, IA32_VMX_EPT_VPID_CAP bit 6)")
            }
        },
        EntryRule(
            "controls.eptp.accessed-dirty", "27.2.1.1", .controls,
            "If \"enable EPT\" is 1, EPTP bit 6 (accessed and dirty flags) is 0 unless IA32_VMX_EPT_VPID_CAP[21] is 1"
        ) { c, v in
            guard c.enableEPT, c.eptPointer & (1 << 6) != 0 else { return }
            let caps = c.capabilities.eptVPIDCapabilitiesOrNone
            if !caps.contains(.accessedAndDirtyFlags) {
                v.record(
                    field: .eptPointer, value: c.eptPointer,
                    expected: "bit 6 clear (IA32_VMX_EPT_VPID_CAP[21] is 0)")
            }
        },
        EntryRule(
            "controls.eptp.supervisor-shadow-stack", "27.2.1.1", .controls,
            """
            If \"enable EPT\" is 1, EPTP bit 7 (supervisor shadow-stack control) is 0 unless \
            IA32_VMX_EPT_VPID_CAP[23] is 1
            """
        ) { c, v in
            guard c.enableEPT, c.eptPointer & (1 << 7) != 0 else { return }
            let caps = c.capabilities.eptVPIDCapabilitiesOrNone
            if !caps.contains(.supervisorShadowStackControl) {
                v.record(
                    field: .eptPointer, value: c.eptPointer,
                    expected: "bit 7 clear (IA32_VMX_EPT_VPID_CAP[23] is 0)")
            }
        },
        EntryRule(
            "controls.eptp.reserved", "27.2.1.1", .controls,
            "If \"enable EPT\" is 1, EPTP reserved bits 11:8 and those at or above the physical-address width are 0"
        ) { c, v in
            guard c.enableEPT else { return }
            if c.eptPointer & 0xF00 != 0 {
                v.record(field: .eptPointer, value: c.eptPointer, expected: "bits 11:8 clear")
            } else if !c.fitsAddressWidth(c.eptPointer) {
                v.record(
                    field: .eptPointer, value: c.eptPointer,
                    expected: EntryCheckContext.widthExpectation(c.structureAddressWidth))
            }
        },
        EntryRule(
            "controls.pml.needs-ept", "27.2.1.1", .controls,
            "If \"enable PML\" is 1, \"enable EPT\" is 1"
        ) { c, v in
            if c.secondary.contains(.enablePML) && !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (enable PML is 1)")
            }
        },
        EntryRule.pageAddress(
            "controls.pml.address", "27.2.1.1",
            "If \"enable PML\" is 1, the PML address is 4-KByte aligned and within the physical-address width",
            field: .pmlAddress, applies: { $0.secondary.contains(.enablePML) }, value: { $0.pmlAddress }),
        EntryRule(
            "controls.unrestricted-guest.needs-ept", "27.2.1.1", .controls,
            "If \"unrestricted guest\" is 1, \"enable EPT\" is 1"
        ) { c, v in
            if c.unrestrictedGuest && !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (unrestricted guest is 1)")
            }
        },
        EntryRule(
            "controls.mode-based-execute.needs-ept", "27.2.1.1", .controls,
            "If \"mode-based execute control for EPT\" is 1, \"enable EPT\" is 1"
        ) { c, v in
            if c.secondary.contains(.modeBasedExecuteControlForEPT) && !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (mode-based execute control for EPT is 1)")
            }
        },
        EntryRule(
            "controls.sub-page-permissions.needs-ept", "27.2.1.1", .controls,
            "If \"sub-page write permissions for EPT\" is 1, \"enable EPT\" is 1"
        ) { c, v in
            if c.secondary.contains(.subPageWritePermissionsForEPT) && !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (sub-page write permissions for EPT is 1)")
            }
        },
        EntryRule.pageAddress(
            "controls.sub-page-permissions.spptp", "27.2.1.1",
            """
            If \"sub-page write permissions for EPT\" is 1, the SPPTP is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .subPagePermissionTablePointer,
            applies: { $0.secondary.contains(.subPageWritePermissionsForEPT) },
            value: { $0.subPagePermissionTablePointer }),
        EntryRule(
            "controls.vm-functions.reserved", "27.2.1.1", .controls,
            "If \"enable VM functions\" is 1, reserved bits in the VM-function controls are 0"
        ) { c, v in
            guard c.secondary.contains(.enableVMFunctions) else { return }
            EntryRule.reservedControlViolations(
                c.vmFunctionControls, c.capabilities.vmFunctionControls,
                field: .vmFunctionControls, msr: "IA32_VMX_VMFUNC", into: &v)
        },
        EntryRule(
            "controls.eptp-switching.needs-ept", "27.2.1.1", .controls,
            "If the VM-function control \"EPTP switching\" is 1, \"enable EPT\" is 1"
        ) { c, v in
            if c.vmFunctionControls.contains(.eptpSwitching) && !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (EPTP switching is 1)")
            }
        },
        EntryRule.pageAddress(
            "controls.eptp-switching.eptp-list-address", "27.2.1.1",
            """
            If \"EPTP switching\" is 1, the EPTP-list address is 4-KByte aligned and within the physical-address \
            width
            """,
            field: .eptpListAddress, applies: { $0.vmFunctionControls.contains(.eptpSwitching) },
            value: { $0.eptpListAddress }),
        EntryRule.pageAddress(
            "controls.vmcs-shadowing.vmread-bitmap-address", "27.2.1.1",
            """
            If \"VMCS shadowing\" is 1, the VMREAD-bitmap address is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .vmreadBitmapAddress, applies: { $0.secondary.contains(.vmcsShadowing) },
            value: { $0.vmreadBitmapAddress }),
        EntryRule.pageAddress(
            "controls.vmcs-shadowing.vmwrite-bitmap-address", "27.2.1.1",
            """
            If \"VMCS shadowing\" is 1, the VMWRITE-bitmap address is 4-KByte aligned and within the \
            physical-address width
            """,
            field: .vmwriteBitmapAddress, applies: { $0.secondary.contains(.vmcsShadowing) },
            value: { $0.vmwriteBitmapAddress }),
        EntryRule.pageAddress(
            "controls.ept-violation-ve.information-address", "27.2.1.1",
            """
            If \"EPT-violation #VE\" is 1, the virtualization-exception information address is 4-KByte aligned and \
            within the physical-address width
            """,
            field: .virtualizationExceptionInformationAddress,
            applies: { $0.secondary.contains(.eptViolationVE) },
            value: { $0.virtualizationExceptionInformationAddress }),
        EntryRule(
            "controls.intel-pt-guest-physical.dependencies", "27.2.1.1", .controls,
            """
            If \"Intel PT uses guest physical addresses\" is 1, \"enable EPT\", the VM-entry control \"load \
            IA32_RTIT_CTL\" and the VM-exit control \"clear IA32_RTIT_CTL\" are 1
            """
        ) { c, v in
            guard c.secondary.contains(.intelPTUsesGuestPhysicalAddresses) else { return }
            if !c.enableEPT {
                v.record(
                    field: .secondaryProcessorBasedVMExecutionControls, value: c.secondary.mask,
                    expected: "Enable EPT set (Intel PT uses guest physical addresses is 1)")
            }
            if !c.entryControls.contains(.loadIA32RTITCtl) {
                v.record(
                    field: .vmEntryControls, value: c.entryControls.mask,
                    expected: "Load IA32_RTIT_CTL set (Intel PT uses guest physical addresses is 1)")
            }
            if !c.exitControls.contains(.clearIA32RTITCtl) {
                v.record(
                    field: .primaryVMExitControls, value: c.exitControls.mask,
                    expected: "Clear IA32_RTIT_CTL set (Intel PT uses guest physical addresses is 1)")
            }
        }
    ]
}
