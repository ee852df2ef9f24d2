// Writes a guest's VMCS: the controls (SDM 25.6-25.8), the host-state area (25.5) and the
// guest-state area (25.4), in that order, stopping at the first VMWRITE that fails. Only fields
// the chosen controls use are written (a CPU without "load IA32_EFER" may not have the EFER
// fields at all).
import VMX

/// The first VMWRITE that failed.
public struct VMCSWriteFailure: Error, Equatable, Sendable {
    public var field: VMCSField
    public var failure: VMFailure
}

struct VMCSWriter<P: Processor> {
    let cpu: P
    var failure: VMCSWriteFailure? = nil

    // Not inlined: one call per field keeps writeVMCS small (some 90 fields).
    @inline(never)
    mutating func set(_ field: VMCSField, _ value: UInt64) {
        guard failure == nil else { return }
        do { try cpu.vmwrite(field, value) } catch { failure = VMCSWriteFailure(field: field, failure: error) }
    }

    @inline(never)
    mutating func set(
        segment: SegmentState, selector: VMCSField, base: VMCSField, limit: VMCSField, accessRights: VMCSField
    ) {
        set(selector, UInt64(segment.selector))
        set(base, segment.base)
        set(limit, UInt64(segment.limit))
        set(accessRights, UInt64(segment.accessRights))
    }

    /// The guest-state fields a start sets - a new guest, or INIT and SIPI (StartupExits.swift):
    /// control and debug registers, segments, descriptor tables, RSP, RIP, RFLAGS, no pending
    /// debug exceptions, no blocking, and `activityState`.
    mutating func set(start: GuestStartState, activityState: UInt64) {
        set(.guestCR0, start.cr0)
        set(.guestCR3, start.cr3)
        set(.guestCR4, start.cr4)
        set(.guestDR7, DebugRegister7.alwaysOne)
        set(
            segment: start.cs, selector: .guestCSSelector, base: .guestCSBase, limit: .guestCSLimit,
            accessRights: .guestCSAccessRights)
        set(
            segment: start.ss, selector: .guestSSSelector, base: .guestSSBase, limit: .guestSSLimit,
            accessRights: .guestSSAccessRights)
        set(
            segment: start.ds, selector: .guestDSSelector, base: .guestDSBase, limit: .guestDSLimit,
            accessRights: .guestDSAccessRights)
        set(
            segment: start.es, selector: .guestESSelector, base: .guestESBase, limit: .guestESLimit,
            accessRights: .guestESAccessRights)
        set(
            segment: start.fs, selector: .guestFSSelector, base: .guestFSBase, limit: .guestFSLimit,
            accessRights: .guestFSAccessRights)
        set(
            segment: start.gs, selector: .guestGSSelector, base: .guestGSBase, limit: .guestGSLimit,
            accessRights: .guestGSAccessRights)
        set(
            segment: start.tr, selector: .guestTRSelector, base: .guestTRBase, limit: .guestTRLimit,
            accessRights: .guestTRAccessRights)
        set(
            segment: start.ldtr, selector: .guestLDTRSelector, base: .guestLDTRBase, limit: .guestLDTRLimit,
            accessRights: .guestLDTRAccessRights)
        set(.guestGDTRBase, start.gdtrBase)
        set(.guestGDTRLimit, UInt64(start.gdtrLimit))
        set(.guestIDTRBase, start.idtrBase)
        set(.guestIDTRLimit, UInt64(start.idtrLimit))
        set(.guestRSP, start.rsp)
        set(.guestRIP, start.rip)
        set(.guestRFLAGS, start.rflags)
        set(.guestPendingDebugExceptions, 0)
        set(.guestInterruptibilityState, 0)
        set(.guestActivityState, activityState)
    }
}

/// INIT or SIPI (StartupExits.swift): the guest state `start`, in `activityState`, with what
/// follows from it - the CR0/CR4 read shadows, "IA-32e mode guest" clear, IA32_EFER where VM
/// entry loads it, no event to inject. Other MSRs, the x87/SSE state and the VMCS's controls
/// stay as they are (SDM Vol. 3A Table 10-1: INIT leaves them unchanged).
public func writeStartState<P: Processor>(
    _ start: GuestStartState, activityState: UInt64, setup: ControlSetup,
    cpu: P
) -> VMCSWriteFailure? {
    var w = VMCSWriter(cpu: cpu)
    w.set(.cr0ReadShadow, start.cr0Shadow)
    w.set(.cr4ReadShadow, start.cr4Shadow)
    let ia32e = start.efer & ExtendedFeatureEnable.lma.rawValue != 0
    w.set(.vmEntryControls, UInt64(setup.entry(ia32eMode: ia32e).rawValue))
    w.set(.vmEntryInterruptionInformation, 0)
    w.set(start: start, activityState: activityState)
    if setup.entryBase.contains(.loadIA32EFER) { w.set(.guestIA32EFER, start.efer) }
    return w.failure
}

