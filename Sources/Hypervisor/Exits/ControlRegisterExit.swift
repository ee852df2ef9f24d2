// Control-register accesses, exit reason 28 (SDM 26.1.3; qualification Table 28-3).
//
// CR0 and CR4: MOV to CRn exits when it would change a bit the guest/host mask gives the host
// (SDM 25.6.6); MOV from CR0/CR4 never exits and reads the read shadow. The handler checks
// the value as the processor would, every #GP(0) condition a named check
// (ControlRegisterChecks.swift), loads the PDPTEs where PAE paging needs them (PAEPaging.swift),
// keeps IA32_EFER.LMA and the "IA-32e mode guest" entry control in step with CR0.PG, writes
// the guest's CR with the VMX-fixed bits applied and caches left on, and the read shadow with
// what the guest wrote. CLTS and LMSW change CR0 the same way, starting from the guest's view
// of CR0 (the read shadow only for the bits the host owns: the guest may have changed the
// others without an exit).
//
// CR3 exits when the controls "CR3-load exiting"/"CR3-store exiting" are 1 (a CPU without the
// TRUE MSRs forces them): the guest's CR3 field is read or written (in PAE paging with the
// PDPTEs loaded). CR8 (the TPR) always
// exits ("CR8-load/-store exiting" are required: the guest must not mask the host's
// interrupts); the value is kept in the virtual CPU.
import VMX

extension VirtualCPU {
    /// General-purpose register `number` (4 is RSP, in the VMCS).
    func generalPurposeRegister(_ number: Int) -> UInt64 {
        number == 4 ? read(.guestRSP) : registers[number]
    }

    func setGeneralPurposeRegister(_ number: Int, _ value: UInt64) {
        if number == 4 { write(.guestRSP, value) } else { registers[number] = value }
    }

    /// The guest's IA32_EFER: the VMCS field where VM entry loads it, else the shadow.
    public var guestEFER: UInt64 {
        get { setup.entryBase.contains(.loadIA32EFER) ? read(.guestIA32EFER) : shadowEFER }
        set {
            if setup.entryBase.contains(.loadIA32EFER) { write(.guestIA32EFER, newValue) }
            shadowEFER = newValue
        }
    }

    /// CR0 and CR4 as the guest sees them: the guest fields, with the bits the host owns from
    /// the read shadows (SDM 25.6.6).
    var guestViewOfCR0: UInt64 { (read(.guestCR0) & ~cr0Mask) | (read(.cr0ReadShadow) & cr0Mask) }
    var guestViewOfCR4: UInt64 { (read(.guestCR4) & ~cr4Mask) | (read(.cr4ReadShadow) & cr4Mask) }

    /// The write of `cr0`/`cr4` (one of them the current value) as the checks see it.
    func controlRegisterWrite(oldCR0: UInt64, newCR0: UInt64, oldCR4: UInt64, newCR4: UInt64) -> ControlRegisterWrite {
        ControlRegisterWrite(
            oldCR0: oldCR0, newCR0: newCR0, oldCR4: oldCR4, newCR4: newCR4, cr3: read(.guestCR3),
            efer: guestEFER, in64BitMode: isIn64BitMode,
            cr4Hidden: GuestEnvironment.hiddenCR4, cr4Reserved: ~cr4Fixed.fixed1)
    }

    /// #GP(0) for a MOV to CRn that fails `check`, with a line naming it.
    func controlRegisterFault(_ register: StaticString, _ value: UInt64, _ check: ControlRegisterCheck) -> ExitAction {
        generalProtection(
            "guest \(name): MOV to \(register) \(hex: value): #GP(0) injected (\(check.name), SDM \(check.sdm))")
    }

    /// MOV to CR0 (and CLTS, LMSW) with `value`.
    func writeCR0(_ value: UInt64, _ exit: ExitContext) -> ExitAction {
        let pe = ControlRegister0.pe.rawValue, pg = ControlRegister0.pg.rawValue
        let cd = ControlRegister0.cd.rawValue, nw = ControlRegister0.nw.rawValue
        let oldView = guestViewOfCR0, cr4 = guestViewOfCR4
        let change = controlRegisterWrite(oldCR0: oldView, newCR0: value, oldCR4: cr4, newCR4: cr4)
        if let check = ControlRegisterChecks.firstViolated(ControlRegisterChecks.cr0, by: change) {
            return controlRegisterFault("CR0", value, check)
        }
        if !setup.usesUnrestrictedGuest && value & (pe | pg) != pe | pg {
            return generalProtection(
                """
                guest \(name): MOV to CR0 \(hex: value) leaves protected mode or paging, which needs unrestricted \
                guest: #GP(0) injected
                """
            )
        }
        var efer = guestEFER
        let lme: UInt64 = ExtendedFeatureEnable.lme.rawValue, lma: UInt64 = ExtendedFeatureEnable.lma.rawValue
        // PAE paging after the write, changing CD, NW or PG: the PDPTEs load (SDM Vol. 3A 4.4.1).
        if Self.usesPAEPaging(cr0: value, cr4: cr4, efer: efer) && (value ^ oldView) & (cd | nw | pg) != 0,
            let action = loadPDPTEs(cr3: read(.guestCR3), for: "MOV to CR0")
        {
            return action
        }
        if change.setsPG && efer & lme != 0 {
            // Activating IA-32e mode (SDM Vol. 3A 10.8.5; CR4.PAE checked above).
            guard setup.allowsIA32eModeGuest else {
                return generalProtection(
                    "guest \(name): MOV to CR0 enables IA-32e mode, which this processor cannot enter: #GP(0) injected")
            }
            efer |= lma
            guestEFER = efer
            write(.vmEntryControls, UInt64(setup.entry(ia32eMode: true).rawValue))
        } else if change.clearsPG && efer & lma != 0 {
            efer &= ~lma
            guestEFER = efer
            write(.vmEntryControls, UInt64(setup.entry(ia32eMode: false).rawValue))
        }
        write(.guestCR0, cr0Fixed.apply(to: value & ~(cd | nw)))
        write(.cr0ReadShadow, value)
        skipInstruction(exit)
        return .resume
    }

