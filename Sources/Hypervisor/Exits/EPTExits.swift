// EPT violations and misconfigurations, exit reasons 48 and 49 (SDM 29.3.3). EPT maps exactly
// the memory a guest was given (and a real-mode guest's read/execute reset-vector page); pages
// reserved for first touch (`touch=`) are mapped at their first violation and the guest
// retries the access. Any other violation is an access to memory the guest was not given or a
// write to its read-only page:
// it is decoded (Table 28-7: the access, what the EPT entries allowed, the guest-physical
// address 2400H and, where valid, the guest-linear address 640AH) and the guest is stopped.
// A misconfiguration is a bug in the hypervisor's tables: the guest-physical address is
// reported and the guest stopped.
import VMX

public func handleEPTViolation<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    // A page reserved for the guest's first touch (`touch=`): mapped, and the access retried.
    if let ept = vcpu.memory.ept, ept.mapOnFirstTouch(vcpu.read(.guestPhysicalAddress), cpu: vcpu.cpu) {
        return .resume
    }
    let address = logEPTViolation(vcpu, exit)
    return .stop(.eptViolation(guestPhysicalAddress: address))
}

/// The violation's line: the access, the addresses, what the EPT entries allowed. Returns the
/// guest-physical address.
@discardableResult
func logEPTViolation<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: ExitContext) -> UInt64 {
    let q = EPTViolationQualification(rawValue: exit.qualification)
    let address = vcpu.read(.guestPhysicalAddress)
    var text = LogText()
    text.append(
        "guest \(vcpu.name): EPT violation at RIP \(hex: exit.rip): \(eptAccess: q) of guest-physical \(hex: address)")
    if q.isGuestLinearAddressValid {
        let linear = vcpu.read(.guestLinearAddress)
        text.append(
            """
             (linear \(hex: linear), \
            \(q.isAccessToTranslatedAddress ? "the translated address" : "a paging-structure entry"))
            """
        )
    }
    text.append("; page \(eptRights: q)")
    vcpu.cpu.log(LogMessage(stringInterpolation: text))
    return address
}

public func handleEPTMisconfiguration<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let address = vcpu.read(.guestPhysicalAddress)
    vcpu.cpu.log("guest \(vcpu.name): EPT misconfiguration at guest-physical \(hex: address), RIP \(hex: exit.rip)")
    return .stop(.eptMisconfiguration(guestPhysicalAddress: address))
}

extension LogText {
    /// "read", "write", "instruction fetch", or several joined with "+".
    public mutating func appendInterpolation(eptAccess q: EPTViolationQualification) {
        var first = true
        func part(_ on: Bool, _ name: StaticString, _ text: inout LogText) {
            guard on else { return }
            if !first { text.appendLiteral("+") }
            text.appendLiteral(name)
            first = false
        }
        part(q.isDataRead, "read", &self)
        part(q.isDataWrite, "write", &self)
        part(q.isInstructionFetch, "instruction fetch", &self)
        if first { appendLiteral("access") }
    }

    /// "not present", or the rights as "r-x" (readable, writable, executable).
    public mutating func appendInterpolation(eptRights q: EPTViolationQualification) {
        if q.wasNotPresent { appendLiteral("not present"); return }
        appendLiteral(q.wasReadable ? "r" : "-")
        appendLiteral(q.wasWritable ? "w" : "-")
        appendLiteral(q.wasExecutable ? "x" : "-")
    }
}
