// Translating a guest linear address to a guest-physical one with the guest's own paging
// (SDM Vol. 3A chapter 4: 32-bit paging 4.3, PAE paging 4.4, 4-level and 5-level paging 4.5,
// access rights 4.6, page-fault error codes 4.7), each paging-structure access itself translated
// through the EPT (SDM 29.3.2: "guest-physical addresses used by guest paging"). An EPT violation
// or misconfiguration met on the way ends the walk; a guest page fault is reported with its
// error code. Not modelled: protection keys, SMAP, CET shadow stacks, HLAT.
import VMX

/// What went wrong in a walk, or where it led.
enum LinearTranslation: Equatable {
    /// The guest-physical and host-physical address of the byte, and what the guest's paging
    /// and the EPT together allow for the page at the current privilege (for the TLB entry).
    case translated(guestPhysical: UInt64, hostPhysical: UInt64, allowed: AccessRights, guestPage: GuestPageRights)
    /// A page fault for the guest, with its error code (SDM Vol. 3A 4.7).
    case pageFault(errorCode: UInt32)
    /// An EPT violation at `guestPhysical`; `translatedAddress` is false when the access was to
    /// a guest paging-structure entry (exit qualification bit 8 = 0).
    case eptViolation(
        guestPhysical: UInt64, access: AccessKind, allowed: AccessRights, translatedAddress: Bool,
        guestPage: GuestPageRights?)
    case eptMisconfiguration(guestPhysical: UInt64)
}

/// The guest paging's rights for a linear address: the advanced EPT-violation information
/// (SDM Table 28-7 bits 9-11) reports them.
struct GuestPageRights: Equatable {
    var user: Bool
    var writable: Bool
    var executeDisable: Bool
    static let unpaged = GuestPageRights(user: true, writable: true, executeDisable: false)
}

struct GuestPagingWalker {
    var cr0: UInt64
    var cr3: UInt64
    var cr4: UInt64
    var efer: UInt64
    /// PDPTE0-3 as loaded for PAE paging (SDM 4.4.1).
    var pdptes: [UInt64]
    var physicalAddressWidth: Int
    /// nil: no EPT, guest-physical addresses are host-physical.
    var ept: EPTWalker?
    let memory: PhysicalMemory

    /// The error-code bits (SDM Vol. 3A 4.7).
    enum PageFaultError {
        static let present = PageFaultErrorCode.present.rawValue
        static let write = PageFaultErrorCode.write.rawValue
        static let user = PageFaultErrorCode.user.rawValue
        static let reserved = PageFaultErrorCode.reservedBit.rawValue
        static let fetch = PageFaultErrorCode.instructionFetch.rawValue
    }

    private var pagingEnabled: Bool { cr0 & ControlRegister0.pg.rawValue != 0 }
    private var pae: Bool { cr4 & ControlRegister4.pae.rawValue != 0 }
    private var longMode: Bool { efer & ExtendedFeatureEnable.lma.rawValue != 0 }
    private var nxe: Bool { efer & ExtendedFeatureEnable.nxe.rawValue != 0 }
    private var writeProtect: Bool { cr0 & ControlRegister0.wp.rawValue != 0 }
    private var smep: Bool { cr4 & ControlRegister4.smep.rawValue != 0 }
    private var maxPhysicalMask: UInt64 {
        physicalAddressWidth >= 52
            ? PageFrame.addressMask
            : ((UInt64(1) << UInt64(physicalAddressWidth)) - 1) & ~PageFrame.offsetMask
    }

    /// Translates the guest-physical address `address` through the EPT (identity without EPT).
    func translateGuestPhysical(_ address: UInt64, access: AccessKind, setFlags: Bool) -> EPTTranslation {
        guard let ept else { return .translated(hostPhysical: address, allowed: [.read, .write, .execute]) }
        return ept.translate(address, access: access, setFlags: setFlags)
    }

