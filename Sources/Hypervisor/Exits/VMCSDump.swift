// A VMCS dump, printed for every unexpected exit and failed VM entry: every field the SDM
// defines (VMCSField.all) that VMREAD can read on this CPU, grouped by area - controls,
// VM-exit information, guest state, host state (SDM 25.3) - one line each with the SDM's
// name, the encoding and the value. Fields the CPU does not support (VMREAD fails with
// error 12) are left out.
import VMX

public func dumpVMCS<P: GuestProcessor>(cpu: P) {
    let areas: [(VMCSField.FieldType, StaticString)] = [
        (.control, "VMCS dump: control fields"),
        (.vmExitInformation, "VMCS dump: VM-exit information fields"),
        (.guestState, "VMCS dump: guest-state fields"),
        (.hostState, "VMCS dump: host-state fields"),
    ]
    for (type, title) in areas {
        cpu.log("\(title)")
        for definition in VMCSField.all where definition.field.type == type {
            guard let value = try? cpu.vmread(definition.field.rawValue) else { continue }
            cpu.log("  \(definition.name) (\(hex: definition.field.rawValue, digits: 4)) = \(hex: value)")
        }
    }
}
