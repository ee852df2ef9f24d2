// VMX-fixed bits of CR0 and CR4 (SDM A.7, A.8): IA32_VMX_CRn_FIXED0 has a 1 for each bit that
// must be 1 in VMX operation, IA32_VMX_CRn_FIXED1 a 0 for each bit that must be 0. VMXON
// fails with #GP when CR0 or CR4 breaks them (SDM 24.8, 31.3 VMXON), and so does a later
// MOV to CR0/CR4 in VMX root operation.

public struct FixedBits: Equatable, Sendable {
    /// IA32_VMX_CRn_FIXED0: bits that must be 1.
    public var fixed0: UInt64
    /// IA32_VMX_CRn_FIXED1: bits that may be 1 (the others must be 0).
    public var fixed1: UInt64

    public init(fixed0: UInt64, fixed1: UInt64) {
        self.fixed0 = fixed0
        self.fixed1 = fixed1
    }

    /// Bits that must be 1.
    public var mustBeOne: UInt64 { fixed0 }
    /// Bits that must be 0 (all of 63:0 that FIXED1 clears).
    public var mustBeZero: UInt64 { ~fixed1 }
    /// Bits that may be 0 or 1.
    public var free: UInt64 { fixed1 & ~fixed0 }

    /// `value` with the must-be-1 bits set and the must-be-0 bits cleared.
    public func apply(to value: UInt64) -> UInt64 { (value | fixed0) & fixed1 }

    /// The bits of `value` that break the fixed bits.
    public func violations(of value: UInt64) -> FixedBitViolations {
        FixedBitViolations(clearButMustBeOne: fixed0 & ~value, setButMustBeZero: value & ~fixed1)
    }

    /// Whether `value` respects every fixed bit.
    public func permits(_ value: UInt64) -> Bool { violations(of: value).isEmpty }
}

/// The bits of a register value that break its VMX-fixed bits.
public struct FixedBitViolations: Equatable, Sendable {
    /// Bits that are 0 but must be 1 (set in FIXED0).
    public var clearButMustBeOne: UInt64
    /// Bits that are 1 but must be 0 (clear in FIXED1).
    public var setButMustBeZero: UInt64

    public init(clearButMustBeOne: UInt64, setButMustBeZero: UInt64) {
        self.clearButMustBeOne = clearButMustBeOne
        self.setButMustBeZero = setButMustBeZero
    }

    public var isEmpty: Bool { clearButMustBeOne == 0 && setButMustBeZero == 0 }

    /// One line naming the lowest-numbered violating bit, e.g. "CR4.VMXE must be 1
    /// (IA32_VMX_CR4_FIXED0)"; nil when there is none. `register` is "CR0" or "CR4".
    public func firstMessage<Names: NamedBits>(register: String, names: Names.Type) -> String? {
        let all = clearButMustBeOne | setButMustBeZero
        guard all != 0 else { return nil }
        let bit = all.trailingZeroBitCount
        let mustBeOne = clearButMustBeOne & (UInt64(1) << UInt64(bit)) != 0
        let msr = "IA32_VMX_" + register + (mustBeOne ? "_FIXED0" : "_FIXED1")
        return register + "." + Names.name(ofBit: bit) + (mustBeOne ? " must be 1 (" : " must be 0 (") + msr + ")"
    }
}