    /// The state of one walk: the entries read so far, the rights they grant together, and the
    /// access bits of the page-fault error code (SDM Vol. 3A 4.7).
    private struct Walk {
        var entries: [(address: UInt64, value: UInt64)] = []
        var rights = GuestPageRights(user: true, writable: true, executeDisable: false)
        var errorBase: UInt32
    }

    /// Translates `linear` for an access of `kind`; `user` is a user-mode access (CPL 3 and not
    /// an implicit supervisor access). `setFlags`: set accessed/dirty flags (false for probes).
    /// The paging mode (SDM Vol. 3A 4.1.1) chooses the walk: none without CR0.PG, 32-bit paging
    /// without CR4.PAE, else PAE or 4-/5-level paging.
    func translate(_ linear: UInt64, kind: AccessKind, user: Bool, setFlags: Bool = true) -> LinearTranslation {
        guard pagingEnabled else {
            let address = longMode ? linear : linear & 0xFFFF_FFFF
            return finish(
                guestPhysical: address, kind: kind, rights: .unpaged, user: user, dirty: true, setFlags: setFlags)
        }
        var errorBase: UInt32 = (kind == .write ? PageFaultError.write : 0) | (user ? PageFaultError.user : 0)
        if kind == .fetch && (nxe || smep) { errorBase |= PageFaultError.fetch }
        let walk = Walk(errorBase: errorBase)
        return pae
            ? translateWide(linear, walk, kind: kind, user: user, setFlags: setFlags)
            : translate32Bit(linear, walk, kind: kind, user: user, setFlags: setFlags)
    }

    /// Reads the paging-structure entry at guest-physical `address` through the EPT (SDM
    /// 29.3.2): 8 bytes (`wide`) or 4 for 32-bit paging.
    private enum EntryRead { case success(UInt64), failure(LinearTranslation) }
    private func readEntry(_ address: UInt64, wide: Bool, setFlags: Bool) -> EntryRead {
        switch translateGuestPhysical(address, access: .read, setFlags: setFlags) {
        case .translated(let host, _):
            return .success(wide ? memory.read64(host) : UInt64(memory.read32(host)))
        case .violation(let allowed):
            return .failure(
                .eptViolation(
                    guestPhysical: address, access: .read, allowed: allowed,
                    translatedAddress: false, guestPage: nil))
        case .misconfiguration:
            return .failure(.eptMisconfiguration(guestPhysical: address))
        }
    }

    /// Records `entry` in the walk and narrows the rights by its R/W, U/S and XD bits (SDM 4.6).
    private func accumulate(_ entry: UInt64, at address: UInt64, into walk: inout Walk) {
        walk.entries.append((address, entry))
        let flags = PageTableEntry(rawValue: entry)
        if !flags.contains(.readWrite) { walk.rights.writable = false }
        if !flags.contains(.userSupervisor) { walk.rights.user = false }
        if nxe && flags.contains(.executeDisable) { walk.rights.executeDisable = true }
    }

