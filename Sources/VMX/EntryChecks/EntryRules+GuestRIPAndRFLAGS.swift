// SDM 27.3.1.4 "Checks on Guest RIP, RFLAGS, and SSP". Failure: VM exit with reason 33,
// exit qualification 0.

extension EntryRules {
    static let guestRIPAndRFLAGS: [EntryRule] = [
        EntryRule(
            "guest.rip.upper-bits", "27.3.1.4", .guestState,
            "Bits 63:32 of the guest RIP are 0 if \"IA-32e mode guest\" is 0 or CS.L is 0"
        ) { c, v in
            if (!c.ia32eModeGuest || !c.cs.isLong) && c.guestRIP >> 32 != 0 {
                v.record(field: .guestRIP, value: c.guestRIP, expected: "bits 63:32 clear (not 64-bit mode)")
            }
        },
        EntryRule(
            "guest.rip.canonical", "27.3.1.4", .guestState,
            "If \"IA-32e mode guest\" is 1 and CS.L is 1, the guest RIP is canonical for the linear-address width"
        ) { c, v in
            if c.ia32eModeGuest && c.cs.isLong && !c.isCanonical(c.guestRIP) {
                v.record(field: .guestRIP, value: c.guestRIP, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.rflags.reserved", "27.3.1.4", .guestState,
            "Guest RFLAGS bits 63:22, 15, 5 and 3 are 0 and bit 1 is 1"
        ) { c, v in
            let flags = c.guestRFLAGS
            if flags & RFLAGS.reservedZero.rawValue != 0 {
                v.record(field: .guestRFLAGS, value: flags, expected: "bits 63:22, 15, 5 and 3 clear")
            } else if flags & RFLAGS.alwaysOne.rawValue == 0 {
                v.record(field: .guestRFLAGS, value: flags, expected: "bit 1 set")
            }
        },
        EntryRule(
            "guest.rflags.vm", "27.3.1.4", .guestState,
            "Guest RFLAGS.VM (bit 17) is 0 if \"IA-32e mode guest\" is 1 or guest CR0.PE is 0"
        ) { c, v in
            if c.virtual8086Guest && (c.ia32eModeGuest || !c.guestCR0PE) {
                v.record(
                    field: .guestRFLAGS, value: c.guestRFLAGS,
                    expected: c.ia32eModeGuest
                        ? "VM (bit 17) clear (IA-32e mode guest is 1)"
                        : "VM (bit 17) clear (CR0.PE is 0)")
            }
        },
        EntryRule(
            "guest.rflags.if-for-external-interrupt", "27.3.1.4", .guestState,
            "Guest RFLAGS.IF (bit 9) is 1 if VM entry injects an external interrupt"
        ) { c, v in
            if let event = c.injection, event.type == .externalInterrupt, c.guestRFLAGS & RFLAGS.if.rawValue == 0 {
                v.record(
                    field: .guestRFLAGS, value: c.guestRFLAGS,
                    expected: "IF (bit 9) set (injecting an external interrupt)")
            }
        },
        EntryRule(
            "guest.cet.ssp.address", "27.3.1.4", .guestState,
            "If \"load CET state\" is 1, the guest SSP has bits 63:32 clear outside 64-bit mode and is canonical in it"
        ) { c, v in
            guard c.entryControls.contains(.loadCETState) else { return }
            if c.ia32eModeGuest && c.cs.isLong {
                if !c.isCanonical(c.guestSSP) {
                    v.record(field: .guestSSP, value: c.guestSSP, expected: c.canonicalExpectation)
                }
            } else if c.guestSSP >> 32 != 0 {
                v.record(field: .guestSSP, value: c.guestSSP, expected: "bits 63:32 clear (not 64-bit mode)")
            }
        }
    ]
}
