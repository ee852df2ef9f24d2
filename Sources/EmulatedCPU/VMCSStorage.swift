// Where the emulated CPU keeps VMCS data. The SDM leaves the format of a VMCS region to the
// implementation apart from its first 8 bytes (SDM 25.2 "Format of the VMCS Region": the
// revision identifier with the shadow-VMCS indicator in bit 31 at offset 0, the VMX-abort
// indicator at offset 4). Those 8 bytes live in emulated physical memory; the field values and
// the launch state live in a table keyed by the VMCS region's address, one slot per field, so
// VMREAD and VMWRITE are one array access (the constant-time target).
import VMX

/// The dense numbering of one CPU's VMCS components: slots 0..<179 are the SDM's fields in the
/// order of `VMCSField.all`, then one slot for each other well-formed encoding the profile's
/// CPU accepted (real processors accept a few undocumented ones). The high half of a 64-bit
/// field shares the slot of its full encoding.
struct VMCSLayout {
    /// Slot by bits 14:1 of a well-formed encoding (bit 12 is then 0); -1 for no component.
    private var slotByKey: [Int16]
    private(set) var slotCount: Int

    /// The SDM's fields, plus `extraEncodings` (full encodings the SDM does not define).
    init(extraEncodings: [VMCSField] = []) {
        slotByKey = Self.definedSlots
        slotCount = VMCSField.all.count
        for field in extraEncodings where field.isWellFormed && slotByKey[Int(field.full.rawValue >> 1)] < 0 {
            slotByKey[Int(field.full.rawValue >> 1)] = Int16(slotCount)
            slotCount += 1
        }
    }

    private static let definedSlots: [Int16] = {
        var table = [Int16](repeating: -1, count: 1 << 14)
        for (slot, definition) in VMCSField.all.enumerated() {
            table[Int(definition.field.rawValue >> 1)] = Int16(slot)
        }
        return table
    }()

    /// The slot of `field`, or nil when the encoding is malformed or names no component.
    /// Constant time: two bit tests and one table load.
    @inline(__always)
    func slot(of field: VMCSField) -> Int? {
        guard field.isWellFormed else { return nil }
        let slot = slotByKey[Int(field.rawValue >> 1)]
        return slot < 0 ? nil : Int(slot)
    }

    /// The bits a field of `width` holds.
    @inline(__always)
    static func mask(for width: VMCSField.Width) -> UInt64 {
        switch width {
        case .sixteenBit: return 0xFFFF
        case .thirtyTwoBit: return 0xFFFF_FFFF
        case .sixtyFourBit, .naturalWidth: return .max
        }
    }
}

extension EmulatedCPU {
    /// The launch state of a VMCS (SDM 25.1 "Overview", Figure 25-1).
    public enum LaunchState: Equatable, Sendable {
        case clear
        case launched
    }
}

/// The implementation-specific contents of one VMCS region.
final class VMCSData {
    /// One value per slot of the CPU's `VMCSLayout`, already truncated to the field's width.
    var fields: [UInt64]
    var launchState: EmulatedCPU.LaunchState = .clear

    init(slotCount: Int) { fields = [UInt64](repeating: 0, count: slotCount) }
}

extension EmulatedCPU {
    /// The value of `field` (full width; a high access gives bits 63:32) in `vmcs`, 0 for a
    /// field this CPU has no slot for.
    func value(of field: VMCSField, in vmcs: VMCSData) -> UInt64 {
        guard let slot = layout.slot(of: field) else { return 0 }
        return field.isHigh ? vmcs.fields[slot] >> 32 : vmcs.fields[slot]
    }

    /// Stores `value` in `field` of `vmcs`, truncated to the field's width (internal writes by
    /// the processor itself, e.g. the VM-instruction error and exit-information fields).
    func store(_ value: UInt64, in field: VMCSField, of vmcs: VMCSData) {
        guard let slot = layout.slot(of: field), !field.isHigh else { return }
        vmcs.fields[slot] = value & VMCSLayout.mask(for: field.width)
    }
}
