// VMREAD and VMWRITE (SDM 31.3; 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields").
//
// Whether a component exists is decided field by field from the profile's captured field set
// (the encodings VMREAD accepted on the real CPU), not from IA32_VMX_VMCS_ENUM alone; malformed
// encodings (reserved bits, or a high access to a field that is not 64 bits wide) do not exist
// either. Both fail with VM-instruction error 12. Widths: a 16-bit or 32-bit field keeps the low
// bits of what is written and reads zero-extended; a 64-bit field's high access reads and writes
// its bits 63:32; outside 64-bit mode the operand is 32 bits, so a read returns bits 31:0 and a
// full write to a 64-bit or natural-width field clears bits 63:32 (as Bochs implements it).
import VMX

extension EmulatedCPU {
    public func vmread(_ field: VMCSField) throws(VMFailure) -> UInt64 {
        begin(.vmread)
        guard case .execute = admit(.vmread) else { return 0 }
        guard let vmcs = currentVMCS else { throw vmFailInvalid() }
        guard let slot = supportedSlot(field) else { throw vmFail(.unsupportedVMCSComponent) }
        var value = vmcs.fields[slot]
        if field.isHigh { value >>= 32 }
        if !in64BitMode { value &= 0xFFFF_FFFF }
        vmSucceed()
        return value
    }

    public func vmwrite(_ field: VMCSField, _ value: UInt64) throws(VMFailure) {
        begin(.vmwrite)
        guard case .execute = admit(.vmwrite) else { return }
        guard let vmcs = currentVMCS else { throw vmFailInvalid() }
        guard let slot = supportedSlot(field) else { throw vmFail(.unsupportedVMCSComponent) }
        // VM-exit information fields are read-only unless IA32_VMX_MISC[29] = 1 (SDM A.6).
        if field.isReadOnly && !(capabilities?.misc.allowsVMWRITEToAnyField ?? false) {
            throw vmFail(.vmwriteToReadOnlyComponent)
        }
        let operand = in64BitMode ? value : value & 0xFFFF_FFFF
        if field.isHigh {
            vmcs.fields[slot] = (vmcs.fields[slot] & 0xFFFF_FFFF) | (operand & 0xFFFF_FFFF) << 32
        } else {
            vmcs.fields[slot] = operand & VMCSLayout.mask(for: field.width)
        }
        vmSucceed()
    }

    /// The storage slot of `field` when this CPU supports it; nil for error 12. Constant time.
    @inline(__always)
    func supportedSlot(_ field: VMCSField) -> Int? {
        guard let slot = layout.slot(of: field), supportedFields[slot] else { return nil }
        return slot
    }

    /// Whether VMREAD/VMWRITE accept `field` on this CPU.
    public func supports(_ field: VMCSField) -> Bool { supportedSlot(field) != nil }
}
