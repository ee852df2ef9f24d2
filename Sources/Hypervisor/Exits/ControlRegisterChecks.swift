// The #GP(0) conditions of MOV to CR0 and MOV to CR4 (SDM Vol. 2B "MOV - Move to/from Control
// Registers", Protected Mode and 64-Bit Mode Exceptions; Vol. 3A 2.5 "Control Registers",
// 4.10.1 "Process-Context Identifiers", 10.8.5 "Initializing IA-32e Mode"), one named check
// each, in the style of the VM-entry rules (Sources/VMX/EntryChecks). The handler that
// emulates a write (ControlRegisterExit.swift) runs them on the guest's view of its control
// registers before it changes anything: a write that fails one gets #GP(0) and a line naming
// the check, never a VM entry that fails on the state it would leave.
//
// PDPTE loading (PAE paging, Vol. 3A 4.4.1) has a named check of its own: pdpte.reserved
// (PAEPaging.swift).
import VMX

/// What a MOV to CR0 or CR4 would change, as the guest sees its registers (the VMCS's guest
/// fields, with the bits the host owns taken from the read shadows).
public struct ControlRegisterWrite: Sendable {
    /// CR0 and CR4 before and after the instruction (one of them unchanged).
    public var oldCR0: UInt64, newCR0: UInt64
    public var oldCR4: UInt64, newCR4: UInt64
    public var cr3: UInt64
    public var efer: UInt64
    /// CS.L with IA32_EFER.LMA: 64-bit mode.
    public var in64BitMode: Bool
    /// Bits the guest may never set in CR4: those of a feature the guest's CPUID hides (VMXE,
    /// SMXE, OSXSAVE, PKE: reserved for the guest), and those reserved on this processor (not
    /// in IA32_VMX_CR4_FIXED1).
    public var cr4Hidden: UInt64
    public var cr4Reserved: UInt64

    public init(
        oldCR0: UInt64, newCR0: UInt64, oldCR4: UInt64, newCR4: UInt64, cr3: UInt64, efer: UInt64,
        in64BitMode: Bool, cr4Hidden: UInt64, cr4Reserved: UInt64
    ) {
        self.oldCR0 = oldCR0; self.newCR0 = newCR0; self.oldCR4 = oldCR4; self.newCR4 = newCR4
        self.cr3 = cr3; self.efer = efer; self.in64BitMode = in64BitMode
        self.cr4Hidden = cr4Hidden; self.cr4Reserved = cr4Reserved
    }

    static let pe = ControlRegister0.pe.rawValue, wp = ControlRegister0.wp.rawValue
    static let nw = ControlRegister0.nw.rawValue, cd = ControlRegister0.cd.rawValue
    static let pg = ControlRegister0.pg.rawValue
    static let pae = ControlRegister4.pae.rawValue, la57 = ControlRegister4.la57.rawValue
    static let pcide = ControlRegister4.pcide.rawValue, cet = ControlRegister4.cet.rawValue
    static let lme: UInt64 = ExtendedFeatureEnable.lme.rawValue, lma: UInt64 = ExtendedFeatureEnable.lma.rawValue

    var clearsPG: Bool { oldCR0 & Self.pg != 0 && newCR0 & Self.pg == 0 }
    var setsPG: Bool { oldCR0 & Self.pg == 0 && newCR0 & Self.pg != 0 }
    var setsPCIDE: Bool { oldCR4 & Self.pcide == 0 && newCR4 & Self.pcide != 0 }
}

/// One #GP(0) condition of MOV to CR0/CR4: its name (as the log prints it), where the SDM
/// states it, and when it holds.
public struct ControlRegisterCheck: Sendable {
    public let name: StaticString
    public let sdm: StaticString
    public let violated: @Sendable (ControlRegisterWrite) -> Bool

    init(_ name: StaticString, _ sdm: StaticString, _ violated: @escaping @Sendable (ControlRegisterWrite) -> Bool) {
        self.name = name
        self.sdm = sdm
        self.violated = violated
    }
}

public enum ControlRegisterChecks {
    typealias W = ControlRegisterWrite

    /// MOV to CR0 (and CLTS, LMSW, which write CR0 the same way).
    public static let cr0: [ControlRegisterCheck] = [
        ControlRegisterCheck("cr0.reserved-63-32", "Vol. 2B MOV CR; 3A 2.5") { $0.newCR0 >> 32 != 0 },
        ControlRegisterCheck("cr0.pg-without-pe", "Vol. 2B MOV CR; 3A 2.5") {
            $0.newCR0 & W.pg != 0 && $0.newCR0 & W.pe == 0
        },
        ControlRegisterCheck("cr0.nw-without-cd", "Vol. 2B MOV CR; 3A 2.5") {
            $0.newCR0 & W.nw != 0 && $0.newCR0 & W.cd == 0
        },
        ControlRegisterCheck("cr0.pg-clear-in-64-bit-mode", "Vol. 2B MOV CR; 3A 10.8.5.4") {
            $0.clearsPG && $0.in64BitMode
        },
        ControlRegisterCheck("cr0.pg-clear-with-pcide", "Vol. 2B MOV CR; 3A 4.10.1") {
            $0.clearsPG && $0.oldCR4 & W.pcide != 0
        },
        ControlRegisterCheck("cr0.ia32e-without-pae", "Vol. 3A 10.8.5") {
            $0.setsPG && $0.efer & W.lme != 0 && $0.oldCR4 & W.pae == 0
        },
        ControlRegisterCheck("cr0.wp-clear-with-cet", "Vol. 3A 2.5") { $0.newCR0 & W.wp == 0 && $0.oldCR4 & W.cet != 0 }
    ]

    /// MOV to CR4.
    public static let cr4: [ControlRegisterCheck] = [
        ControlRegisterCheck("cr4.hidden-feature", "Vol. 2B MOV CR; 3A 2.5") { $0.newCR4 & $0.cr4Hidden != 0 },
        ControlRegisterCheck("cr4.reserved", "Vol. 2B MOV CR; 3A 2.5") { $0.newCR4 & $0.cr4Reserved != 0 },
        ControlRegisterCheck("cr4.pae-clear-in-ia32e-mode", "Vol. 2B MOV CR; 3A 10.8.5") {
            $0.newCR4 & W.pae == 0 && $0.efer & W.lma != 0
        },
        ControlRegisterCheck("cr4.la57-change-in-ia32e-mode", "Vol. 3A 2.5") {
            ($0.newCR4 ^ $0.oldCR4) & W.la57 != 0 && $0.efer & W.lma != 0
        },
        ControlRegisterCheck("cr4.pcide-outside-ia32e-mode", "Vol. 2B MOV CR; 3A 4.10.1") {
            $0.setsPCIDE && $0.efer & W.lma == 0
        },
        ControlRegisterCheck("cr4.pcide-with-cr3-pcid", "Vol. 2B MOV CR; 3A 4.10.1") {
            $0.setsPCIDE && $0.cr3 & 0xFFF != 0
        },
        ControlRegisterCheck("cr4.cet-without-wp", "Vol. 3A 2.5") { $0.newCR4 & W.cet != 0 && $0.oldCR0 & W.wp == 0 }
    ]

    /// The first check of `checks` that `write` fails, or nil.
    public static func firstViolated(_ checks: [ControlRegisterCheck], by write: ControlRegisterWrite)
        -> ControlRegisterCheck?
    {
        for check in checks where check.violated(write) { return check }
        return nil
    }
}
