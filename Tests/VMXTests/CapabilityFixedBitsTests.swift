// VMX-fixed bits of CR0 and CR4 (SDM A.7, A.8) and the CR0/CR4 bit names (SDM Vol. 3A 2.5).
import Testing
@testable import VMX

@Suite("VMX-fixed bits in CR0 and CR4")
struct CapabilityFixedBitsTests {
    // CR0: PE, NE, PG must be 1 (Bochs's FIXED0); FIXED1 allows bits 31:0.
    let cr0 = FixedBits(fixed0: 0x8000_0021, fixed1: 0xFFFF_FFFF)
    // CR4: VMXE must be 1; may be 1: 10:0, 13, 14, 16-18, 20, 21.
    let cr4 = FixedBits(fixed0: 0x2000, fixed1: 0x0037_67FF)

    @Test("Must-be-1, must-be-0 and free bits")
    func classes() {
        #expect(cr0.mustBeOne == 0x8000_0021)
        #expect(cr0.mustBeZero == 0xFFFF_FFFF_0000_0000)
        #expect(cr0.free == 0x7FFF_FFDE)
        #expect(cr4.mustBeOne == 0x2000)
        #expect(cr4.mustBeZero == 0xFFFF_FFFF_FFC8_9800)
        #expect(cr4.free == 0x0037_47FF)
        #expect(ControlRegister0(mask: cr0.mustBeOne) == [.pe, .ne, .pg])
        #expect(ControlRegister4(mask: cr4.mustBeOne) == .vmxe)
    }

    @Test("apply(to:) sets the must-be-1 bits and clears the must-be-0 bits")
    func apply() {
        // A long-mode kernel's CR0 (PE MP ET NE WP AM PG) already fits.
        #expect(cr0.apply(to: 0x8005_0033) == 0x8005_0033)
        #expect(cr0.apply(to: 0) == 0x8000_0021)
        #expect(cr0.apply(to: 0xFFFF_FFFF_FFFF_FFFF) == 0xFFFF_FFFF)
        // CR4 with PAE PGE OSFXSR OSXMMEXCPT gets VMXE; LA57 (12) and SMAP...: 12 must be 0.
        #expect(cr4.apply(to: 0x06A0) == 0x26A0)
        #expect(cr4.apply(to: 0x1000 | 0x0040_0000) == 0x2000)
        for value: UInt64 in [0, 0x26A0, 0x8005_0033, 0xFFFF_FFFF_FFFF_FFFF] {
            #expect(cr4.permits(cr4.apply(to: value)))
            #expect(cr0.permits(cr0.apply(to: value)))
        }
    }

    @Test("violations(of:) reports each bad bit, and the first as one line")
    func violations() {
        #expect(cr0.violations(of: 0x8005_0033).isEmpty)
        let cr0Bad = cr0.violations(of: 0x0000_0011)  // PE set, NE and PG clear
        #expect(cr0Bad.clearButMustBeOne == 0x8000_0020)
        #expect(cr0Bad.setButMustBeZero == 0)
        #expect(
            cr0Bad.firstMessage(register: "CR0", names: ControlRegister0.self)
                == "CR0.NE must be 1 (IA32_VMX_CR0_FIXED0)")

        let cr4Bad = cr4.violations(of: 0x0040_16A0)  // LA57 and PKE set, VMXE clear
        #expect(cr4Bad.clearButMustBeOne == 0x2000)
        #expect(cr4Bad.setButMustBeZero == 0x0040_1000)
        #expect(
            cr4Bad.firstMessage(register: "CR4", names: ControlRegister4.self)
                == "CR4.LA57 must be 0 (IA32_VMX_CR4_FIXED1)")
        let onlyVMXE = cr4.violations(of: 0x06A0)
        #expect(
            onlyVMXE.firstMessage(register: "CR4", names: ControlRegister4.self)
                == "CR4.VMXE must be 1 (IA32_VMX_CR4_FIXED0)")
        // An unnamed bit is named by its number.
        #expect(
            cr4.violations(of: 0x2000 | UInt64(1) << 40).firstMessage(register: "CR4", names: ControlRegister4.self)
                == "CR4.bit 40 must be 0 (IA32_VMX_CR4_FIXED1)")
        #expect(cr4.violations(of: 0x2000).firstMessage(register: "CR4", names: ControlRegister4.self) == nil)
    }

    @Test("CR0 and CR4 bit names and positions")
    func names() {
        #expect(
            ControlRegister0.namedBits.map(\.name) == ["PE", "MP", "EM", "TS", "ET", "NE", "WP", "AM", "NW", "CD", "PG"]
        )
        #expect(ControlRegister0.namedMask == 0xE005_003F)
        #expect(ControlRegister0.pg.rawValue == 0x8000_0000)
        #expect(ControlRegister0.name(ofBit: 16) == "WP")
        #expect(ControlRegister4.name(ofBit: 13) == "VMXE")
        #expect(ControlRegister4.name(ofBit: 14) == "SMXE")
        #expect(ControlRegister4.name(ofBit: 15) == "bit 15")
        #expect(ControlRegister4.vmxe.rawValue == 0x2000)
        #expect(ControlRegister4.uintr.rawValue == 1 << 25)
        #expect(ControlRegister4.namedMask == 0x03FF_7FFF)
        #expect(ControlRegister4([.pae, .pge, .vmxe]).names == ["PAE", "PGE", "VMXE"])
    }
}
