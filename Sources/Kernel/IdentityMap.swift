// The kernel's page tables: physical memory identity-mapped with 2-MiB pages (SDM Vol. 3A
// 4.5, "4-Level Paging"). boot/entry.asm maps the first GiB, which is enough for the kernel
// and the boot information, and keeps the page tables in .bss small; once the page allocator
// exists, `extend()` maps the rest of the first 4 GiB (RAM of larger machines, the local APIC
// and other MMIO below 4 GiB) with page directories from the allocator.
import Intrinsics

public enum IdentityMap {
    /// What boot/entry.asm maps: [0, 1 GiB).
    public static let bootLimit: UInt64 = 1 << 30
    /// What `extend()` maps: [0, 4 GiB).
    public static let fullLimit: UInt64 = 1 << 32

    /// Addresses below this are mapped now.
    nonisolated(unsafe) public private(set) static var limit: UInt64 = bootLimit

    private static let presentWritable: UInt64 = 0x3
    private static let largePage: UInt64 = 0x80  // PS: a PDE that maps 2 MiB

    /// Maps [1 GiB, 4 GiB): three page directories, installed in PDPT entries 1-3.
    static func extend() {
        guard limit < fullLimit else { return }
        let pdpt = UnsafeMutablePointer<UInt64>(bitPattern: UInt(kernel_boot_pdpt()))!
        var gigabyte = Int(bootLimit >> 30)
        while UInt64(gigabyte) < fullLimit >> 30 {
            let directory = KernelMemory.allocatePage(below: limit)
            let entries = UnsafeMutablePointer<UInt64>(bitPattern: UInt(directory))!
            for index in 0..<512 {
                entries[index] = (UInt64(gigabyte) << 30 | UInt64(index) << 21) | presentWritable | largePage
            }
            pdpt[gigabyte] = directory | presentWritable
            gigabyte += 1
        }
        // New entries replace not-present ones, which are never cached; reloading CR3 anyway
        // keeps this independent of that rule.
        x86_write_cr3(x86_read_cr3())
        limit = fullLimit
    }
}
