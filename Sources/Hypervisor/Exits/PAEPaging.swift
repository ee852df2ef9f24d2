// PAE paging under the hypervisor (SDM Vol. 3A 4.4.1 "PDPTE Registers"). A guest uses PAE
// paging when CR0.PG = 1, CR4.PAE = 1 and IA32_EFER.LME = 0. The processor loads its four
// PDPTEs from the 32-byte table at CR3[31:5] on MOV to CR3 in PAE paging, and on MOV to CR0 or
// CR4 that leaves PAE paging in use and changes CR0.CD, NW or PG, or CR4.PAE, PGE, PSE or SMEP;
// a present PDPTE with bits 2:1, 8:5 or 63:MAXPHYADDR set makes the instruction fail with
// #GP(0) and change nothing.
//
// When the hypervisor emulates such an instruction (a CR0/CR4 write that exits because of the
// guest/host masks, a CR3 load that exits because of "CR3-load exiting"), it does the loading:
// with EPT, VM entry takes the PDPTEs from the VMCS's guest PDPTE fields (SDM 27.3.2.4), so
// the hypervisor reads them from guest-physical memory and writes those fields; without EPT
// VM entry reads them from CR3 itself, and the hypervisor only checks them. A MOV to CR3 that
// does not exit (EPT with "CR3-load exiting" 0) is the processor's own: it loads the PDPTEs
// through EPT (SDM 4.4.1, 29.3.1) and stores them in the VMCS at VM exits (28.3.4).
import VMX

extension VirtualCPU {
    /// Whether CR0/CR4 values and IA32_EFER give PAE paging.
    static func usesPAEPaging(cr0: UInt64, cr4: UInt64, efer: UInt64) -> Bool {
        cr0 & ControlRegister0.pg.rawValue != 0 && cr4 & ControlRegister4.pae.rawValue != 0
            && efer & ExtendedFeatureEnable.lme.rawValue == 0
    }

    /// Bits of a present PDPTE that must be 0: 2:1, 8:5 and 63:MAXPHYADDR (Table 4-8).
    func pdpteReservedBits() -> UInt64 {
        let width = UInt64(addressWidths(of: cpu).physical)
        return PagingStructure.paeDirectoryPointerReserved | (width >= 64 ? 0 : ~UInt64(0) << width)
    }

    /// Loads the PDPTEs of the table `cr3` names for an instruction the hypervisor emulates
    /// (`what` names it in the log). Returns nil when they are loaded (into the VMCS with
    /// EPT), else what happens instead: #GP(0) for a reserved bit, the guest's stop for a table
    /// outside its memory (the processor's read would be an EPT violation).
    func loadPDPTEs(cr3: UInt64, for what: StaticString) -> ExitAction? {
        let table = cr3 & PagingStructure.paeDirectoryPointerTable
        guard let (host, _) = memory.hostAddress(ofGuestPhysical: table, cpu: cpu) else {
            cpu.log("guest \(name): \(what) loads the PDPTEs from guest-physical \(hex: table), outside its memory")
            return .stop(.eptViolation(guestPhysicalAddress: table))
        }
        let reserved = pdpteReservedBits()
        for index in 0..<UInt64(4) {
            let entry = cpu.readPhysical64(host &+ index * 8)
            if entry & PageTableEntry.present.rawValue != 0 && entry & reserved != 0 {
                cpu.log(
                    """
                    guest \(name): \(what): PDPTE\(index) \(hex: entry) has reserved bits set: #GP(0) injected \
                    (pdpte.reserved, SDM Vol. 3A 4.4.1)
                    """
                )
                injectException(vector: .generalProtection, errorCode: 0)
                return .resume
            }
        }
        // Guest PDPTE0-3: consecutive 64-bit fields, encodings 2 apart (SDM Appendix B.2.3).
        if setup.usesEPT {
            for index in 0..<UInt64(4) {
                let field = VMCSField(rawValue: VMCSField.guestPDPTE0.rawValue + UInt32(index) * 2)
                write(field, cpu.readPhysical64(host &+ index * 8))
            }
        }
        return nil
    }
}
