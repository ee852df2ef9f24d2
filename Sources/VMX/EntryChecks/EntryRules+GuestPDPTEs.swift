// SDM 27.3.1.6 "Checks on Guest Page-Directory-Pointer-Table Entries". A VM entry to a guest
// that uses PAE paging (CR0.PG = 1, CR4.PAE = 1, "IA-32e mode guest" = 0) checks the PDPTEs
// as MOV to CR3 would: with "enable EPT" 0 those in the table CR3 references (the SDM lets a
// processor skip them when neither PAE paging nor CR3 changes; this model always checks),
// with "enable EPT" 1 the four PDPTE fields of the guest-state area. A present PDPTE must
// have bits 2:1, 8:5 and 63:MAXPHYADDR clear (SDM Vol. 3A 4.4.1, Table 4-8).
// Failure: VM exit with reason 33, exit qualification 2.

extension EntryRules {
    static let guestPDPTEs: [EntryRule] = [
        EntryRule(
            "guest.pdpte.reserved", "27.3.1.6", .guestState,
            """
            Under PAE paging, each present PDPTE (from the CR3 table, or the PDPTE fields with EPT) has bits 2:1, \
            8:5 and 63:MAXPHYADDR clear
            """,
            qualification: EntryFailureQualification.pdpteLoading
        ) { c, v in
            guard c.guestUsesPAEPaging else { return }
            let reserved: UInt64 =
                0x1E6 | (c.physicalAddressWidth >= 64 ? 0 : ~UInt64(0) << UInt64(c.physicalAddressWidth))
            let fields: (VMCSField, VMCSField, VMCSField, VMCSField) = (
                .guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3
            )
            for index in 0..<4 {
                let pdpte: UInt64
                let field: VMCSField
                var memoryAddress: UInt64? = nil
                if c.enableEPT {
                    switch index {
                    case 0: (pdpte, field) = (c.guestPDPTEFields.0, fields.0)
                    case 1: (pdpte, field) = (c.guestPDPTEFields.1, fields.1)
                    case 2: (pdpte, field) = (c.guestPDPTEFields.2, fields.2)
                    default: (pdpte, field) = (c.guestPDPTEFields.3, fields.3)
                    }
                } else {
                    // CR3 bits 31:5 locate the 32-byte page-directory-pointer table.
                    let address = (c.guestCR3 & 0xFFFF_FFE0) + UInt64(index) * 8
                    pdpte = c.readPhysical64(address)
                    field = .guestCR3
                    memoryAddress = address
                }
                if pdpte & 1 != 0 && pdpte & reserved != 0 {
                    v.record(
                        EntryViolation(
                            field: field, value: pdpte,
                            expected: String(
                                text: "PDPTE\(index) bits 2:1, 8:5 and 63:\(c.physicalAddressWidth) clear"),
                            memoryAddress: memoryAddress))
                }
            }
        }
    ]
}
