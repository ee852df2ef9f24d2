// Guest memory as the guest addresses it: linear addresses through its paging (GuestPaging)
// and guest-physical ones through EPT (GuestMemory), for the pointers a guest hands over.
import VMX

extension VirtualCPU {
    /// The guest-physical address of guest-linear `linear`, or nil where its paging has none.
    public func guestPhysical(ofLinear linear: UInt64) -> UInt64? {
        let ia32e = read(.vmEntryControls) & UInt64(VMEntryControls.ia32eModeGuest.rawValue) != 0
        return GuestPaging.translate(
            linear: linear, cr0: read(.guestCR0), cr3: read(.guestCR3), cr4: read(.guestCR4),
            ia32e: ia32e, memory: memory, cpu: cpu)
    }

    /// `count` bytes at guest-linear `linear`, or nil if any of them is not readable memory.
    public func readGuest(linear: UInt64, count: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var done = 0
        while done < count {
            let address = linear &+ UInt64(done)
            let inPage = min(count - done, Int(PhysicalLayout.pageSize - (address & 0xFFF)))
            guard let physical = guestPhysical(ofLinear: address),
                let chunk = memory.readBytes(guestPhysical: physical, count: inPage, cpu: cpu)
            else { return nil }
            bytes += chunk
            done += inPage
        }
        return bytes
    }

    /// Writes `bytes` at guest-linear `linear`; false if any byte is not writable memory.
    public func writeGuest(linear: UInt64, bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            // One translation per page: guest paging and EPT map whole pages.
            let address = linear &+ UInt64(done)
            let inPage = min(bytes.count - done, Int(PhysicalLayout.pageSize - (address & 0xFFF)))
            guard let physical = guestPhysical(ofLinear: address),
                let (host, rights) = memory.hostAddress(ofGuestPhysical: physical, cpu: cpu),
                rights.contains(.write)
            else { return false }
            for offset in 0..<inPage { writeByte(host &+ UInt64(offset), bytes[done + offset], cpu: cpu) }
            done += inPage
        }
        return true
    }
}
