// The kernel's one page allocator, set up by kmain from the boot memory map (Entry.swift) and
// used by the heap and by whoever needs physical pages (the hypervisor's VMXON region, VMCSs).
import Hypervisor
import VMX

public enum KernelMemory {
    nonisolated(unsafe) public static var pages: PhysicalPageAllocator? = nil

    /// One zeroed page below `limit`; stops the machine when there is none.
    public static func allocatePage(below limit: UInt64 = UInt64.max) -> UInt64 {
        guard pages != nil, let page = pages!.allocatePage(below: limit) else {
            log("FATAL: out of physical memory: no free page below \(hex: limit)")
            exitMachine(success: false)
        }
        return page
    }
}
