// INVEPT and INVVPID (SDM 31.3). The emulated CPU caches no translations, so a successful
// invalidation changes nothing but RFLAGS; what is modelled is which operands fail:
// VM-instruction error 28 for a type IA32_VMX_EPT_VPID_CAP does not report, and for the operand
// checks of each type. Both instructions are #UD where the CPU lacks them (INVEPT: "enable EPT"
// may not be 1 or EPT_VPID_CAP[20] = 0; INVVPID: "enable VPID" may not be 1 or
// EPT_VPID_CAP[32] = 0).
import VMX

extension EmulatedCPU {
    /// INVEPT types (SDM 31.3 INVEPT).
    public enum INVEPTType {
        public static let singleContext: UInt64 = 1
        public static let allContext: UInt64 = 2
    }

    /// INVVPID types (SDM 31.3 INVVPID).
    public enum INVVPIDType {
        public static let individualAddress: UInt64 = 0
        public static let singleContext: UInt64 = 1
        public static let allContext: UInt64 = 2
        public static let singleContextRetainingGlobals: UInt64 = 3
    }

    /// INVEPT with the type in a register and the descriptor's EPTP (bits 63:0 of the 128-bit
    /// descriptor; bits 127:64 are reserved and not checked by the pseudo-code).
    public func invept(type: UInt64, eptPointer: UInt64) throws(VMFailure) {
        begin(.invept)
        let caps = capabilities?.eptVPIDCapabilitiesOrNone ?? EPTVPIDCapabilities(rawValue: 0)
        guard case .execute = admit(.invept, supported: capabilities?.hasINVEPT == true) else { return }
        let supported =
            (type == INVEPTType.singleContext && caps.contains(.singleContextINVEPT))
            || (type == INVEPTType.allContext && caps.contains(.allContextINVEPT))
        guard supported else { throw vmFail(.invalidOperandToINVEPTOrINVVPID) }
        // Single-context: fails when VM entry with "enable EPT" = 1 would fail due to the EPTP.
        if type == INVEPTType.singleContext && !isValidEPTPointer(eptPointer) {
            throw vmFail(.invalidOperandToINVEPTOrINVVPID)
        }
        vmSucceed()
    }

    /// INVVPID with the type in a register and the 128-bit descriptor as its two quadwords:
    /// `vpidQuadword` holds the VPID in bits 15:0 and must be 0 in bits 63:16; `linearAddress` is
    /// bits 127:64.
    public func invvpid(type: UInt64, vpidQuadword: UInt64, linearAddress: UInt64) throws(VMFailure) {
        begin(.invvpid)
        let caps = capabilities?.eptVPIDCapabilitiesOrNone ?? EPTVPIDCapabilities(rawValue: 0)
        guard case .execute = admit(.invvpid, supported: capabilities?.hasINVVPID == true) else { return }
        let supported: Bool
        switch type {
        case INVVPIDType.individualAddress: supported = caps.contains(.individualAddressINVVPID)
        case INVVPIDType.singleContext: supported = caps.contains(.singleContextINVVPID)
        case INVVPIDType.allContext: supported = caps.contains(.allContextINVVPID)
        case INVVPIDType.singleContextRetainingGlobals: supported = caps.contains(.singleContextRetainingGlobalsINVVPID)
        default: supported = false
        }
        guard supported, vpidQuadword >> 16 == 0 else { throw vmFail(.invalidOperandToINVEPTOrINVVPID) }
        let vpid = vpidQuadword & 0xFFFF
        switch type {
        case INVVPIDType.individualAddress:
            guard vpid != 0, isCanonical(linearAddress) else { throw vmFail(.invalidOperandToINVEPTOrINVVPID) }
        case INVVPIDType.singleContext, INVVPIDType.singleContextRetainingGlobals:
            guard vpid != 0 else { throw vmFail(.invalidOperandToINVEPTOrINVVPID) }
        default:
            break
        }
        vmSucceed()
    }

    /// The EPTP checks of VM entry (SDM 27.2.1.1): a memory type the CPU supports for EPT (UC
    /// with EPT_VPID_CAP[8], WB with [14]); a page-walk length of 4 (with [6]) or 5 (with [7]);
    /// bit 6, the accessed and dirty flags, only with [21]; bit 7, supervisor shadow-stack
    /// control, only with [23]; bits 11:8 zero; no bit at or above the physical-address width.
    public func isValidEPTPointer(_ eptp: UInt64) -> Bool {
        let caps = capabilities?.eptVPIDCapabilitiesOrNone ?? EPTVPIDCapabilities(rawValue: 0)
        switch eptp & 0x7 {
        case 0: guard caps.contains(.uncacheableMemoryType) else { return false }
        case 6: guard caps.contains(.writeBackMemoryType) else { return false }
        default: return false
        }
        switch (eptp >> 3) & 0x7 {
        case 3: guard caps.contains(.pageWalkLength4) else { return false }
        case 4: guard caps.contains(.pageWalkLength5) else { return false }
        default: return false
        }
        if eptp & EPTPointer.accessedAndDirtyFlags != 0 && !caps.contains(.accessedAndDirtyFlags) { return false }
        if eptp & EPTPointer.supervisorShadowStack != 0 && !caps.contains(.supervisorShadowStackControl) {
            return false
        }
        return eptp & EPTPointer.reservedBits11To8 == 0 && eptp >> UInt64(physicalAddressWidth) == 0
    }

    /// Whether bits 63:N-1 of `address` are all equal, N being the linear-address width.
    public func isCanonical(_ address: UInt64) -> Bool {
        VMX.isCanonical(address, width: linearAddressWidth)
    }
}
