// IA32_VMX_BASIC (480H): basic VMX information (SDM A.1).

public struct VMXBasic: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 30:0: the VMCS revision identifier. Bit 31 is always 0; software writes this
    /// value into the first 31 bits of the VMXON region and of every VMCS (SDM 25.2, 25.11.5).
    public var revisionIdentifier: UInt32 { UInt32(truncatingIfNeeded: rawValue) & 0x7FFF_FFFF }

    /// Bits 44:32: the bytes to allocate for the VMXON region and any VMCS region (1 to 4096).
    public var vmcsRegionSize: Int { Int((rawValue >> 32) & 0x1FFF) }

    /// Bit 48: the VMXON region, VMCS regions and the structures they point to must lie below
    /// 4 GiB. Always 0 on processors that support Intel 64 architecture.
    public var physicalAddressesLimitedTo32Bits: Bool { rawValue & (1 << 48) != 0 }

    /// Bit 49: the dual-monitor treatment of SMIs and SMM is supported.
    public var supportsDualMonitorTreatment: Bool { rawValue & (1 << 49) != 0 }

    /// Bits 53:50: the memory type the processor uses to access the VMCS and the structures
    /// referenced by pointers in it.
    public var memoryType: MemoryType { MemoryType(rawValue: UInt8((rawValue >> 50) & 0xF)) }

    /// Bit 54: VM exits due to INS and OUTS report the VM-exit instruction-information field.
    public var reportsINSOUTSInformation: Bool { rawValue & (1 << 54) != 0 }

    /// Bit 55: default1 controls may be 0; the IA32_VMX_TRUE_*_CTLS MSRs exist (SDM A.2).
    public var hasTrueControls: Bool { rawValue & (1 << 55) != 0 }

    /// Bit 56: VM entry may inject a hardware exception with or without an error code
    /// whatever its vector (the error-code consistency checks of SDM 27.2.1.3 are relaxed).
    public var allowsErrorCodeLessInjection: Bool { rawValue & (1 << 56) != 0 }

    /// A memory type as IA32_VMX_BASIC encodes it (SDM A.1, Table A-1).
    public struct MemoryType: RawRepresentable, Equatable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let uncacheable = Self(rawValue: 0)
        public static let writeBack = Self(rawValue: 6)

        /// "UC", "WB", or "reserved" for the values Table A-1 does not use.
        public var name: String {
            switch rawValue {
            case 0: return "UC"
            case 6: return "WB"
            default: return "reserved"
            }
        }
    }
}
