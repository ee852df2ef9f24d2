// Bit sets whose bits the SDM names: the VMX control fields (SDM 25.6-25.8), the VM-function
// controls, the EPT/VPID capabilities (SDM Appendix A.10) and CR0/CR4 (SDM Vol. 3A 2.5).
// The names are the SDM's own words, so the capability report and error messages can quote them.
// Each bit is declared once, as a static member whose doc comment begins with the SDM's name;
// every type's `namedBits` (NamedBits+Generated.swift) is written from those declarations by
// tools/gen-declarations.

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
    /// The reserved bits of the "default1" class (SDM A.2) of a VMX control field; 0 for
    /// other bit sets (a requirement, so that `VMXControlField` can supply it).
    static var defaultOneMask: UInt64 { get }
}

/// The names of one bit set's bits, apart from its type. The generic conveniences of
/// `NamedBits` forward here, so the code that names bits exists once in the kernel rather than
/// once per field type (Embedded Swift specializes every generic use).
public struct BitNaming: Sendable {
    /// Every bit the SDM names, in ascending bit order.
    public let namedBits: [NamedBit]
    /// The width of the field in bits (32 or 64).
    public let bitWidth: Int
    /// The field's reserved bits of the "default1" class (SDM A.2); 0 for other fields.
    public let defaultOneBits: UInt64

    public init(namedBits: [NamedBit], bitWidth: Int, defaultOneBits: UInt64 = 0) {
        self.namedBits = namedBits
        self.bitWidth = bitWidth
        self.defaultOneBits = defaultOneBits
    }

    /// All named bits as one mask.
    public var namedMask: UInt64 {
        var mask: UInt64 = 0
        for entry in namedBits { mask |= entry.mask }
        return mask
    }

    /// The SDM's name of `bit`, or nil when the SDM names no such bit.
    public func sdmName(ofBit bit: Int) -> String? {
        for entry in namedBits where entry.bit == bit { return entry.name }
        return nil
    }

    /// The SDM's name of `bit`, or "bit N" when it has none (for one-line messages).
    public func name(ofBit bit: Int) -> String {
        sdmName(ofBit: bit) ?? String(text: "bit \(bit)")
    }

    /// The names of the bits of `mask`, ascending; unnamed bits appear as "bit N".
    public func names(of mask: UInt64) -> [String] {
        var result: [String] = []
        var remaining = mask
        while remaining != 0 {
            result.append(name(ofBit: remaining.trailingZeroBitCount))
            remaining &= remaining &- 1
        }
        return result
    }
}

extension NamedBits {
    /// The width of the field in bits (32 or 64).
    public static var bitWidth: Int { RawValue.bitWidth }

    /// This field's bit names as a value (see `BitNaming`).
    public static var naming: BitNaming {
        BitNaming(namedBits: namedBits, bitWidth: bitWidth, defaultOneBits: defaultOneMask)
    }

    public static var defaultOneMask: UInt64 { 0 }

    /// All named bits as one mask.
    public static var namedMask: UInt64 { naming.namedMask }

    /// The SDM's name of `bit`, or nil when the SDM names no such bit.
    public static func sdmName(ofBit bit: Int) -> String? { naming.sdmName(ofBit: bit) }

    /// The SDM's name of `bit`, or "bit N" when it has none (for one-line messages).
    public static func name(ofBit bit: Int) -> String { naming.name(ofBit: bit) }

    /// The set's bits as a 64-bit mask.
    public var mask: UInt64 { UInt64(truncatingIfNeeded: rawValue) }

    /// The set made of the bits of `mask` that fit the field.
    public init(mask: UInt64) {
        self.init(rawValue: RawValue(truncatingIfNeeded: mask))
    }

    /// The names of the set's bits, ascending; unnamed bits appear as "bit N".
    public var names: [String] { Self.naming.names(of: mask) }
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
    public static var defaultOneMask: UInt64 { defaultOneBits.mask }
}
