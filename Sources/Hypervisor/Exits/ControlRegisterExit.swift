// Control-register accesses, exit reason 28 (SDM 26.1.3; qualification Table 28-3).
//
// CR0 and CR4: MOV to CRn exits when it would change a bit the guest/host mask gives the host
// (SDM 25.6.6); MOV from CR0/CR4 never exits and reads the read shadow. The handler checks
// the value as the processor would (#GP for reserved bits, PG without PE, NW without CD, for
// setting a bit of a feature the guest's CPUID hides), keeps IA32_EFER.LMA and the "IA-32e
// mode guest" entry control in step with CR0.PG, writes the guest's CR with the VMX-fixed
// bits applied and caches left on, and the read shadow with what the guest wrote. CLTS and
// LMSW change CR0 the same way.
//
// CR3 exits when the controls "CR3-load exiting"/"CR3-store exiting" are 1 (a CPU without the
// TRUE MSRs forces them): the guest's CR3 field is read or written. CR8 (the TPR) always
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

    /// MOV to CR0 (and CLTS, LMSW) with `value`.
    func writeCR0(_ value: UInt64, _ exit: ExitContext) -> ExitAction {
        let pe = ControlRegister0.pe.rawValue, pg = ControlRegister0.pg.rawValue
        let cd = ControlRegister0.cd.rawValue, nw = ControlRegister0.nw.rawValue
        if value >> 32 != 0 { return generalProtection("guest \(name): MOV to CR0 \(hex: value) sets reserved bits 63:32: #GP(0) injected") }
        if value & pg != 0 && value & pe == 0 { return generalProtection("guest \(name): MOV to CR0 \(hex: value) sets PG without PE: #GP(0) injected") }
        if value & nw != 0 && value & cd == 0 { return generalProtection("guest \(name): MOV to CR0 \(hex: value) sets NW without CD: #GP(0) injected") }
        if !setup.usesUnrestrictedGuest && value & (pe | pg) != pe | pg {
            return generalProtection("guest \(name): MOV to CR0 \(hex: value) leaves protected mode or paging, which needs unrestricted guest: #GP(0) injected")
        }
        let old = read(.guestCR0)
        var efer = guestEFER
        let lme: UInt64 = 1 << 8, lma: UInt64 = 1 << 10
        if value & pg != 0 && old & pg == 0 && efer & lme != 0 {
            // Activating IA-32e mode (SDM Vol. 3A 10.8.5): needs CR4.PAE.
            if read(.guestCR4) & ControlRegister4.pae.rawValue == 0 || !setup.allowsIA32eModeGuest {
                return generalProtection("guest \(name): MOV to CR0 enables paging with EFER.LME but without CR4.PAE: #GP(0) injected")
            }
            efer |= lma
            guestEFER = efer
            write(.vmEntryControls, UInt64(setup.entry(ia32eMode: true).rawValue))
        } else if value & pg == 0 && old & pg != 0 && efer & lma != 0 {
            if read(.guestCSAccessRights) & (1 << 13) != 0 {
                return generalProtection("guest \(name): MOV to CR0 clears PG in 64-bit mode: #GP(0) injected")
            }
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
        if value & GuestEnvironment.hiddenCR4 != 0 {
            return generalProtection("guest \(name): MOV to CR4 \(hex: value) sets a bit of a feature the guest does not have (VMXE, SMXE, OSXSAVE or PKE): #GP(0) injected")
        }
        if value & ~cr4Fixed.fixed1 != 0 {
            return generalProtection("guest \(name): MOV to CR4 \(hex: value) sets reserved bits: #GP(0) injected")
        }
        if value & ControlRegister4.pae.rawValue == 0 && guestEFER & (1 << 10) != 0 {
            return generalProtection("guest \(name): MOV to CR4 clears PAE in IA-32e mode: #GP(0) injected")
        }
        write(.guestCR4, cr4Fixed.apply(to: value))
        write(.cr4ReadShadow, value)
        skipInstruction(exit)
        return .resume
    }
}

public func handleControlRegisterAccess<P: GuestProcessor>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let q = ControlRegisterAccessQualification(rawValue: exit.qualification)
    // The operand size of MOV to CR: read only for the cases that move a register.
    var width: UInt64 { vcpu.isIn64BitMode ? .max : 0xFFFF_FFFF }
    switch (q.accessType, q.controlRegister) {
    case (.movToCR, 0):
        return vcpu.writeCR0(vcpu.generalPurposeRegister(q.generalPurposeRegister) & width, exit)
    case (.movToCR, 4):
        return vcpu.writeCR4(vcpu.generalPurposeRegister(q.generalPurposeRegister) & width, exit)
    case (.movToCR, 3):
        vcpu.write(.guestCR3, vcpu.generalPurposeRegister(q.generalPurposeRegister) & width)
        // MOV to CR3 invalidates the guest's TLB entries (SDM Vol. 3A 4.10.4.1).
        if vcpu.setup.usesVPID, let type = vcpu.setup.invvpidType { try? vcpu.cpu.invvpid(type: type, vpid: vcpu.vpid, address: 0) }
    case (.movFromCR, 3):
        vcpu.setGeneralPurposeRegister(q.generalPurposeRegister, vcpu.read(.guestCR3))
    case (.movToCR, 8):
        let value = vcpu.generalPurposeRegister(q.generalPurposeRegister)
        if value >> 4 != 0 {
            return vcpu.generalProtection("guest \(vcpu.name): MOV to CR8 \(hex: value) sets reserved bits: #GP(0) injected")
        }
        vcpu.taskPriority = value
    case (.movFromCR, 8):
        vcpu.setGeneralPurposeRegister(q.generalPurposeRegister, vcpu.taskPriority)
    case (.clts, _):
        return vcpu.writeCR0(vcpu.read(.cr0ReadShadow) & ~ControlRegister0.ts.rawValue, exit)
    case (.lmsw, _):
        // LMSW loads CR0 bits 3:0 but cannot clear PE (SDM Vol. 2A LMSW).
        let shadow = vcpu.read(.cr0ReadShadow)
        let source = UInt64(q.lmswSourceData) & 0xF
        return vcpu.writeCR0((shadow & ~0xF) | source | (shadow & 1), exit)
    default:
        return handleUnexpectedExit(vcpu, &exit)
    }
    vcpu.skipInstruction(exit)
    return .resume
}