    /// MOV to CR4 with `value`.
    func writeCR4(_ value: UInt64, _ exit: ExitContext) -> ExitAction {
        let oldView = guestViewOfCR4, cr0 = guestViewOfCR0
        let change = controlRegisterWrite(oldCR0: cr0, newCR0: cr0, oldCR4: oldView, newCR4: value)
        if let check = ControlRegisterChecks.firstViolated(ControlRegisterChecks.cr4, by: change) {
            return controlRegisterFault("CR4", value, check)
        }
        // PAE paging after the write, changing PAE, PGE, PSE or SMEP: the PDPTEs load (4.4.1).
        let reloads = ControlRegister4([.pae, .pge, .pse, .smep]).rawValue
        if Self.usesPAEPaging(cr0: cr0, cr4: value, efer: guestEFER) && (value ^ oldView) & reloads != 0,
            let action = loadPDPTEs(cr3: read(.guestCR3), for: "MOV to CR4")
        {
            return action
        }
        write(.guestCR4, cr4Fixed.apply(to: value))
        write(.cr4ReadShadow, value)
        skipInstruction(exit)
        return .resume
    }

    /// MOV to CR3 (exits with "CR3-load exiting"): in PAE paging it loads the PDPTEs (4.4.1).
    func writeCR3(_ value: UInt64, _ exit: ExitContext) -> ExitAction {
        if Self.usesPAEPaging(cr0: read(.guestCR0), cr4: read(.guestCR4), efer: guestEFER),
            let action = loadPDPTEs(cr3: value, for: "MOV to CR3")
        {
            return action
        }
        write(.guestCR3, value)
        // MOV to CR3 invalidates the guest's TLB entries (SDM Vol. 3A 4.10.4.1).
        if setup.usesVPID, let type = setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }
        skipInstruction(exit)
        return .resume
    }
}

public func handleControlRegisterAccess<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let q = ControlRegisterAccessQualification(rawValue: exit.qualification)
    // The operand size of MOV to CR: read only for the cases that move a register.
    var width: UInt64 { vcpu.isIn64BitMode ? .max : 0xFFFF_FFFF }
    switch (q.accessType, q.controlRegister) {
    case (.movToCR, 0):
        return vcpu.writeCR0(vcpu.generalPurposeRegister(q.generalPurposeRegister) & width, exit)
    case (.movToCR, 4):
        return vcpu.writeCR4(vcpu.generalPurposeRegister(q.generalPurposeRegister) & width, exit)
    case (.movToCR, 3):
        return vcpu.writeCR3(vcpu.generalPurposeRegister(q.generalPurposeRegister) & width, exit)
    case (.movFromCR, 3):
        vcpu.setGeneralPurposeRegister(q.generalPurposeRegister, vcpu.read(.guestCR3))
    case (.movToCR, 8):
        let value = vcpu.generalPurposeRegister(q.generalPurposeRegister)
        if value >> 4 != 0 {
            return vcpu.generalProtection(
                "guest \(vcpu.name): MOV to CR8 \(hex: value) sets reserved bits: #GP(0) injected")
        }
        vcpu.taskPriority = value
    case (.movFromCR, 8):
        vcpu.setGeneralPurposeRegister(q.generalPurposeRegister, vcpu.taskPriority)
    case (.clts, _):
        return vcpu.writeCR0(vcpu.guestViewOfCR0 & ~ControlRegister0.ts.rawValue, exit)
    case (.lmsw, _):
        // LMSW loads CR0 bits 3:0 but cannot clear PE (SDM Vol. 2A LMSW).
        let shadow = vcpu.guestViewOfCR0
        let source = UInt64(q.lmswSourceData) & 0xF
        return vcpu.writeCR0((shadow & ~0xF) | source | (shadow & 1), exit)
    default:
        return handleUnexpectedExit(vcpu, &exit)
    }
    vcpu.skipInstruction(exit)
    return .resume
}
