// A pass-through guest sees the processors it has a virtual CPU on (PassThroughProcessors.swift).
// The others are the hypervisor's - left out of VMX, or all but one where the CPU cannot start
// a guest's application processors - and an INIT-SIPI-SIPI from the guest would run them
// outside VMX or cost it a time-out per processor. So the guest reads a copy of the firmware's
// MADT in which every other processor has its Enabled and Online Capable flags clear (ACPI 6.5,
// 5.2.12.2 and 5.2.12.19), checksum fixed, mapped by EPT over the pages of the original.
import VMX

extension PassThroughPlatform {
    /// The MADT's header checksum byte (ACPI 6.5, 5.2.6) and the flags a processor entry gives
    /// up: Enabled (bit 0) and Online Capable (bit 1).
    static let checksumOffset: UInt64 = 9
    static let processorPresence: UInt32 = ACPIMADT.flagEnabled | ACPIMADT.flagOnlineCapable

    /// The pages the MADT lies on, which the identity map must map with 4-KiB pages.
    var madtPages: PhysicalRange? {
        guard let madt else { return nil }
        let page = PhysicalLayout.pageSize
        return PhysicalRange(start: madt.address & ~(page - 1), end: madt.address + madt.length)
            .grownToPages(page)
    }

    /// Copies the MADT's pages, hides every processor but `apicIDs` there and maps the copy over
    /// the original. Returns (hidden, listed), or nil when it cannot (no MADT, no room).
    func hideOtherProcessors<P: Host>(
        but apicIDs: [UInt32], ept: EPT, arena: inout PageArena,
        cpu: P
    ) -> (hidden: Int, listed: Int)? {
        guard let madt, let pages = madtPages, pages.size <= 2 * PhysicalLayout.pageSize,
            let copy = arena.allocate(bytes: pages.size, zeroingWith: cpu)
        else { return nil }
        cpu.copyPhysical(from: pages.start, to: copy, count: pages.size)
        let table = copy + (madt.address - pages.start)
        var hidden = 0, listed = 0
        var offset = ACPIMADT.entriesOffset
        while offset + ACPIMADT.entryHeaderSize <= madt.length {
            let type = UInt8(truncatingIfNeeded: readByte(table + offset, cpu: cpu))
            let length = UInt64(readByte(table + offset + ACPIMADT.entryLengthOffset, cpu: cpu))
            guard length >= ACPIMADT.entryHeaderSize, offset + length <= madt.length else { break }
            let entry = ImageBytes(cpu: cpu, base: table + offset)
            var flagsAt: UInt64? = nil, id: UInt32 = 0
            if type == ACPIMADT.typeLocalAPIC && length >= ACPIMADT.localAPICLength {
                flagsAt = ACPIMADT.localAPICFlagsOffset
                id = UInt32(entry.u8(ACPIMADT.localAPICIDOffset))
            } else if type == ACPIMADT.typeLocalX2APIC && length >= ACPIMADT.localX2APICLength {
                flagsAt = ACPIMADT.localX2APICFlagsOffset
                id = UInt32(truncatingIfNeeded: entry.u32(ACPIMADT.localX2APICIDOffset))
            }
            if let flagsAt {
                let flags = UInt32(truncatingIfNeeded: entry.u32(flagsAt))
                if flags & Self.processorPresence != 0 { listed += 1 }
                if !apicIDs.contains(id) && flags & Self.processorPresence != 0 {
                    for byte in 0..<UInt64(4) {
                        let value = UInt8(truncatingIfNeeded: (flags & ~Self.processorPresence) >> (UInt32(byte) * 8))
                        writeByte(table + offset + flagsAt + byte, value, cpu: cpu)
                    }
                    hidden += 1
                }
            }
            offset += length
        }
        // The checksum: all bytes of the table sum to zero.
        writeByte(table + Self.checksumOffset, 0, cpu: cpu)
        var sum: UInt8 = 0
        for index in 0..<madt.length { sum &+= readByte(table + index, cpu: cpu) }
        writeByte(table + Self.checksumOffset, 0 &- sum, cpu: cpu)
        guard
            ept.map(
                guestPhysical: pages.start, host: copy, bytes: pages.size, permissions: [.read, .write],
                largePages: false, memoryType: EPT.writeBack, arena: &arena, cpu: cpu)
        else { return nil }
        return (hidden, listed)
    }
}
