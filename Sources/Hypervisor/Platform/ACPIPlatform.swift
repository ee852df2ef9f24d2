// Everything the Linux loader takes from the firmware's ACPI tables, in one call: the RSDP
// (for boot_params.acpi_rsdp_addr), the FADT's PM1 control and reset registers, the \_S5
// sleep type for soft-off, and the MADT's processors and I/O APICs.
import VMX

public struct ACPIPlatform: Equatable, Sendable {
    public var rsdp: ACPIRSDP
    public var root: ACPIRootTable
    public var fadt: ACPIFADT
    public var softOff: ACPISleepType
    public var madt: ACPIMADT

    /// Finds the RSDP by the BIOS search and reads the tables; the first problem is the error.
    public static func discover<P: Processor>(cpu: P) throws(ACPIError) -> ACPIPlatform {
        try read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu)
    }

    /// Reads the tables from a known RSDP.
    public static func read<P: Processor>(rsdp: ACPIRSDP, cpu: P) throws(ACPIError) -> ACPIPlatform {
        let root = try ACPIRootTable.read(rsdp: rsdp, cpu: cpu)
        let fadt = try ACPIFADT.read(root: root, cpu: cpu)
        let softOff = try ACPISleepStates.softOff(dsdtAddress: fadt.dsdtAddress, cpu: cpu)
        let madt = try ACPIMADT.read(root: root, cpu: cpu)
        return ACPIPlatform(rsdp: rsdp, root: root, fadt: fadt, softOff: softOff, madt: madt)
    }
}
