// Guest-linear to guest-physical translation, walking the guest's own paging structures the
// way the processor does (SDM Vol. 3A 4.3 "32-Bit Paging", 4.4 "PAE Paging", 4.5 "4-Level
// Paging"), reading them through the guest's memory (and EPT). The hypervisor needs it for
// pointers a guest hands over: hypercall arguments, string I/O.
import VMX

public enum GuestPaging {
    static let present = PageTableEntry.present.rawValue
    static let pageSize = PageTableEntry.pageSize.rawValue
    static let addressMask: UInt64 = PageFrame.addressMask

    /// The guest-physical address of `linear`, or nil where the walk meets a not-present
    /// entry or leaves the guest's memory. `ia32e` is IA32_EFER.LMA.
    public static func translate<P: Processor>(
        linear: UInt64, cr0: UInt64, cr3: UInt64, cr4: UInt64,
        ia32e: Bool, memory: GuestMemory, cpu: P
    ) -> UInt64? {
        guard cr0 & ControlRegister0.pg.rawValue != 0 else { return linear & 0xFFFF_FFFF }
        func entry(_ gpa: UInt64, wide: Bool) -> UInt64? {
            guard let (host, _) = memory.hostAddress(ofGuestPhysical: gpa, cpu: cpu) else { return nil }
            return wide ? cpu.readPhysical64(host) : UInt64(cpu.readPhysical32(host))
        }
        if ia32e {
            // 4-level paging: PML4, PDPT (1-GiB pages), PD (2-MiB pages), PT. A linear address
            // that is not canonical (bits 63:47 not all equal) is no address: the processor
            // would raise #GP (SDM Vol. 3A 4.5, Vol. 1 3.3.7.1).
            guard isCanonical(linear, width: 48) else { return nil }
            var table = cr3 & addressMask
            var shift: UInt64 = 39
            while true {
                guard let e = entry(table + ((linear >> shift) & 511) * 8, wide: true), e & present != 0 else {
                    return nil
                }
                if shift == 12 || (shift <= 30 && e & pageSize != 0) {
                    let mask: UInt64 = (1 << shift) - 1
                    return (e & addressMask & ~mask) | (linear & mask)
                }
                table = e & addressMask
                shift -= 9
            }
        }
        if cr4 & ControlRegister4.pae.rawValue != 0 {
            // PAE paging: four PDPTEs at CR3[31:5], then PD (2-MiB pages) and PT.
            let linear32 = linear & 0xFFFF_FFFF
            guard
                let pdpte = entry((cr3 & PagingStructure.paeDirectoryPointerTable) + (linear32 >> 30) * 8, wide: true),
                pdpte & present != 0,
                let pde = entry((pdpte & addressMask) + ((linear32 >> 21) & 511) * 8, wide: true), pde & present != 0
            else { return nil }
            if pde & pageSize != 0 {
                let offset = PagingStructure.largePageOffset2MB
                return (pde & addressMask & ~offset) | (linear32 & offset)
            }
            guard let pte = entry((pde & addressMask) + ((linear32 >> 12) & 511) * 8, wide: true), pte & present != 0
            else { return nil }
            return (pte & addressMask) | (linear32 & PageFrame.offsetMask)
        }
        // 32-bit paging: PD (4-MiB pages with CR4.PSE), PT.
        let linear32 = linear & 0xFFFF_FFFF
        guard let pde = entry((cr3 & PageFrame.addressMask32) + (linear32 >> 22) * 4, wide: false), pde & present != 0
        else { return nil }
        if pde & pageSize != 0 && cr4 & ControlRegister4.pse.rawValue != 0 {
            return (pde & PagingStructure.largePageFrame32) | ((pde >> 13) & 0xFF) << 32
                | (linear32 & PagingStructure.largePageOffset32)
        }
        guard let pte = entry((pde & PageFrame.addressMask32) + ((linear32 >> 12) & 1023) * 4, wide: false),
            pte & present != 0
        else { return nil }
        return (pte & PageFrame.addressMask32) | (linear32 & PageFrame.offsetMask)
    }
}
