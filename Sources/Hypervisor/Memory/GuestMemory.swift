// A guest's memory: one block of host memory from the arena, 2-MiB aligned, that the guest
// sees at guest-physical `physicalBase`.
//
// With EPT the guest-physical space starts at 0 and EPT maps exactly this block (and, for a
// real-mode guest, a read/execute reset-vector page at 0xFFFFF000). Without EPT guest-physical
// addresses are host-physical ones: `physicalBase` is the block's host address, and the guest's
// own page tables (built by the hypervisor) decide what it reaches.
//
// The top 64 KiB of the block hold what the hypervisor builds for the guest ("structures"):
// page tables, a GDT and a TSS (docs/GUESTS.md, "Guest memory").
import VMX

public struct GuestMemory: Sendable {
    /// Host-physical address of the block.
    public let host: UInt64
    /// Size in bytes (a multiple of 2 MiB).
    public let size: UInt64
    /// Guest-physical address of the block's first byte.
    public let physicalBase: UInt64
    /// The EPT that maps it, nil without EPT.
    public let ept: EPT?

    public static let structuresSize: UInt64 = 0x1_0000
    /// Offset of the hypervisor's structures within the block.
    public var structuresOffset: UInt64 { size - Self.structuresSize }

    public init(host: UInt64, size: UInt64, physicalBase: UInt64, ept: EPT?) {
        self.host = host
        self.size = size
        self.physicalBase = physicalBase
        self.ept = ept
    }

    /// The host-physical address of guest-physical `address`, and what EPT lets the guest do
    /// there (everything without EPT); nil when the guest has no memory there.
    public func hostAddress<P: Processor>(ofGuestPhysical address: UInt64, cpu: P) -> (
        host: UInt64, permissions: EPTPermissions
    )? {
        if let ept {
            if let mapped = ept.translate(address, cpu: cpu) { return mapped }
            // A page the guest has not touched yet is its memory all the same.
            return ept.reservedHost(address, cpu: cpu).map { ($0, .all) }
        }
        guard address >= physicalBase, address - physicalBase < size else { return nil }
        return (address, .all)
    }

    /// Reads `count` bytes of guest-physical memory: one translation per page (EPT maps whole
    /// pages), then byte by byte.
    public func readBytes<P: Processor>(guestPhysical address: UInt64, count: Int, cpu: P) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let at = address &+ UInt64(bytes.count)
            guard let (host, rights) = hostAddress(ofGuestPhysical: at, cpu: cpu), rights.contains(.read) else {
                return nil
            }
            let inPage = min(count - bytes.count, Int(PhysicalLayout.pageSize - (at & 0xFFF)))
            for offset in 0..<inPage { bytes.append(readByte(host &+ UInt64(offset), cpu: cpu)) }
        }
        return bytes
    }

    /// Copies `count` bytes from host-physical `source` to guest-physical `address`.
    public func copy<P: Processor>(fromHost source: UInt64, count: UInt64, toGuestPhysical address: UInt64, cpu: P)
        -> Bool
    {
        var done: UInt64 = 0
        while done < count {
            guard let (target, _) = hostAddress(ofGuestPhysical: address + done, cpu: cpu) else { return false }
            if count - done >= 8 && target & 7 == 0 && (source + done) & 7 == 0 {
                cpu.writePhysical64(target, cpu.readPhysical64(source + done))
                done += 8
            } else {
                writeByte(target, readByte(source + done, cpu: cpu), cpu: cpu)
                done += 1
            }
        }
        return true
    }
}

/// One byte of physical memory, through the processor's 32-bit accesses.
func readByte<P: Processor>(_ address: UInt64, cpu: P) -> UInt8 {
    let word = cpu.readPhysical32(address & ~3)
    return UInt8(truncatingIfNeeded: word >> ((address & 3) * 8))
}

func writeByte<P: Processor>(_ address: UInt64, _ value: UInt8, cpu: P) {
    let shift = (address & 3) * 8
    let word = cpu.readPhysical32(address & ~3)
    cpu.writePhysical32(address & ~3, (word & ~(UInt32(0xFF) << shift)) | UInt32(value) << shift)
}
