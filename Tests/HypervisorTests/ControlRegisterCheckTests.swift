// The #GP(0) conditions of MOV to CR0/CR4 (ControlRegisterChecks), each alone: the write that
// meets it fails that named check and no earlier one, and the same write without it passes.
import Testing
import VMX
@testable import Hypervisor

@Suite struct ControlRegisterCheckTests {
    // A 64-bit guest as the hypervisor starts it: CR0 = PE MP ET NE WP PG, CR4 = PAE OSFXSR
    // OSXMMEXCPT, EFER = LME LMA, CR3 page-aligned.
    static let cr0: UInt64 = 0x8001_0033, cr4: UInt64 = 0x620, efer: UInt64 = 0x500
    static let pg: UInt64 = 1 << 31, pcide: UInt64 = 1 << 17

    static func write(
        cr0 newCR0: UInt64 = cr0, cr4 newCR4: UInt64 = cr4, oldCR4: UInt64 = cr4, cr3: UInt64 = 0x1000,
        efer: UInt64 = efer, in64BitMode: Bool = true
    ) -> ControlRegisterWrite {
        ControlRegisterWrite(
            oldCR0: cr0, newCR0: newCR0, oldCR4: oldCR4, newCR4: newCR4, cr3: cr3, efer: efer,
            in64BitMode: in64BitMode, cr4Hidden: 1 << 13, cr4Reserved: 0xFFFF_FFFF_FF80_0000)
    }

    static func cr0Check(_ w: ControlRegisterWrite) -> String? {
        ControlRegisterChecks.firstViolated(ControlRegisterChecks.cr0, by: w).map { "\($0.name)" }
    }
    static func cr4Check(_ w: ControlRegisterWrite) -> String? {
        ControlRegisterChecks.firstViolated(ControlRegisterChecks.cr4, by: w).map { "\($0.name)" }
    }

    @Test func cr0Conditions() {
        #expect(Self.cr0Check(Self.write()) == nil)
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 | 1 << 32)) == "cr0.reserved-63-32")
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 & ~1, in64BitMode: false)) == "cr0.pg-without-pe")
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 | 1 << 29)) == "cr0.nw-without-cd")
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 | 3 << 29)) == nil)
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 & ~Self.pg)) == "cr0.pg-clear-in-64-bit-mode")
        // Compatibility mode may leave IA-32e mode, unless CR4.PCIDE = 1 (SDM Vol. 3A 4.10.1).
        #expect(Self.cr0Check(Self.write(cr0: Self.cr0 & ~Self.pg, in64BitMode: false)) == nil)
        #expect(
            Self.cr0Check(Self.write(cr0: Self.cr0 & ~Self.pg, oldCR4: Self.cr4 | Self.pcide, in64BitMode: false))
                == "cr0.pg-clear-with-pcide")
        #expect(
            Self.cr0Check(Self.write(cr0: Self.cr0 & ~(1 << 16), oldCR4: Self.cr4 | 1 << 23)) == "cr0.wp-clear-with-cet"
        )
    }

    @Test func enteringIA32eModeNeedsPAE() {
        let off = ControlRegisterWrite(
            oldCR0: 0x11, newCR0: 0x8000_0011, oldCR4: 0, newCR4: 0, cr3: 0, efer: 0x100,
            in64BitMode: false, cr4Hidden: 0, cr4Reserved: 0)
        #expect(Self.cr0Check(off) == "cr0.ia32e-without-pae")
        var pae = off
        pae.oldCR4 = 0x20
        pae.newCR4 = 0x20
        #expect(Self.cr0Check(pae) == nil)
    }

    @Test func cr4Conditions() {
        #expect(Self.cr4Check(Self.write()) == nil)
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | 1 << 13)) == "cr4.hidden-feature")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | 1 << 40)) == "cr4.reserved")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 & ~0x20)) == "cr4.pae-clear-in-ia32e-mode")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | 1 << 12)) == "cr4.la57-change-in-ia32e-mode")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | Self.pcide, efer: 0)) == "cr4.pcide-outside-ia32e-mode")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | Self.pcide, cr3: 0x1001)) == "cr4.pcide-with-cr3-pcid")
        #expect(Self.cr4Check(Self.write(cr4: Self.cr4 | Self.pcide)) == nil)
        // Already set: CR3[11:0] is the PCID then, not a reason to fault.
        #expect(
            Self.cr4Check(Self.write(cr4: Self.cr4 | Self.pcide, oldCR4: Self.cr4 | Self.pcide, cr3: 0x1001)) == nil)
    }
}
