// VMCALL, exit reason 18: the hypercall ABI (Hypercall.swift, docs/HYPERCALLS.md).
import VMX

public func handleVMCALL<P: GuestProcessor>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let call = Hypercall.Call(registers: vcpu.registers, in64BitMode: vcpu.isIn64BitMode)
    var status = Hypercall.Status.success
    var action = ExitAction.resume
    if vcpu.currentPrivilegeLevel != 0 {
        status = .notPermitted
    } else if let hypercall = call.hypercall {
        switch hypercall {
        case .getVersion:
            vcpu.registers.rbx = UInt64(Hypercall.abiVersion)
            vcpu.registers.rcx = UInt64(Hypercall.signature)
        case .print:
            let (address, length) = (call.arguments.0, call.arguments.1)
            if length > Hypercall.maximumPrintLength {
                status = .invalidArgument
            } else if let bytes = vcpu.readGuest(linear: address, count: Int(length)) {
                bytes.withUnsafeBytes { vcpu.cpu.log("[\(vcpu.name)] \(guestBytes: $0)") }
            } else {
                status = .badAddress
            }
        case .shutDown:
            action = .stop(.shutDown(code: call.arguments.0))
        case .raiseInterrupt:
            if call.arguments.0 < 32 || call.arguments.0 > 255 { status = .invalidArgument }
        case .singleStep:
            if call.arguments.0 < 1 || call.arguments.0 > 16 { status = .invalidArgument }
        }
    } else {
        status = .unknownFunction
    }
    vcpu.registers.rax = status.rawValue
    vcpu.skipInstruction(exit)
    // After the skip: the interrupt or the single steps begin at the next instruction, with
    // the interruptibility state the skip left.
    if status == .success {
        switch call.hypercall {
        case .raiseInterrupt?: vcpu.requestInterrupt(vector: UInt8(call.arguments.0))
        case .singleStep?: vcpu.startSingleStep(count: Int(call.arguments.0))
        default: break
        }
    }
    return action
}
