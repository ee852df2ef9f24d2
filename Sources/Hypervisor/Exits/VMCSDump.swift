// A VMCS dump, printed for every unexpected exit and failed VM entry, and on demand
// (vmx-entry-check --dump): every field the SDM defines (VMCSField.all) that VMREAD can read on
// this CPU, grouped by area - guest state, host state, controls, VM-exit information (SDM 25.3)
// - one line each with the SDM's name, the encoding and the value. Fields the CPU does not
// support (VMREAD fails with error 12) are left out. The control fields, CR0 and CR4 are
// decoded bit by bit with the SDM's names of their bits (Sources/VMX/Capabilities), unnamed set
// bits as "bit N (reserved)"; the exit reason and the VM-instruction error get their names.
import VMX

public func dumpVMCS<P: Host>(cpu: P) {
    let areas: [(VMCSField.FieldType, StaticString)] = [
        (.guestState, "VMCS dump: guest-state area (SDM 25.4)"),
        (.hostState, "VMCS dump: host-state area (SDM 25.5)"),
        (.control, "VMCS dump: VM-execution, VM-exit and VM-entry control fields (SDM 25.6-25.8)"),
        (.vmExitInformation, "VMCS dump: VM-exit information fields (SDM 25.9)")
    ]
    for (type, title) in areas {
        cpu.log("\(title)")
        for definition in VMCSField.all where definition.field.type == type {
            guard let value = try? cpu.vmread(definition.field) else { continue }
            cpu.log("  \(definition.name) (\(hex: definition.field.rawValue, digits: 4)) = \(hex: value)")
            decodeField(definition.field, value: value, cpu: cpu)
        }
    }
}

/// The bit-by-bit or named decoding of the fields that have one.
@inline(never)
func decodeField<P: Host>(_ field: VMCSField, value: UInt64, cpu: P) {
    switch field {
    case .pinBasedVMExecutionControls: dumpBits(PinBasedControls.naming, value: value, cpu: cpu)
    case .primaryProcessorBasedVMExecutionControls:
        dumpBits(PrimaryProcessorBasedControls.naming, value: value, cpu: cpu)
    case .secondaryProcessorBasedVMExecutionControls:
        dumpBits(SecondaryProcessorBasedControls.naming, value: value, cpu: cpu)
    case .tertiaryProcessorBasedVMExecutionControls:
        dumpBits(TertiaryProcessorBasedControls.naming, value: value, cpu: cpu)
    case .primaryVMExitControls: dumpBits(VMExitControls.naming, value: value, cpu: cpu)
    case .secondaryVMExitControls: dumpBits(SecondaryVMExitControls.naming, value: value, cpu: cpu)
    case .vmEntryControls: dumpBits(VMEntryControls.naming, value: value, cpu: cpu)
    case .vmFunctionControls: dumpBits(VMFunctionControls.naming, value: value, cpu: cpu)
    case .guestCR0, .hostCR0, .cr0GuestHostMask, .cr0ReadShadow:
        dumpBits(ControlRegister0.naming, value: value, cpu: cpu)
    case .guestCR4, .hostCR4, .cr4GuestHostMask, .cr4ReadShadow:
        dumpBits(ControlRegister4.naming, value: value, cpu: cpu)
    case .exitReason:
        cpu.log("    \(ExitReason(rawValue: UInt32(truncatingIfNeeded: value)))")
    case .vmInstructionError where value != 0:
        cpu.log("    \(VMInstructionError(rawValue: UInt32(truncatingIfNeeded: value)).description)")
    default: break
    }
}

/// One line per set bit: "    [N] the SDM's name", or "    [N] bit N (reserved)".
@inline(never)
func dumpBits<P: Host>(_ naming: BitNaming, value: UInt64, cpu: P) {
    var bit = 0
    while bit < naming.bitWidth {
        if value >> UInt64(bit) & 1 != 0 {
            if let name = naming.sdmName(ofBit: bit) {
                cpu.log("    [\(bit)] \(name)")
            } else {
                cpu.log("    [\(bit)] bit \(bit) (reserved)")
            }
        }
        bit += 1
    }
}