/// Everything one guest's VMCS needs besides the set-up and the host state.
public struct GuestVMCSContents: Sendable {
    public var start: GuestStartState
    public var bitmaps: Bitmaps
    public var eptPointer: UInt64?
    public var vpid: UInt16
    public var cr0Mask: UInt64
    public var cr4Mask: UInt64
    public var exceptionBitmap: UInt32
    public var preemptionTimerValue: UInt32
    public var pat: UInt64
}

/// Writes the current VMCS. Returns the first failing VMWRITE, if any.
public func writeVMCS<P: Processor>(
    setup: ControlSetup, host: HostState, guest: GuestVMCSContents,
    cpu: P
) -> VMCSWriteFailure? {
    var w = VMCSWriter(cpu: cpu)
    let start = guest.start

    // MARK: VM-execution, VM-exit and VM-entry controls
    w.set(.pinBasedVMExecutionControls, UInt64(setup.pinBased.rawValue))
    w.set(.primaryProcessorBasedVMExecutionControls, UInt64(setup.primary.rawValue))
    if setup.usesSecondaryControls {
        w.set(.secondaryProcessorBasedVMExecutionControls, UInt64(setup.secondary.rawValue))
    }
    w.set(.exceptionBitmap, UInt64(guest.exceptionBitmap))
    w.set(.pageFaultErrorCodeMask, 0)
    w.set(.pageFaultErrorCodeMatch, 0)
    w.set(.cr3TargetCount, 0)
    w.set(.ioBitmapAAddress, guest.bitmaps.ioBitmapA)
    w.set(.ioBitmapBAddress, guest.bitmaps.ioBitmapB)
    w.set(.msrBitmapsAddress, guest.bitmaps.msrBitmap)
    w.set(.tscOffset, 0)
    w.set(.cr0GuestHostMask, guest.cr0Mask)
    w.set(.cr4GuestHostMask, guest.cr4Mask)
    w.set(.cr0ReadShadow, start.cr0Shadow)
    w.set(.cr4ReadShadow, start.cr4Shadow)
    if let eptp = guest.eptPointer { w.set(.eptPointer, eptp) }
    if setup.usesVPID { w.set(.virtualProcessorIdentifier, UInt64(guest.vpid)) }
    w.set(.primaryVMExitControls, UInt64(setup.exit.rawValue))
    w.set(.vmExitMSRStoreCount, 0)
    w.set(.vmExitMSRLoadCount, 0)
    let ia32e = start.efer & ExtendedFeatureEnable.lma.rawValue != 0
    w.set(.vmEntryControls, UInt64(setup.entry(ia32eMode: ia32e).rawValue))
    w.set(.vmEntryMSRLoadCount, 0)
    w.set(.vmEntryInterruptionInformation, 0)

    // MARK: Host state (SDM 25.5)
    w.set(.hostCR0, host.cr0)
    w.set(.hostCR3, host.cr3)
    w.set(.hostCR4, host.cr4)
    w.set(.hostCSSelector, UInt64(host.csSelector))
    w.set(.hostSSSelector, UInt64(host.ssSelector))
    w.set(.hostDSSelector, UInt64(host.dsSelector))
    w.set(.hostESSelector, UInt64(host.esSelector))
    w.set(.hostFSSelector, UInt64(host.fsSelector))
    w.set(.hostGSSelector, UInt64(host.gsSelector))
    w.set(.hostTRSelector, UInt64(host.trSelector))
    w.set(.hostFSBase, host.fsBase)
    w.set(.hostGSBase, host.gsBase)
    w.set(.hostTRBase, host.trBase)
    w.set(.hostGDTRBase, host.gdtrBase)
    w.set(.hostIDTRBase, host.idtrBase)
    w.set(.hostIA32SysenterCS, UInt64(host.sysenterCS))
    w.set(.hostIA32SysenterESP, host.sysenterESP)
    w.set(.hostIA32SysenterEIP, host.sysenterEIP)
    if setup.exit.contains(.loadIA32EFER) { w.set(.hostIA32EFER, host.efer) }
    if setup.exit.contains(.loadIA32PAT) { w.set(.hostIA32PAT, host.pat) }
    w.set(.hostRIP, host.rip)

    // MARK: Guest state (SDM 25.4)
    w.set(start: start, activityState: GuestActivityState.active)
    w.set(.guestIA32SysenterCS, 0)
    w.set(.guestIA32SysenterESP, 0)
    w.set(.guestIA32SysenterEIP, 0)
    w.set(.guestIA32DebugCtl, 0)
    w.set(.vmcsLinkPointer, UInt64.max)
    if setup.entryBase.contains(.loadIA32EFER) { w.set(.guestIA32EFER, start.efer) }
    if setup.entryBase.contains(.loadIA32PAT) { w.set(.guestIA32PAT, guest.pat) }
    if setup.usesPreemptionTimer { w.set(.vmxPreemptionTimerValue, UInt64(guest.preemptionTimerValue)) }
    return w.failure
}
