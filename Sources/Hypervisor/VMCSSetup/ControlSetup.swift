// The VM-execution, VM-exit and VM-entry controls of the hypervisor's default set-up, computed
// from the capability MSRs with the allowed-0/allowed-1 algorithm (SDM 32.5.1, A.3-A.5; the
// TRUE MSRs where IA32_VMX_BASIC[55] says they exist, via VMXCapabilities). Both worlds use
// this one computation, so a given CPU model gets the same controls in the kernel and in the
// emulated CPU.
//
// What the hypervisor cannot do without (HLT exiting, I/O and MSR bitmaps, CR8 exiting,
// external-interrupt and NMI exiting, a 64-bit host) is required: a CPU that lacks one runs
// no guest. Everything else is desired and degrades: without the VMX-preemption timer a host
// timer stops guests; without EPT the guests' physical addresses are host addresses and user
// images are refused; without unrestricted guest there is no real-mode guest; without the
// monitor trap flag single steps use RFLAGS.TF. `givenUp` names what the CPU did not allow.
import VMX

public struct ControlSetup: Equatable, Sendable {
    public var pinBased: PinBasedControls
    public var primary: PrimaryProcessorBasedControls
    public var secondary: SecondaryProcessorBasedControls
    public var exit: VMExitControls
    /// The VM-entry controls for a guest that is not in IA-32e mode; `entry(ia32eMode:)` adds
    /// "IA-32e mode guest" for one that is.
    public var entryBase: VMEntryControls

    /// Controls the processor would not let be 1, with the field they belong to.
    public var givenUp: [GivenUpControls] = []
    /// Required controls the processor does not allow: no guest can run.
    public var missingRequired: [GivenUpControls] = []

    /// Controls the run loop sets and clears as it goes, when the CPU allows them.
    public var allowsMonitorTrapFlag: Bool
    /// Whether single steps use the monitor trap flag: allowed, and its VM exits seen to
    /// arrive (probeMonitorTrapFlag); RFLAGS.TF and #DB exiting otherwise.
    public var usesMonitorTrapFlag = false
    public var allowsInterruptWindowExiting: Bool
    public var allowsIA32eModeGuest: Bool
    /// Which EPT memory type the EPTP and the EPT entries use: 6 (WB) or 0 (UC).
    public var eptMemoryType: UInt64
    public var allows2MBEPTPages: Bool
    /// The INVEPT type to use after EPT changes, nil without INVEPT.
    public var inveptType: INVEPTType?
    /// The INVVPID type for one VPID, nil without INVVPID.
    public var invvpidType: INVVPIDType?
    /// IA32_VMX_BASIC[54]: VM exits for INS and OUTS fill in the instruction-information field.
    public var reportsStringIOInformation: Bool
    /// IA32_VMX_MISC[4:0]: the VMX-preemption timer counts down by 1 every 2^rate TSC cycles.
    public var preemptionTimerRate: Int
    /// IA32_VMX_MISC[8]: VM entry can put a guest in the wait-for-SIPI activity state (SDM A.6).
    public var supportsWaitForSIPI: Bool

