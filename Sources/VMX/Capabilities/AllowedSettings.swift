// Allowed settings of a VMX control field, as a capability MSR reports them, and the
// algorithm that turns the controls a VMM wants into a value VM entry accepts.
//
// SDM A.3-A.5: for a 32-bit control field the capability MSR's bits 31:0 are the allowed
// 0-settings (bit X = 1: control X must be 1) and bits 63:32 the allowed 1-settings (bit 32+X
// = 0: control X must be 0). VM entry fails when a control violates either (SDM 27.2.1.1,
// 27.2.1.2, 27.2.1.3). The 64-bit fields (tertiary processor-based controls, secondary VM-exit
// controls, VM-function controls) have only an allowed-1 mask: any of their bits may be 0
// (SDM A.3.4, A.4.2, A.11).

/// What a capability MSR allows for one control bit.
public enum ControlBitState: Equatable, Sendable {
    /// The control must be 0.
    case notAllowed
    /// The control may be 0 or 1.
    case allowed
    /// The control must be 1.
    case forcedToOne

    /// What allowed 0-settings `mustBeOne` and allowed 1-settings `mayBeOne` (as masks) allow
    /// for `bit`. A bit that must be 1 is forced to 1 even if the allowed 1-settings
    /// (inconsistently) clear it: VM entry could not succeed with it 0.
    public init(bit: Int, mustBeOne: UInt64, mayBeOne: UInt64) {
        let mask = UInt64(1) << UInt64(bit)
        self = mustBeOne & mask != 0 ? .forcedToOne : mayBeOne & mask != 0 ? .allowed : .notAllowed
    }

    /// The wording of the capability report.
    public var description: String {
        switch self {
        case .notAllowed: return "not allowed"
        case .allowed: return "allowed"
        case .forcedToOne: return "forced to 1"
        }
    }
}

/// The allowed 0- and 1-settings of one control field.
public struct AllowedSettings<Controls: VMXControlField>: Equatable, Sendable {
    /// Controls that must be 1: the allowed 0-settings (bits set here may not be 0).
    public var mustBeOne: Controls
    /// Controls that may be 1: the allowed 1-settings (bits clear here must be 0).
    public var mayBeOne: Controls

    public init(mustBeOne: Controls, mayBeOne: Controls) {
        self.mustBeOne = mustBeOne
        self.mayBeOne = mayBeOne
    }

    /// Decodes a capability MSR of a 32-bit control field: allowed 0-settings in bits 31:0,
    /// allowed 1-settings in bits 63:32 (SDM A.3.1, A.3.2, A.3.3, A.4.1, A.5).
    public init(msr value: UInt64) {
        self.init(mustBeOne: Controls(mask: value & 0xFFFF_FFFF), mayBeOne: Controls(mask: value >> 32))
    }

    /// Decodes a capability MSR that is a 64-bit allowed-1 mask with no allowed 0-settings
    /// (SDM A.3.4 IA32_VMX_PROCBASED_CTLS3, A.4.2 IA32_VMX_EXIT_CTLS2, A.11 IA32_VMX_VMFUNC).
    public init(allowed1 value: UInt64) {
        self.init(mustBeOne: Controls(rawValue: 0), mayBeOne: Controls(mask: value))
    }

    /// Settings that allow nothing: what a field has when its capability MSR does not exist
    /// (its "activate" control may not be 1, so none of its controls can be used).
    public static var none: Self { Self(mustBeOne: Controls(rawValue: 0), mayBeOne: Controls(rawValue: 0)) }

    /// What the settings allow for `bit` (`ControlBitState(bit:mustBeOne:mayBeOne:)`).
    public func state(ofBit bit: Int) -> ControlBitState {
        ControlBitState(bit: bit, mustBeOne: mustBeOne.mask, mayBeOne: mayBeOne.mask)
    }

    /// Whether every control in `controls` may be 1.
    public func allowsOne(_ controls: Controls) -> Bool { mayBeOne.isSuperset(of: controls) }

    /// Whether every control in `controls` may be 0.
    public func allowsZero(_ controls: Controls) -> Bool { mustBeOne.isDisjoint(with: controls) }

    /// The controls of `value` that break the settings: bits that must be 1 but are 0, and
    /// bits that are 1 but must be 0. Empty when VM entry's check of this field passes.
    public func violations(of value: Controls) -> Controls {
        mustBeOne.subtracting(value).union(value.subtracting(mayBeOne))
    }

    /// Whether `value` passes the allowed 0- and 1-settings.
    public func permits(_ value: Controls) -> Bool { violations(of: value).isEmpty }

    /// SDM 32.5.1 "Algorithms for Determining VMX Capabilities", algorithm 3 (and A.2): start
    /// from the controls the VMM needs (`required`) and would like (`desired`), keep those the
    /// processor allows to be 1, and set every control the processor forces to 1. A control
    /// that may be 0 or 1 is set only when asked for, except a default1-class bit the SDM
    /// does not name (its meaning is unknown to this VMM), which keeps its default 1. With a
    /// TRUE capability MSR the named default1 controls (CR3-load/-store exiting, save/load
    /// debug controls) that may be 0 stay 0 unless asked for.
    public func adjust(required: Controls, desired: Controls = Controls(rawValue: 0)) -> ControlAdjustment<Controls> {
        let wanted = required.union(desired)
        let unknownDefaultOne = Controls(mask: Controls.defaultOneBits.mask & ~Controls.namedMask)
        let value = wanted.union(unknownDefaultOne).intersection(mayBeOne).union(mustBeOne)
        return ControlAdjustment(
            value: value,
            givenUp: desired.subtracting(required).subtracting(mayBeOne),
            missingRequired: required.subtracting(mayBeOne),
            forced: value.subtracting(wanted))
    }
}

/// The result of `AllowedSettings.adjust`: a valid value and what it could not honour.
public struct ControlAdjustment<Controls: VMXControlField>: Equatable, Sendable {
    /// The control value to write: it passes the allowed 0- and 1-settings.
    public var value: Controls
    /// Desired controls the processor does not allow to be 1: left 0, the VMM does without.
    public var givenUp: Controls
    /// Required controls the processor does not allow to be 1: the VMM cannot go on.
    public var missingRequired: Controls
    /// Controls set to 1 without being asked for: forced by the processor, or default1 bits of
    /// unknown meaning.
    public var forced: Controls

    /// Whether every required control could be had.
    public var hasAllRequired: Bool { missingRequired.isEmpty }
}
