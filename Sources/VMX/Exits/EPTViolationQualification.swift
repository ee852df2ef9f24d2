// Exit qualification for EPT violations, exit reason 48 (SDM 28.2.1, Table 28-7 "Exit
// Qualification for EPT Violations"). The guest-physical address is in the VM-exit field
// "Guest-physical address" (2400H), the linear address in "Guest-linear address" (640AH)
// when bit 7 says it is valid.

public struct EPTViolationQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    // What the access was (bits 2:0; several may be set).
    /// Bit 0: the access was a data read.
    public var isDataRead: Bool { bit(0) }
    /// Bit 1: the access was a data write.
    public var isDataWrite: Bool { bit(1) }
    /// Bit 2: the access was an instruction fetch.
    public var isInstructionFetch: Bool { bit(2) }

    // What the EPT paging-structure entries allowed (the AND of the entries walked; all 0
    // when the walk met a not-present entry).
    /// Bit 3: the guest-physical address was readable.
    public var wasReadable: Bool { bit(3) }
    /// Bit 4: the guest-physical address was writable.
    public var wasWritable: Bool { bit(4) }
    /// Bit 5: the guest-physical address was executable (for supervisor-mode linear addresses
    /// when "mode-based execute control for EPT" is 1).
    public var wasExecutable: Bool { bit(5) }
    /// Bit 6: executable for user-mode linear addresses ("mode-based execute control" only).
    public var wasUserExecutable: Bool { bit(6) }
    /// Whether the walk met a not-present entry: none of bits 5:3 (and 6) set.
    public var wasNotPresent: Bool { rawValue & 0x78 == 0 }

    /// Bit 7: the guest-linear-address field is valid.
    public var isGuestLinearAddressValid: Bool { bit(7) }
    /// Bit 8 (when bit 7 is set): 1 = the access was to the guest-physical address that a
    /// linear address translates to; 0 = to a guest paging-structure entry during the
    /// translation of a linear address.
    public var isAccessToTranslatedAddress: Bool { bit(8) }
    /// Bit 9 (bits 7 and 8 set, advanced VM-exit information for EPT violations): the linear
    /// address is a user-mode one.
    public var isUserModeLinearAddress: Bool { bit(9) }
    /// Bit 10 (same conditions): guest paging maps the linear address read/write.
    public var isReadWriteLinearAddress: Bool { bit(10) }
    /// Bit 11 (same conditions): guest paging maps the linear address execute-disable.
    public var isExecuteDisableLinearAddress: Bool { bit(11) }
    /// Bit 12: NMI unblocking due to IRET.
    public var isNMIUnblockingDueToIRET: Bool { bit(12) }
    /// Bit 13: the access was a shadow-stack access.
    public var isShadowStackAccess: Bool { bit(13) }
    /// Bit 14: supervisor shadow-stack page (bit 60 of the EPT entry, with the EPTP's
    /// supervisor shadow-stack control).
    public var isSupervisorShadowStackPage: Bool { bit(14) }
    /// Bit 15: caused by guest-paging verification.
    public var isGuestPagingVerification: Bool { bit(15) }
    /// Bit 16: the access was asynchronous to instruction execution, not event delivery.
    public var isAsynchronousToInstruction: Bool { bit(16) }

    /// Bits 63:17 are reserved (cleared to 0).
    public static let reservedBits: UInt64 = ~0x1_FFFF

    /// A qualification from its bits (SDM Table 28-7). Bits 11:9 belong only with bits 7 and 8
    /// and the advanced VM-exit information capability; the caller decides.
    public init(
        read: Bool = false, write: Bool = false, fetch: Bool = false,
        readable: Bool = false, writable: Bool = false, executable: Bool = false,
        linearAddressValid: Bool = false, translatedAddress: Bool = false,
        userModeLinearAddress: Bool = false, readWriteLinearAddress: Bool = false,
        executeDisableLinearAddress: Bool = false
    ) {
        var value: UInt64 = 0
        if read { value |= 1 << 0 }
        if write { value |= 1 << 1 }
        if fetch { value |= 1 << 2 }
        if readable { value |= 1 << 3 }
        if writable { value |= 1 << 4 }
        if executable { value |= 1 << 5 }
        if linearAddressValid { value |= 1 << 7 }
        if translatedAddress { value |= 1 << 8 }
        if userModeLinearAddress { value |= 1 << 9 }
        if readWriteLinearAddress { value |= 1 << 10 }
        if executeDisableLinearAddress { value |= 1 << 11 }
        rawValue = value
    }

    private func bit(_ n: UInt64) -> Bool { rawValue & (1 << n) != 0 }
}