    /// 32-bit paging (SDM Vol. 3A 4.3): CR3 -> PDE (a 4-MiB page with CR4.PSE and PS) -> PTE.
    private func translate32Bit(
        _ linear: UInt64, _ start: Walk, kind: AccessKind, user: Bool,
        setFlags: Bool
    ) -> LinearTranslation {
        var walk = start
        let directory = cr3 & PageFrame.addressMask32
        let pdeAddress = directory + ((linear >> 22) & PagingStructure.indexMask32) * 4
        let pde: UInt64
        switch readEntry(pdeAddress, wide: false, setFlags: setFlags) {
        case .success(let value): pde = value
        case .failure(let failure): return failure
        }
        guard pde & PageTableEntry.present.rawValue != 0 else { return .pageFault(errorCode: walk.errorBase) }
        accumulate(pde, at: pdeAddress, into: &walk)
        if pde & PageTableEntry.pageSize.rawValue != 0 && cr4 & ControlRegister4.pse.rawValue != 0 {
            // PSE-36: bits 20:13 give physical-address bits 39:32; bit 21 reserved.
            let high = ((pde >> 13) & 0xFF) << 32
            if pde & PagingStructure.largePageReserved32 != 0
                || high & ~maxPhysicalMask != 0 && physicalAddressWidth < 40
            {
                return .pageFault(errorCode: walk.errorBase | PageFaultError.present | PageFaultError.reserved)
            }
            let address = (pde & PagingStructure.largePageFrame32) | high | (linear & PagingStructure.largePageOffset32)
            return check(
                guestPhysical: address, entries: walk.entries, rights: walk.rights, kind: kind, user: user,
                errorBase: walk.errorBase, setFlags: setFlags)
        }
        let pteAddress = (pde & PageFrame.addressMask32) + ((linear >> 12) & PagingStructure.indexMask32) * 4
        let pte: UInt64
        switch readEntry(pteAddress, wide: false, setFlags: setFlags) {
        case .success(let value): pte = value
        case .failure(let failure): return failure
        }
        guard pte & PageTableEntry.present.rawValue != 0 else { return .pageFault(errorCode: walk.errorBase) }
        accumulate(pte, at: pteAddress, into: &walk)
        return check(
            guestPhysical: (pte & PageFrame.addressMask32) | (linear & PageFrame.offsetMask),
            entries: walk.entries, rights: walk.rights, kind: kind, user: user, errorBase: walk.errorBase,
            setFlags: setFlags)
    }

    /// PAE paging (SDM Vol. 3A 4.4: a PDPTE register, then PDE and PTE) and 4-level and 5-level
    /// paging (4.5: CR3, then PML5E, PML4E, PDPTE, PDE, PTE), with 8-byte entries whose reserved
    /// bits fault (4.4.2, 4.5.4).
    private func translateWide(
        _ linear: UInt64, _ start: Walk, kind: AccessKind, user: Bool,
        setFlags: Bool
    ) -> LinearTranslation {
        var walk = start
        // Reserved bits of 64-bit entries: above MAXPHYADDR (bits 51:M), and bit 63 without NXE.
        let reservedHigh = PageFrame.addressMask & ~maxPhysicalMask | (nxe ? 0 : PageTableEntry.executeDisable.rawValue)
        var table: UInt64
        var level: Int
        if longMode {
            let fiveLevel = cr4 & ControlRegister4.la57.rawValue != 0
            level = fiveLevel ? 5 : 4
            table = cr3 & maxPhysicalMask
        } else {
            // PAE: the PDPTE registers (SDM 4.4.1) select the page directory.
            let pdpte = pdptes[Int((linear >> 30) & 3)]
            guard pdpte & PageTableEntry.present.rawValue != 0 else { return .pageFault(errorCode: walk.errorBase) }
            level = 2
            table = pdpte & maxPhysicalMask
        }
        while true {
            let shift = UInt64(12 + 9 * (level - 1))
            let entryAddress = table + ((linear >> shift) & PagingStructure.indexMask) * 8
            let entry: UInt64
            switch readEntry(entryAddress, wide: true, setFlags: setFlags) {
            case .success(let value): entry = value
            case .failure(let failure): return failure
            }
            guard entry & PageTableEntry.present.rawValue != 0 else { return .pageFault(errorCode: walk.errorBase) }
            let large = entry & PageTableEntry.pageSize.rawValue != 0
            var reserved = entry & reservedHigh != 0
            if large && level >= 4 { reserved = true }  // PS in a PML4E/PML5E is reserved
            if large && level == 3 && entry & PagingStructure.largePageReserved1GB != 0 { reserved = true }
            if large && level == 2 && entry & PagingStructure.largePageReserved2MB != 0 { reserved = true }
            if reserved {
                return .pageFault(errorCode: walk.errorBase | PageFaultError.present | PageFaultError.reserved)
            }
            accumulate(entry, at: entryAddress, into: &walk)
            if level == 1 || (large && level <= 3) {
                let frame = entry & maxPhysicalMask & ~((UInt64(1) << shift) - 1)
                return check(
                    guestPhysical: frame | (linear & ((UInt64(1) << shift) - 1)), entries: walk.entries,
                    rights: walk.rights, kind: kind, user: user, errorBase: walk.errorBase, setFlags: setFlags)
            }
            table = entry & maxPhysicalMask
            level -= 1
        }
    }

