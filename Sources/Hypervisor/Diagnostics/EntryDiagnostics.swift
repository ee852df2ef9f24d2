// Why a VM entry failed, in the SDM's words (docs/DIAGNOSTICS.md). When VMLAUNCH or VMRESUME
// fails - VMfailValid, or a VM exit with bit 31 of the exit reason set (SDM 27.8) - the shared
// rule list runs on the live VMCS and every failing rule is printed: rule, SDM section, field
// name and encoding, value, expectation; then the VMCS dump. With the boot option
// `check-entry` the rules also run before every VMLAUNCH and print what they predict.
import VMX

public enum EntryDiagnostics {
    /// `check-entry`: run the rules before every VMLAUNCH. Set once at boot, before any guest
    /// runs, and only read afterwards.
    nonisolated(unsafe) public static var checksBeforeLaunch = false
}

/// Before a VMLAUNCH (boot option `check-entry`): the rules' prediction and any failing rule.
public func checkEntryBeforeLaunch<P: Host>(_ vcpu: VirtualCPU<P>) {
    let report = runEntryRules(vcpu)
    emitLine(
        "guest " + vcpu.name.escaped + ": check-entry: the VM-entry rules predict " + report.outcome.summary,
        cpu: vcpu.cpu)
    printFailures(report, cpu: vcpu.cpu)
}

/// VMLAUNCH or VMRESUME failed with VMfailInvalid or VMfailValid (SDM 31.3).
public func reportFailedEntry<P: Host>(_ vcpu: VirtualCPU<P>, failure: VMFailure, launch: Bool) {
    let instruction = launch ? "VMLAUNCH" : "VMRESUME"
    switch failure {
    case .invalid:
        emitLine(
            "guest " + vcpu.name.escaped + ": " + instruction
                + " failed: VMfailInvalid (CF = 1): no current VMCS, so no error number and no rules to run",
            cpu: vcpu.cpu)
    case .valid(let error):
        emitLine(
            "guest " + vcpu.name.escaped + ": " + instruction
                + String(text: " failed: VMfailValid, VM-instruction error \(error.rawValue): ") + error.description,
            cpu: vcpu.cpu)
        explain(vcpu)
    }
}

/// The VM entry failed after the controls and host state passed: a VM exit with bit 31 set,
/// basic reason 33 (guest state), 34 (MSR loading) or 41 (machine check) (SDM 27.8).
public func reportFailedEntry<P: Host>(_ vcpu: VirtualCPU<P>, exit: ExitContext) {
    emitLine(
        String(
            text: """
                guest \(vcpu.name.escaped): VM-entry failure: exit reason \(exit.reason.basicReason) \
                (\(exit.reason.basic.name ?? "not defined by the SDM")), exit qualification \(exit.qualification)
                """)
            + entryFailureQualificationMeaning(reason: exit.reason, qualification: exit.qualification), cpu: vcpu.cpu)
    explain(vcpu)
}

/// What the exit qualification of a failed entry says (SDM 27.8).
func entryFailureQualificationMeaning(reason: ExitReason, qualification: UInt64) -> String {
    if reason.basic == .entryFailureMSRLoading {
        return String(text: " (entry \(qualification) of the VM-entry MSR-load list)")
    }
    guard reason.basic == .entryFailureGuestState else { return "" }
    switch qualification {
    case EntryFailureQualification.pdpteLoading: return " (loading the PDPTEs)"
    case EntryFailureQualification.nmiInjectionWithBlockingBySTI: return " (NMI injection with blocking by STI)"
    case EntryFailureQualification.vmcsLinkPointer: return " (invalid VMCS link pointer)"
    default: return " (default)"
    }
}

/// The failing rules on the live VMCS, then the VMCS dump.
func explain<P: Host>(_ vcpu: VirtualCPU<P>) {
    let report = runEntryRules(vcpu)
    if report.succeeds {
        emitLine(
            "  no rule of the list fails on this VMCS (a check the list does not model, docs/ENTRY-CHECKS.md)",
            cpu: vcpu.cpu)
    } else {
        emitLine("  the VM-entry rules predict " + report.outcome.summary + "; failing rules:", cpu: vcpu.cpu)
    }
    printFailures(report, cpu: vcpu.cpu)
    dumpVMCS(cpu: vcpu.cpu)
}

func runEntryRules<P: Host>(_ vcpu: VirtualCPU<P>) -> EntryCheckReport {
    let capabilities = VMXCapabilities.read(from: vcpu.cpu)
    return checkVMEntry(liveEntryCheckInput(capabilities: capabilities, vmcs: vcpu.vmcs, cpu: vcpu.cpu))
}

func printFailures<P: Host>(_ report: EntryCheckReport, cpu: P) {
    for failure in report.failures { emitLine("  " + failure.description, cpu: cpu) }
}