    /// One control field's controls that could not be had.
    public struct GivenUpControls: Equatable, Sendable {
        public var field: String
        public var names: [String]

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.field.utf8.elementsEqual(rhs.field.utf8) && lhs.names.count == rhs.names.count
                && zip(lhs.names, rhs.names).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
        }
    }

    // MARK: What the controls turn on

    public var usesSecondaryControls: Bool { primary.contains(.activateSecondaryControls) }
    public var usesEPT: Bool { usesSecondaryControls && secondary.contains(.enableEPT) }
    public var usesVPID: Bool { usesSecondaryControls && secondary.contains(.enableVPID) }
    public var usesUnrestrictedGuest: Bool { usesSecondaryControls && secondary.contains(.unrestrictedGuest) }
    public var usesPreemptionTimer: Bool { pinBased.contains(.activateVMXPreemptionTimer) }
    public var savesPreemptionTimer: Bool { exit.contains(.saveVMXPreemptionTimerValue) }
    public var acknowledgesInterruptOnExit: Bool { exit.contains(.acknowledgeInterruptOnExit) }
    public var switchesEFER: Bool { exit.contains(.loadIA32EFER) && entryBase.contains(.loadIA32EFER) }
    public var switchesPAT: Bool { exit.contains(.loadIA32PAT) && entryBase.contains(.loadIA32PAT) }
    public var exitsOnCR3Load: Bool { primary.contains(.cr3LoadExiting) }
    public var exitsOnCR3Store: Bool { primary.contains(.cr3StoreExiting) }
    public var enablesRDTSCP: Bool { usesSecondaryControls && secondary.contains(.enableRDTSCP) }
    public var enablesINVPCID: Bool { usesSecondaryControls && secondary.contains(.enableINVPCID) }
    public var hasAllRequired: Bool { missingRequired.isEmpty }

    /// The VM-entry controls for a guest in IA-32e mode or not.
    public func entry(ia32eMode: Bool) -> VMEntryControls {
        ia32eMode ? entryBase.union(.ia32eModeGuest) : entryBase.subtracting(.ia32eModeGuest)
    }

    // MARK: The computation

    public static let requiredPinBased: PinBasedControls = [.externalInterruptExiting, .nmiExiting]
    public static let desiredPinBased: PinBasedControls = [.activateVMXPreemptionTimer]
    public static let requiredPrimary: PrimaryProcessorBasedControls =
        [.hltExiting, .useIOBitmaps, .useMSRBitmaps, .cr8LoadExiting, .cr8StoreExiting]
    public static let desiredPrimary: PrimaryProcessorBasedControls = [.activateSecondaryControls]
    public static let desiredSecondary: SecondaryProcessorBasedControls =
        [.enableEPT, .enableVPID, .unrestrictedGuest, .enableRDTSCP, .enableINVPCID]
    public static let requiredExit: VMExitControls = [.hostAddressSpaceSize]
    public static let desiredExit: VMExitControls =
        [
            .acknowledgeInterruptOnExit, .saveIA32EFER, .loadIA32EFER, .saveIA32PAT, .loadIA32PAT,
            .saveVMXPreemptionTimerValue, .saveDebugControls
        ]
    // Debug controls: the guest's DR7 and IA32_DEBUGCTL come from the VMCS and go back to it
    // (SDM 27.3.2.1, 28.3.1), which the guest debugger's hardware breakpoints need.
    public static let desiredEntry: VMEntryControls = [.loadIA32EFER, .loadIA32PAT, .loadDebugControls]

    /// The default set-up for a processor with these capabilities.
    public init(capabilities caps: VMXCapabilities) {
        var givenUp: [GivenUpControls] = []
        var missing: [GivenUpControls] = []
        func note<C: VMXControlField>(_ adjustment: ControlAdjustment<C>) {
            if !adjustment.givenUp.isEmpty {
                givenUp.append(GivenUpControls(field: C.fieldName, names: adjustment.givenUp.names))
            }
            if !adjustment.missingRequired.isEmpty {
                missing.append(GivenUpControls(field: C.fieldName, names: adjustment.missingRequired.names))
            }
        }

        let pin = caps.pinBasedControls.adjust(required: Self.requiredPinBased, desired: Self.desiredPinBased)
        note(pin)
        var pinValue = pin.value
        // The timer keeps a guest's budget across VM exits only if each exit saves what is left
        // (SDM 25.7.1, 26.7.4); otherwise it starts again at every VM entry and a guest that
        // exits often never runs out. The host timer serves instead.
        if pinValue.contains(.activateVMXPreemptionTimer) && !caps.exitControls.allowsOne(.saveVMXPreemptionTimerValue)
            && caps.pinBasedControls.allowsZero(.activateVMXPreemptionTimer)
        {
            pinValue.remove(.activateVMXPreemptionTimer)
            givenUp.append(
                GivenUpControls(
                    field: PinBasedControls.fieldName + " (the VM-exit controls cannot save the timer's value)",
                    names: PinBasedControls.activateVMXPreemptionTimer.names))
        }
        let primary = caps.primaryProcessorBasedControls.adjust(
            required: Self.requiredPrimary, desired: Self.desiredPrimary)
        note(primary)

        // EPT is usable only with a 4-level walk and a memory type the EPTP may use (SDM
        // 25.6.11, A.10); unrestricted guest needs EPT (SDM 27.2.1.1).
        var desiredSecondary = Self.desiredSecondary
        let ept = caps.eptVPIDCapabilitiesOrNone
        let eptUsable =
            ept.contains(.pageWalkLength4)
            && (ept.contains(.writeBackMemoryType) || ept.contains(.uncacheableMemoryType))
        var secondaryValue = SecondaryProcessorBasedControls(rawValue: 0)
        if primary.value.contains(.activateSecondaryControls) {
            let allowed = caps.secondaryProcessorBasedControls
            if !eptUsable || !allowed.allowsOne(.enableEPT) { desiredSecondary.remove(.unrestrictedGuest) }
            if !eptUsable { desiredSecondary.remove(.enableEPT) }
            let secondary = allowed.adjust(required: [], desired: desiredSecondary)
            note(secondary)
            secondaryValue = secondary.value
            // Asked for but not possible for want of EPT: given up as well.
            let dropped = Self.desiredSecondary.subtracting(desiredSecondary)
            if !dropped.isEmpty {
                givenUp.append(
                    GivenUpControls(
                        field: SecondaryProcessorBasedControls.fieldName + " (without usable EPT)",
                        names: dropped.names))
            }
        } else {
            givenUp.append(
                GivenUpControls(
                    field: SecondaryProcessorBasedControls.fieldName,
                    names: Self.desiredSecondary.names))
        }

        // Saving the timer value only matters with the timer.
        var desiredExit = Self.desiredExit
        if !pinValue.contains(.activateVMXPreemptionTimer) { desiredExit.remove(.saveVMXPreemptionTimerValue) }
        let exit = caps.exitControls.adjust(required: Self.requiredExit, desired: desiredExit)
        note(exit)
        let entry = caps.entryControls.adjust(required: [], desired: Self.desiredEntry.union(.ia32eModeGuest))
        note(entry)

        // Load IA32_EFER/IA32_PAT on entry only when the exit loads the host's back (a guest's
        // value must not stay in the host).
        var entryValue = entry.value.subtracting(.ia32eModeGuest)
        if !exit.value.contains(.loadIA32EFER) && caps.entryControls.allowsZero(.loadIA32EFER) {
            entryValue.remove(.loadIA32EFER)
        }
        if !exit.value.contains(.loadIA32PAT) && caps.entryControls.allowsZero(.loadIA32PAT) {
            entryValue.remove(.loadIA32PAT)
        }

        self.pinBased = pinValue
        self.primary = primary.value
        self.secondary = secondaryValue
        self.exit = exit.value
        self.entryBase = entryValue
        self.givenUp = givenUp
        self.missingRequired = missing
        reportsStringIOInformation = caps.basic.reportsINSOUTSInformation
        preemptionTimerRate = Int(caps.misc.preemptionTimerRate)
        supportsWaitForSIPI = caps.misc.supportsWaitForSIPIActivityState
        allowsMonitorTrapFlag = caps.primaryProcessorBasedControls.allowsOne(.monitorTrapFlag)
        allowsInterruptWindowExiting = caps.primaryProcessorBasedControls.allowsOne(.interruptWindowExiting)
        allowsIA32eModeGuest = caps.entryControls.allowsOne(.ia32eModeGuest)
        eptMemoryType = ept.contains(.writeBackMemoryType) ? 6 : 0
        allows2MBEPTPages = ept.contains(.pages2MB)
        if ept.contains(.invept) && ept.contains(.singleContextINVEPT) {
            inveptType = .singleContext
        } else if ept.contains(.invept) && ept.contains(.allContextINVEPT) {
            inveptType = .allContext
        } else {
            inveptType = nil
        }
        if ept.contains(.invvpid) && ept.contains(.singleContextINVVPID) {
            invvpidType = .singleContext
        } else if ept.contains(.invvpid) && ept.contains(.allContextINVVPID) {
            invvpidType = .allContext
        } else {
            invvpidType = nil
        }
    }

    /// One line per field with controls given up or missing.
    public func report<P: Host>(cpu: P) {
        for item in missingRequired {
            cpu.log("VMCS: required \(item.field) not allowed by this CPU: \(item.names.joined(separator: ", "))")
        }
        for item in givenUp {
            cpu.log("VMCS: gave up \(item.field): \(item.names.joined(separator: ", "))")
        }
    }
}