    /// The access-rights check of SDM 4.6, then the accessed/dirty flags, then the EPT
    /// translation of the final guest-physical address.
    private func check(
        guestPhysical: UInt64, entries: [(address: UInt64, value: UInt64)], rights: GuestPageRights,
        kind: AccessKind, user: Bool, errorBase: UInt32, setFlags: Bool
    ) -> LinearTranslation {
        let protection = errorBase | PageFaultError.present
        switch kind {
        case .read:
            if user && !rights.user { return .pageFault(errorCode: protection) }
        case .write:
            if user && (!rights.user || !rights.writable) { return .pageFault(errorCode: protection) }
            if !user && !rights.writable && writeProtect { return .pageFault(errorCode: protection) }
        case .fetch:
            if rights.executeDisable { return .pageFault(errorCode: protection) }
            if user && !rights.user { return .pageFault(errorCode: protection) }
            if !user && rights.user && smep { return .pageFault(errorCode: protection) }
        }
        let leaf = entries.last
        let dirty = leaf.map { $0.value & PageTableEntry.dirty.rawValue != 0 } ?? true
        if setFlags {
            // Accessed flags on every entry, dirty on the leaf for a write (SDM 4.8). They are
            // writes to guest paging structures, translated through the EPT as such.
            for (address, value) in entries {
                var updated = value | PageTableEntry.accessed.rawValue
                if kind == .write && address == leaf?.address { updated |= PageTableEntry.dirty.rawValue }
                if updated != value {
                    switch translateGuestPhysical(address, access: .write, setFlags: true) {
                    case .translated(let host, _):
                        if pae {
                            memory.write64(host, updated)
                        } else {
                            memory.write32(host, UInt32(truncatingIfNeeded: updated))
                        }
                    case .violation(let allowed):
                        return .eptViolation(
                            guestPhysical: address, access: .write, allowed: allowed, translatedAddress: false,
                            guestPage: nil)
                    case .misconfiguration:
                        return .eptMisconfiguration(guestPhysical: address)
                    }
                }
            }
        }
        return finish(
            guestPhysical: guestPhysical, kind: kind, rights: rights, user: user,
            dirty: dirty || kind == .write, setFlags: setFlags)
    }

    private func finish(
        guestPhysical: UInt64, kind: AccessKind, rights: GuestPageRights, user: Bool, dirty: Bool,
        setFlags: Bool
    ) -> LinearTranslation {
        switch translateGuestPhysical(guestPhysical, access: kind, setFlags: setFlags) {
        case .translated(let host, let eptAllowed):
            // What the TLB entry may allow at this privilege without another walk.
            var allowed: AccessRights = []
            if !user || rights.user { allowed.insert(.read) }
            if dirty && (user ? rights.user && rights.writable : rights.writable || !writeProtect) {
                allowed.insert(.write)
            }
            if !rights.executeDisable && (user ? rights.user : !(rights.user && smep && pagingEnabled)) {
                allowed.insert(.execute)
            }
            allowed.formIntersection(eptAllowed)
            return .translated(guestPhysical: guestPhysical, hostPhysical: host, allowed: allowed, guestPage: rights)
        case .violation(let allowed):
            return .eptViolation(
                guestPhysical: guestPhysical, access: kind, allowed: allowed, translatedAddress: true,
                guestPage: rights)
        case .misconfiguration:
            return .eptMisconfiguration(guestPhysical: guestPhysical)
        }
    }
}
