// Where the emulated CPU keeps VMCS data. The SDM leaves the format of a VMCS region to the
// implementation apart from its first 8 bytes (SDM 25.2 "Format of the VMCS Region": the
// revision identifier with the shadow-VMCS indicator in bit 31 at offset 0, the VMX-abort
// indicator at offset 4), and lets the processor keep the data of an active VMCS on the chip
// (SDM 25.11.1, 25.11.3: VMCLEAR "ensures that data for the VMCS ... is in the VMCS region").
// So this model has two places:
//   - an active VMCS (made current by VMPTRLD and not cleared since) lives in a table keyed by
//     the region's address, one slot per field, so that VMREAD and VMWRITE are one array
//     access, in constant time whatever the field; writes to the region's memory do not reach it;
//   - VMCLEAR writes the data into the region in physical memory (`VMCSRegionFormat`) and the
//     VMCS becomes inactive; the next VMPTRLD reads it back from memory. A region that software
//     zeroed and gave a revision identifier therefore starts with every field 0, as in Bochs
//     (which keeps all VMCS data in memory), whatever VMCS once lived at that address.
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
        slotMasks = VMCSField.all.map { Self.mask(for: $0.field.width) }
        for field in extraEncodings where field.isWellFormed && slotByKey[Int(field.full.rawValue >> 1)] < 0 {
            slotByKey[Int(field.full.rawValue >> 1)] = Int16(slotCount)
            slotMasks.append(Self.mask(for: field.width))
            slotCount += 1
        }
    }

    /// The bits each slot holds (a field's width).
    private(set) var slotMasks: [UInt64] = []

    private static let definedSlots: [Int16] = {
        // A well-formed encoding has the bits of VMCSField.reservedBits (31:15, 12) clear, so
        // `encoding >> 1` (the access type in bit 0 dropped) is at most 37FFH.
        let slotsByEncoding = Int(~VMCSField.reservedBits & 0xFFFF) >> 1 + 1
        var table = [Int16](repeating: -1, count: slotsByEncoding)
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

/// The implementation-specific contents of one VMCS region while the VMCS is active.
final class VMCSData {
    /// One value per slot of the CPU's `VMCSLayout`, already truncated to the field's width.
    var fields: [UInt64]
    var launchState: EmulatedCPU.LaunchState = .clear
    /// Whether the data lives on the processor (VMPTRLD made it active, no VMCLEAR since);
    /// false: the region in memory holds it (`VMCSRegionFormat`).
    var isActive = false

    init(slotCount: Int) { fields = [UInt64](repeating: 0, count: slotCount) }
}

/// This implementation's format of VMCS data in a region (SDM 25.2 leaves it to the
/// implementation): offset 0 the revision identifier and offset 4 the VMX-abort indicator
/// (software's and the SDM's), offset 8 the launch state (0 clear, 1 launched), then from
/// offset 16 one 8-byte value per slot of the CPU's `VMCSLayout`. A zeroed region holds a
/// clear VMCS with every field 0.
enum VMCSRegionFormat {
    static let launchStateOffset: UInt64 = 8
    static let fieldsOffset: UInt64 = 16
    static let launched: UInt64 = 1

    /// Whether `slotCount` fields fit in a region of `regionSize` bytes (IA32_VMX_BASIC[44:32]).
    static func fits(slotCount: Int, regionSize: Int) -> Bool {
        fieldsOffset + UInt64(slotCount) * 8 <= UInt64(regionSize)
    }
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

extension EmulatedCPU {
    /// Whether this CPU's VMCS data fits in its VMCS region (always for the captured profiles:
    /// 4096 bytes against about 1.5 KiB). If not, the data stays in the table at VMCLEAR.
    var vmcsDataFitsInRegion: Bool {
        VMCSRegionFormat.fits(slotCount: layout.slotCount, regionSize: capabilities?.basic.vmcsRegionSize ?? 0)
    }

    /// The data of the VMCS region at `address` made active (VMPTRLD): the table's entry if
    /// the VMCS is active already, else read from the region in memory.
    func activateVMCS(at address: UInt64) -> VMCSData {
        let data = vmcsRegions[address] ?? VMCSData(slotCount: layout.slotCount)
        vmcsRegions[address] = data
        guard !data.isActive else { return data }
        if vmcsDataFitsInRegion { readVMCSData(data, from: address) }
        data.isActive = true
        return data
    }

    /// VMCLEAR's part on the data (SDM 31.3 VMCLEAR): "ensure that data for VMCS referenced by
    /// the operand is in memory; initialize implementation-specific data in VMCS region;
    /// launch state of VMCS referenced by the operand <- clear". The VMCS is inactive after.
    func clearVMCS(at address: UInt64) {
        let data = vmcsRegions[address] ?? VMCSData(slotCount: layout.slotCount)
        vmcsRegions[address] = data
        if vmcsDataFitsInRegion {
            // An inactive VMCS's data is in memory already; an active one's is written there.
            if data.isActive { writeVMCSData(data, to: address) }
            memory.write64(address &+ VMCSRegionFormat.launchStateOffset, 0)
            data.isActive = false
        }
        data.launchState = .clear
    }

    /// The VMCS data at `address` as the processor sees it now: the active copy, or what the
    /// region in memory holds; nil for a region the CPU never saw.
    func currentData(ofVMCS address: UInt64) -> VMCSData? {
        guard let data = vmcsRegions[address] else { return nil }
        guard !data.isActive, vmcsDataFitsInRegion else { return data }
        let copy = VMCSData(slotCount: layout.slotCount)
        readVMCSData(copy, from: address)
        return copy
    }

    private func readVMCSData(_ data: VMCSData, from address: UInt64) {
        guard memory.contains(address, count: Int(VMCSRegionFormat.fieldsOffset) + layout.slotCount * 8) else { return }
        let masks = layout.slotMasks
        for slot in 0..<layout.slotCount {
            data.fields[slot] =
                memory.read64(address &+ VMCSRegionFormat.fieldsOffset &+ UInt64(slot) * 8) & masks[slot]
        }
        data.launchState =
            memory.read64(address &+ VMCSRegionFormat.launchStateOffset) == VMCSRegionFormat.launched
            ? .launched : .clear
    }

    private func writeVMCSData(_ data: VMCSData, to address: UInt64) {
        guard memory.contains(address, count: Int(VMCSRegionFormat.fieldsOffset) + layout.slotCount * 8) else { return }
        for slot in 0..<layout.slotCount {
            memory.write64(address &+ VMCSRegionFormat.fieldsOffset &+ UInt64(slot) * 8, data.fields[slot])
        }
        memory.write64(
            address &+ VMCSRegionFormat.launchStateOffset,
            data.launchState == .launched ? VMCSRegionFormat.launched : 0)
    }
}
