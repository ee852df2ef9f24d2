// What one VMLAUNCH of a scenario came to, printed the same way by both worlds as the single
// line `NAME: OUTCOME` (docs/SCENARIOS.md), so the two can be compared as text.
import VMX

public enum LaunchOutcome: Equatable {
    /// The VM entry succeeded (the guest was stopped at once afterwards).
    case success
    /// VMLAUNCH failed with CF = 1: no current VMCS (SDM 31.2).
    case vmfailInvalid
    /// VMLAUNCH failed with ZF = 1 and this VM-instruction error (SDM 31.4).
    case vmfailValid(VMInstructionError)
    /// The VM entry failed while loading guest state or MSRs: a VM exit with bit 31 set (SDM 27.8).
    case entryFailure(reason: UInt32, qualification: UInt64)
    /// Applying an override already failed: VMWRITE of `field` gave VMfailValid(error).
    case writeFailed(field: VMCSField, error: VMInstructionError)
    /// Kernel only: the file changes what keeps the host alive and the rules predict success.
    case refused

    /// The OUTCOME text: `success`, `vmfail-invalid`, `vmfail-valid N`, `entry-failure R qual Q`,
    /// `write-failed 0xENC vmfail-valid N` or `refused`.
    public var text: String {
        switch self {
        case .success: return "success"
        case .vmfailInvalid: return "vmfail-invalid"
        case .vmfailValid(let error): return String(text: "vmfail-valid \(error.rawValue)")
        case .entryFailure(let reason, let qualification):
            return String(text: "entry-failure \(reason) qual \(qualification)")
        case .writeFailed(let field, let error):
            return String(text: "write-failed \(hex: field.rawValue, digits: 4) vmfail-valid \(error.rawValue)")
        case .refused: return "refused"
        }
    }
}
