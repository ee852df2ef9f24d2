// What a pass-through guest's traps take from the firmware's ACPI tables (ACPIPlatform): the
// PM1 control registers and \_S5's sleep type (power-off), the FADT's reset register, the I/O
// APICs (MADT) and the HPET (its table) to quiet afterwards, and the RSDP for the zero page.
import VMX

extension PassThroughPlatform {
    /// The HPET description table: the event timer block's address, a Generic Address
    /// Structure at offset 40 whose address field is at 44 (IA-PC HPET 1.0a, 3.2.4).
    static let hpetSignature = ACPISignature("HPET")
    static let hpetAddressOffset: UInt64 = 44

    /// Fills in the traps from the ACPI tables and returns the RSDP's address; without tables
    /// (or with broken ones) says so in one line: the guest then runs without power-off trap.
    func discover<P: Host>(name: OutsideText, cpu: P) -> UInt64? {
        let acpi: ACPIPlatform
        do { acpi = try ACPIPlatform.discover(cpu: cpu) } catch {
            var text = LogText()
            text.append("guest \(name): ACPI: ")
            error.describe(into: &text)
            text.appendLiteral("; no power-off trap")
            cpu.log(LogMessage(stringInterpolation: text))
            return nil
        }
        func port(_ address: ACPIGenericAddress?) -> UInt16? {
            guard let address, address.addressSpace == ACPIGenericAddress.systemIO, address.address != 0,
                address.address <= UInt64(UInt16.max)
            else { return nil }
            return UInt16(address.address)
        }
        pm1aControl = port(acpi.fadt.pm1aControl)
        pm1bControl = port(acpi.fadt.pm1bControl)
        s5SleepType = acpi.softOff.slpTypA
        resetPort = port(acpi.fadt.resetRegister)
        resetValue = acpi.fadt.resetValue
        ioAPICs = acpi.madt.ioAPICs.map { UInt64($0.address) }
        madt = acpi.madt.table
        if let table = try? acpi.root.find(Self.hpetSignature, minimumLength: Self.hpetAddressOffset + 8, cpu: cpu) {
            hpet = cpu.readPhysical64(table.address + Self.hpetAddressOffset)
        }
        cpu.log(
            """
            guest \(name): ACPI: RSDP \(hex: acpi.rsdp.address), PM1a_CNT \(hex: pm1aControl ?? 0, digits: 4), \
            PM1b_CNT \(hex: pm1bControl ?? 0, digits: 4), \\_S5 SLP_TYP \(acpi.softOff.slpTypA), RESET_REG \
            \(resetPort.map { hex($0, digits: 4) } ?? "none"), \(ioAPICs.count) I/O APIC(s), HPET \(hex: hpet ?? 0)
            """
        )
        return acpi.rsdp.address
    }
}
