// Translating a guest-physical address through the EPT paging structures the EPTP names
// (SDM 29.3.2 "EPT Translation Mechanism"), with the conditions for EPT misconfigurations and
// EPT violations (SDM 29.3.3). Entries are read from (and accessed/dirty flags written to) the
// emulated physical memory, where the hypervisor built them.

import VMX

/// Read, write, execute: what an access needs, or what EPT entries allow.
struct AccessRights: OptionSet, Equatable {
    let rawValue: UInt8
    static let read = AccessRights(rawValue: 1)
    static let write = AccessRights(rawValue: 2)
    static let execute = AccessRights(rawValue: 4)
}

/// The kind of a memory access (SDM 28.2.1 Table 28-7 bits 2:0).
enum AccessKind: Equatable {
    case read, write, fetch

    var rights: AccessRights {
        switch self {
        case .read: return .read
        case .write: return .write
        case .fetch: return .execute
        }
    }
}

enum EPTTranslation: Equatable {
    /// The access is allowed: `hostPhysical` is the translation, `allowed` the AND of the
    /// permissions of every entry walked.
    case translated(hostPhysical: UInt64, allowed: AccessRights)
    /// EPT violation (SDM 29.3.3.2): a not-present entry (allowed empty) or an access the
    /// entries do not allow.
    case violation(allowed: AccessRights)
    /// EPT misconfiguration (SDM 29.3.3.1).
    case misconfiguration
}

struct EPTWalker {
    var eptPointer: UInt64
    var capabilities: EPTVPIDCapabilitiesSubset
    var physicalAddressWidth: Int
    let memory: PhysicalMemory

    /// The EPT capabilities the walk depends on (IA32_VMX_EPT_VPID_CAP).
    struct EPTVPIDCapabilitiesSubset {
        var executeOnly: Bool
        var pages2MB: Bool
        var pages1GB: Bool
        var accessedAndDirty: Bool
    }

    /// Bits 51:N of an entry, N the physical-address width: reserved in every entry.
    private var reservedAddressBits: UInt64 {
        physicalAddressWidth >= 52 ? 0 : ((UInt64(1) << 52) - 1) & ~((UInt64(1) << UInt64(physicalAddressWidth)) - 1)
    }

    /// Translates `address` for `access`. `setFlags`: set the accessed (and for writes dirty)
    /// flags when EPTP[6] enables them (SDM 29.3.5); a probe that must not change memory passes
    /// false.
    func translate(_ address: UInt64, access: AccessKind, setFlags: Bool = true) -> EPTTranslation {
        let levels = (eptPointer >> 3) & 7 == 4 ? 5 : 4
        var table = eptPointer & PageFrame.addressMask
        var allowed: AccessRights = [.read, .write, .execute]
        var walked: [UInt64] = []
        for level in stride(from: levels, through: 1, by: -1) {
            let index = (address >> UInt64(12 + 9 * (level - 1))) & PagingStructure.indexMask
            let entryAddress = table + index * 8
            let entry = memory.read64(entryAddress)
            let rights = AccessRights(rawValue: UInt8(entry & 7))
            if rights.isEmpty { return .violation(allowed: []) }
            // SDM 29.3.3.1: write-only and write/execute, execute-only without support.
            if rights.contains(.write) && !rights.contains(.read) { return .misconfiguration }
            if rights == .execute && !capabilities.executeOnly { return .misconfiguration }
            if entry & reservedAddressBits != 0 { return .misconfiguration }
            allowed.formIntersection(rights)
            walked.append(entryAddress)
            let largePage = entry & EPTEntry.pageSize != 0
            let isLeaf: Bool
            switch level {
            case 5, 4:
                // PML5E, PML4E: bits 7:3 reserved.
                if entry & 0xF8 != 0 { return .misconfiguration }
                isLeaf = false
            case 3:
                if largePage {
                    guard capabilities.pages1GB, entry & EPTEntry.reservedIn1GBPage == 0 else {
                        return .misconfiguration
                    }
                    isLeaf = true
                } else {
                    if entry & 0xF8 != 0 { return .misconfiguration }
                    isLeaf = false
                }
            case 2:
                if largePage {
                    guard capabilities.pages2MB, entry & EPTEntry.reservedIn2MBPage == 0 else {
                        return .misconfiguration
                    }
                    isLeaf = true
                } else {
                    if entry & 0xF8 != 0 { return .misconfiguration }
                    isLeaf = false
                }
            default:
                isLeaf = true
            }
            if isLeaf {
                // The EPT memory type (bits 5:3): 2, 3 and 7 are reserved.
                switch (entry >> 3) & 7 {
                case 2, 3, 7: return .misconfiguration
                default: break
                }
                guard allowed.contains(access.rights) else { return .violation(allowed: allowed) }
                let pageBits = UInt64(12 + 9 * (level - 1))
                let frame = entry & PageFrame.addressMask & ~((UInt64(1) << pageBits) - 1)
                if setFlags && capabilities.accessedAndDirty && eptPointer & EPTPointer.accessedAndDirtyFlags != 0 {
                    for walkedEntry in walked {
                        memory.write64(walkedEntry, memory.read64(walkedEntry) | EPTEntry.accessed)
                    }
                    if access == .write, let leaf = walked.last {
                        memory.write64(leaf, memory.read64(leaf) | EPTEntry.dirty)
                    }
                }
                return .translated(hostPhysical: frame | (address & ((UInt64(1) << pageBits) - 1)), allowed: allowed)
            }
            table = entry & PageFrame.addressMask
        }
        return .violation(allowed: [])
    }
}
