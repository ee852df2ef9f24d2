// SDM 27.3.1.2 "Checks on Guest Segment Registers" and 27.3.1.3 "Checks on Guest
// Descriptor-Table Registers". Terms (27.3.1.2): the guest will be virtual-8086 if RFLAGS.VM
// is 1 in the guest-state area; it will be IA-32e mode if "IA-32e mode guest" is 1; a
// register is usable if bit 16 of its access-rights field is 0.
// Failure: VM exit with reason 33, exit qualification 0.

extension EntryRules {
    static let guestSegmentRegisters: [EntryRule] = [
        // Selector fields.
        EntryRule("guest.tr.selector-ti", "27.3.1.2", .guestState, "The TI flag (bit 2) of the guest TR selector is 0")
        { c, v in
            if c.tr.tableIndicator {
                v.record(field: .guestTRSelector, value: UInt64(c.tr.selector), expected: "bit 2 (TI) clear")
            }
        },
        EntryRule(
            "guest.ldtr.selector-ti", "27.3.1.2", .guestState,
            "If LDTR is usable, the TI flag (bit 2) of the guest LDTR selector is 0"
        ) { c, v in
            if c.ldtr.isUsable && c.ldtr.tableIndicator {
                v.record(field: .guestLDTRSelector, value: UInt64(c.ldtr.selector), expected: "bit 2 (TI) clear")
            }
        },
        EntryRule(
            "guest.ss.rpl-equals-cs-rpl", "27.3.1.2", .guestState,
            "If the guest is not virtual-8086 and \"unrestricted guest\" is 0, SS.RPL equals CS.RPL"
        ) { c, v in
            if !c.virtual8086Guest && !c.unrestrictedGuest && c.ss.rpl != c.cs.rpl {
                v.record(
                    field: .guestSSSelector, value: UInt64(c.ss.selector),
                    expected: String(text: "RPL (bits 1:0) = CS.RPL = \(c.cs.rpl)"))
            }
        },
        // Base-address fields.
        EntryRule(
            "guest.v8086.base", "27.3.1.2", .guestState,
            "If the guest is virtual-8086, the CS, SS, DS, ES, FS and GS bases are their selectors shifted left 4 bits"
        ) { c, v in
            guard c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if segment.base != UInt64(segment.selector) << 4 {
                    v.record(
                        field: segment.register.baseField, value: segment.base,
                        expected: String(text: "\(hex: UInt64(segment.selector) << 4) (selector << 4)"))
                }
            }
        },
        EntryRule(
            "guest.segment-base.canonical", "27.3.1.2", .guestState,
            "The TR, FS and GS bases, and the LDTR base if LDTR is usable, are canonical"
        ) { c, v in
            for register in SegmentRegister.canonicalBaseRegisters {
                let segment = c.segment(register)
                guard register != .ldtr || segment.isUsable else { continue }
                if !c.isCanonical(segment.base) {
                    v.record(
                        field: segment.register.baseField, value: segment.base,
                        expected: c.canonicalExpectation)
                }
            }
        },
        EntryRule(
            "guest.segment-base.upper-bits", "27.3.1.2", .guestState,
            "Bits 63:32 of the CS base, and of the SS, DS and ES bases if usable, are 0"
        ) { c, v in
            for register in SegmentRegister.thirtyTwoBitBaseRegisters {
                let segment = c.segment(register)
                guard register == .cs || segment.isUsable else { continue }
                if segment.base >> 32 != 0 {
                    v.record(field: segment.register.baseField, value: segment.base, expected: "bits 63:32 clear")
                }
            }
        },
        // Limit fields.
        EntryRule(
            "guest.v8086.limit", "27.3.1.2", .guestState,
            "If the guest is virtual-8086, the CS, SS, DS, ES, FS and GS limits are 0000FFFFH"
        ) { c, v in
            guard c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if segment.limit != 0xFFFF {
                    v.record(
                        field: segment.register.limitField, value: UInt64(segment.limit),
                        expected: "0000FFFFH")
                }
            }
        },
        // Access-rights fields of CS, SS, DS, ES, FS, GS.
        EntryRule(
            "guest.v8086.access-rights", "27.3.1.2", .guestState,
            "If the guest is virtual-8086, the CS, SS, DS, ES, FS and GS access rights are 000000F3H"
        ) { c, v in
            guard c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if segment.accessRights != 0xF3 {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "000000F3H (present, DPL 3, read/write accessed data)")
                }
            }
        },
        EntryRule(
            "guest.cs.type", "27.3.1.2", .guestState,
            "CS type is 9, 11, 13 or 15 (accessed code), or 3 (read/write accessed data) with \"unrestricted guest\""
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            let type = c.cs.type
            let valid = type == 9 || type == 11 || type == 13 || type == 15 || (type == 3 && c.unrestrictedGuest)
            if !valid {
                v.record(
                    field: .guestCSAccessRights, value: UInt64(c.cs.accessRights),
                    expected: c.unrestrictedGuest ? "type 3, 9, 11, 13 or 15" : "type 9, 11, 13 or 15 (accessed code)")
            }
        },
        EntryRule(
            "guest.ss.type", "27.3.1.2", .guestState,
            "If SS is usable, its type is 3 or 7 (read/write accessed data)"
        ) { c, v in
            guard !c.virtual8086Guest, c.ss.isUsable else { return }
            if c.ss.type != 3 && c.ss.type != 7 {
                v.record(
                    field: .guestSSAccessRights, value: UInt64(c.ss.accessRights),
                    expected: "type 3 or 7 (read/write accessed data)")
            }
        },
        EntryRule(
            "guest.data-segments.accessed", "27.3.1.2", .guestState,
            "For each usable DS, ES, FS and GS, bit 0 of the type (accessed) is 1"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.dataRegisters {
                let segment = c.segment(register)
                if segment.isUsable && segment.type & 1 == 0 {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "type bit 0 set (accessed)")
                }
            }
        },
        EntryRule(
            "guest.data-segments.code-readable", "27.3.1.2", .guestState,
            "For each usable DS, ES, FS and GS that is a code segment (type bit 3), the type is readable (bit 1)"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.dataRegisters {
                let segment = c.segment(register)
                if segment.isUsable && segment.isCode && segment.type & 2 == 0 {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "type bit 1 set (readable code)")
                }
            }
        },
        EntryRule(
            "guest.segments.s", "27.3.1.2", .guestState,
            "CS and each usable SS, DS, ES, FS, GS have S (bit 4) = 1 (code or data)"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if (segment.register == .cs || segment.isUsable) && !segment.isCodeOrData {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "bit 4 (S) set")
                }
            }
        },
        EntryRule(
            "guest.cs.dpl", "27.3.1.2", .guestState,
            "CS.DPL is 0 for type 3, equals SS.DPL for types 9 and 11, and is at most SS.DPL for types 13 and 15"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            let dpl = c.cs.dpl, ssDPL = c.ss.dpl
            let expected: String?
            switch c.cs.type {
            case 3: expected = dpl == 0 ? nil : "DPL 0 (type 3)"
            case 9, 11: expected = dpl == ssDPL ? nil : String(text: "DPL = SS.DPL = \(ssDPL) (non-conforming code)")
            case 13, 15: expected = dpl <= ssDPL ? nil : String(text: "DPL at most SS.DPL = \(ssDPL) (conforming code)")
            default: expected = nil
            }
            if let expected {
                v.record(field: .guestCSAccessRights, value: UInt64(c.cs.accessRights), expected: expected)
            }
        },
        EntryRule(
            "guest.ss.dpl-equals-rpl", "27.3.1.2", .guestState,
            "If \"unrestricted guest\" is 0, SS.DPL equals the RPL of the SS selector"
        ) { c, v in
            guard !c.virtual8086Guest, !c.unrestrictedGuest else { return }
            if c.ss.dpl != c.ss.rpl {
                v.record(
                    field: .guestSSAccessRights, value: UInt64(c.ss.accessRights),
                    expected: String(text: "DPL = SS.RPL = \(c.ss.rpl)"))
            }
        },
        EntryRule(
            "guest.ss.dpl-zero", "27.3.1.2", .guestState,
            "SS.DPL is 0 if CS type is 3 or guest CR0.PE is 0"
        ) { c, v in
            guard !c.virtual8086Guest, c.cs.type == 3 || !c.guestCR0PE else { return }
            if c.ss.dpl != 0 {
                v.record(
                    field: .guestSSAccessRights, value: UInt64(c.ss.accessRights),
                    expected: c.guestCR0PE ? "DPL 0 (CS type is 3)" : "DPL 0 (CR0.PE is 0)")
            }
        },
        EntryRule(
            "guest.data-segments.dpl", "27.3.1.2", .guestState,
            "If \"unrestricted guest\" is 0, each usable DS, ES, FS, GS of type 0-11 has DPL at least its RPL"
        ) { c, v in
            guard !c.virtual8086Guest, !c.unrestrictedGuest else { return }
            for register in SegmentRegister.dataRegisters {
                let segment = c.segment(register)
                if segment.isUsable && segment.type <= 11 && segment.dpl < segment.rpl {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: String(text: "DPL at least RPL = \(segment.rpl)"))
                }
            }
        },
        EntryRule(
            "guest.segments.present", "27.3.1.2", .guestState,
            "CS and each usable SS, DS, ES, FS, GS have P (bit 7) = 1"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if (segment.register == .cs || segment.isUsable) && !segment.isPresent {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "bit 7 (P) set")
                }
            }
        },
        EntryRule(
            "guest.segments.reserved", "27.3.1.2", .guestState,
            "CS and each usable SS, DS, ES, FS, GS have access-rights bits 11:8 and 31:17 = 0"
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if (segment.register == .cs || segment.isUsable) && segment.reservedAccessRights != 0 {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: "bits 11:8 and 31:17 clear")
                }
            }
        },
        EntryRule(
            "guest.cs.db-with-l", "27.3.1.2", .guestState,
            "If \"IA-32e mode guest\" is 1 and CS.L is 1, CS.D/B (bit 14) is 0"
        ) { c, v in
            guard !c.virtual8086Guest, c.ia32eModeGuest, c.cs.isLong, c.cs.isDefaultBig else { return }
            v.record(
                field: .guestCSAccessRights, value: UInt64(c.cs.accessRights),
                expected: "bit 14 (D/B) clear (64-bit code segment)")
        },
        EntryRule(
            "guest.segments.granularity", "27.3.1.2", .guestState,
            """
            CS and each usable SS, DS, ES, FS, GS have G consistent with the limit (G = 0 unless limit bits 11:0 \
            are all 1; G = 1 if any of limit bits 31:20 is 1)
            """
        ) { c, v in
            guard !c.virtual8086Guest else { return }
            for register in SegmentRegister.codeAndDataRegisters {
                let segment = c.segment(register)
                if segment.register == .cs || segment.isUsable, let problem = segment.granularityMismatch {
                    v.record(
                        field: segment.register.accessRightsField, value: UInt64(segment.accessRights),
                        expected: String(text: "\(problem) for limit \(hex: segment.limit)"))
                }
            }
        },
        // TR.
        EntryRule(
            "guest.tr.type", "27.3.1.2", .guestState,
            "TR type is 11 (busy 32/64-bit TSS), or 3 (busy 16-bit TSS) if the guest is not IA-32e mode"
        ) { c, v in
            let type = c.tr.type
            if !(type == 11 || (type == 3 && !c.ia32eModeGuest)) {
                v.record(
                    field: .guestTRAccessRights, value: UInt64(c.tr.accessRights),
                    expected: c.ia32eModeGuest ? "type 11 (busy 64-bit TSS)" : "type 3 or 11 (busy TSS)")
            }
        },
        EntryRule("guest.tr.s", "27.3.1.2", .guestState, "TR has S (bit 4) = 0 (system segment)") { c, v in
            if c.tr.isCodeOrData {
                v.record(field: .guestTRAccessRights, value: UInt64(c.tr.accessRights), expected: "bit 4 (S) clear")
            }
        },
        EntryRule("guest.tr.present", "27.3.1.2", .guestState, "TR has P (bit 7) = 1") { c, v in
            if !c.tr.isPresent {
                v.record(field: .guestTRAccessRights, value: UInt64(c.tr.accessRights), expected: "bit 7 (P) set")
            }
        },
        EntryRule("guest.tr.reserved", "27.3.1.2", .guestState, "TR access-rights bits 11:8 and 31:17 are 0") { c, v in
            if c.tr.reservedAccessRights != 0 {
                v.record(
                    field: .guestTRAccessRights, value: UInt64(c.tr.accessRights),
                    expected: "bits 11:8 and 31:17 clear")
            }
        },
        EntryRule("guest.tr.granularity", "27.3.1.2", .guestState, "TR has G consistent with its limit") { c, v in
            if let problem = c.tr.granularityMismatch {
                v.record(
                    field: .guestTRAccessRights, value: UInt64(c.tr.accessRights),
                    expected: String(text: "\(problem) for limit \(hex: c.tr.limit)"))
            }
        },
        EntryRule("guest.tr.usable", "27.3.1.2", .guestState, "TR is usable (access-rights bit 16 = 0)") { c, v in
            if !c.tr.isUsable {
                v.record(
                    field: .guestTRAccessRights, value: UInt64(c.tr.accessRights),
                    expected: "bit 16 (unusable) clear")
            }
        },
        // LDTR, if usable.
        EntryRule("guest.ldtr.type", "27.3.1.2", .guestState, "If LDTR is usable, its type is 2 (LDT)") { c, v in
            if c.ldtr.isUsable && c.ldtr.type != 2 {
                v.record(field: .guestLDTRAccessRights, value: UInt64(c.ldtr.accessRights), expected: "type 2 (LDT)")
            }
        },
        EntryRule("guest.ldtr.s", "27.3.1.2", .guestState, "If LDTR is usable, S (bit 4) is 0") { c, v in
            if c.ldtr.isUsable && c.ldtr.isCodeOrData {
                v.record(field: .guestLDTRAccessRights, value: UInt64(c.ldtr.accessRights), expected: "bit 4 (S) clear")
            }
        },
        EntryRule("guest.ldtr.present", "27.3.1.2", .guestState, "If LDTR is usable, P (bit 7) is 1") { c, v in
            if c.ldtr.isUsable && !c.ldtr.isPresent {
                v.record(field: .guestLDTRAccessRights, value: UInt64(c.ldtr.accessRights), expected: "bit 7 (P) set")
            }
        },
        EntryRule(
            "guest.ldtr.reserved", "27.3.1.2", .guestState, "If LDTR is usable, access-rights bits 11:8 and 31:17 are 0"
        ) { c, v in
            if c.ldtr.isUsable && c.ldtr.reservedAccessRights != 0 {
                v.record(
                    field: .guestLDTRAccessRights, value: UInt64(c.ldtr.accessRights),
                    expected: "bits 11:8 and 31:17 clear")
            }
        },
        EntryRule(
            "guest.ldtr.granularity", "27.3.1.2", .guestState, "If LDTR is usable, G is consistent with its limit"
        ) { c, v in
            if c.ldtr.isUsable, let problem = c.ldtr.granularityMismatch {
                v.record(
                    field: .guestLDTRAccessRights, value: UInt64(c.ldtr.accessRights),
                    expected: String(text: "\(problem) for limit \(hex: c.ldtr.limit)"))
            }
        }
    ]

    static let guestDescriptorTableRegisters: [EntryRule] = [
        EntryRule("guest.gdtr-idtr.base", "27.3.1.3", .guestState, "The guest GDTR and IDTR bases are canonical") {
            c, v in
            if !c.isCanonical(c.guestGDTRBase) {
                v.record(field: .guestGDTRBase, value: c.guestGDTRBase, expected: c.canonicalExpectation)
            }
            if !c.isCanonical(c.guestIDTRBase) {
                v.record(field: .guestIDTRBase, value: c.guestIDTRBase, expected: c.canonicalExpectation)
            }
        },
        EntryRule(
            "guest.gdtr-idtr.limit", "27.3.1.3", .guestState, "Bits 31:16 of the guest GDTR and IDTR limits are 0"
        ) { c, v in
            if c.guestGDTRLimit & ~0xFFFF != 0 {
                v.record(field: .guestGDTRLimit, value: c.guestGDTRLimit, expected: "bits 31:16 clear")
            }
            if c.guestIDTRLimit & ~0xFFFF != 0 {
                v.record(field: .guestIDTRLimit, value: c.guestIDTRLimit, expected: "bits 31:16 clear")
            }
        }
    ]
}
