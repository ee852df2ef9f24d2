// Bit sets whose bits the SDM names: the VMX control fields (SDM 25.6-25.8), the VM-function
// controls, the EPT/VPID capabilities (SDM Appendix A.10) and CR0/CR4 (SDM Vol. 3A 2.5).
// The names are the SDM's own words, so the capability report and error messages can quote them.

/// One named bit of a register or field: its position and the SDM's name for it.
public struct NamedBit: Equatable, Sendable {
    public let bit: Int
    public let name: String
    public init(_ bit: Int, _ name: String) {
        self.bit = bit
        self.name = name
    }
    /// The bit as a mask.
    public var mask: UInt64 { UInt64(1) << UInt64(bit) }

    /// Byte-wise: String's own `==` normalizes Unicode, which would pull the Unicode data
    /// tables into the Embedded kernel; the SDM's names are ASCII.
    public static func == (lhs: NamedBit, rhs: NamedBit) -> Bool {
        lhs.bit == rhs.bit && lhs.name.utf8.elementsEqual(rhs.name.utf8)
    }
}

/// An `OptionSet` of at most 64 bits with a table of the bits the SDM names.
public protocol NamedBits: OptionSet, Sendable
where RawValue: FixedWidthInteger & UnsignedInteger & Sendable, Element == Self {
    /// Every bit the SDM names, in ascending bit order.
    static var namedBits: [NamedBit] { get }
}

extension NamedBits {
    /// The width of the field in bits (32 or 64).
    public static var bitWidth: Int { RawValue.bitWidth }

    /// All named bits as one mask.
    public static var namedMask: UInt64 {
        var mask: UInt64 = 0
        for entry in namedBits { mask |= entry.mask }
        return mask
    }

    /// The SDM's name of `bit`, or nil when the SDM names no such bit.
    public static func sdmName<I: BinaryInteger>(ofBit bit: I) -> String? {
        for entry in namedBits where entry.bit == Int(bit) { return entry.name }
        return nil
    }

    /// The SDM's name of `bit`, or "bit N" when it has none (for one-line messages).
    public static func name<I: BinaryInteger>(ofBit bit: I) -> String {
        sdmName(ofBit: bit) ?? "bit \(Int(bit))"
    }

    /// The set's bits as a 64-bit mask.
    public var mask: UInt64 { UInt64(truncatingIfNeeded: rawValue) }

    /// The set made of the bits of `mask` that fit the field.
    public init(mask: UInt64) {
        self.init(rawValue: RawValue(truncatingIfNeeded: mask))
    }

    /// The names of the set's bits, ascending; unnamed bits appear as "bit N".
    public var names: [String] {
        var result: [String] = []
        var remaining = mask
        while remaining != 0 {
            let bit = remaining.trailingZeroBitCount
            result.append(Self.name(ofBit: bit))
            remaining &= remaining &- 1
        }
        return result
    }
}

/// A VMX control field whose allowed settings a capability MSR reports (SDM Appendix A.2-A.5,
/// A.11).
public protocol VMXControlField: NamedBits {
    /// The reserved bits of the "default1" class (SDM A.2): they must be 1 unless a TRUE
    /// capability MSR says otherwise. Empty for fields without such a class.
    static var defaultOneBits: Self { get }
    /// The SDM's name of the field, e.g. "pin-based VM-execution controls".
    static var fieldName: String { get }
}

extension VMXControlField {
    public static var defaultOneBits: Self { Self(rawValue: 0) }
}
