// VMCALL, exit reason 18: the hypercall ABI (Hypercall.swift, docs/HYPERCALLS.md).
import VMX

public func handleVMCALL<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    var status = Hypercall.Status.success
    var action = ExitAction.resume
    // Outside 64-bit mode only bits 31:0 count: the mode is read when RAX's upper half is
    // set, and for the arguments of the calls that take any.
    let rax = vcpu.registers.rax
    let function = rax >> 32 == 0 || vcpu.isIn64BitMode ? rax : rax & UInt64(UInt32.max)
    if vcpu.currentPrivilegeLevel != 0 {
        status = .notPermitted
    } else if let hypercall = Hypercall(rawValue: function) {
        // Read by the calls that take arguments, once each.
        var arguments: (UInt64, UInt64, UInt64, UInt64) {
            Hypercall.Call(registers: vcpu.registers, in64BitMode: vcpu.isIn64BitMode).arguments
        }
        switch hypercall {
        case .getVersion:
            vcpu.registers.rbx = UInt64(Hypercall.abiVersion)
            vcpu.registers.rcx = UInt64(Hypercall.signature)
        case .print:
            let (address, length, _, _) = arguments
            if length > Hypercall.maximumPrintLength {
                status = .invalidArgument
            } else if !vcpu.mayLog(.print) {
                // Counted, not written (GuestLines.swift): the status is the same.
            } else if let bytes = vcpu.readGuest(linear: address, count: Int(length)) {
                bytes.withUnsafeBytes { vcpu.cpu.log("[\(vcpu.name)] \(guestBytes: $0)") }
            } else {
                status = .badAddress
            }
        case .shutDown:
            action = .stop(.shutDown(code: arguments.0))
        // RAISE_INTERRUPT and SINGLE_STEP end here: they act after the skip, with the
        // interruptibility it leaves; the other calls share the tail below.
        case .raiseInterrupt:
            let vector = arguments.0
            if vector < 32 || vector > 255 {
                status = .invalidArgument
            } else {
                vcpu.skipInstruction(exit)
                vcpu.registers.rax = status.rawValue
                vcpu.requestInterrupt(vector: UInt8(vector))
                return .resume
            }
        case .singleStep:
            let count = arguments.0
            if count < 1 || count > 16 {
                status = .invalidArgument
            } else {
                vcpu.skipInstruction(exit)
                vcpu.registers.rax = status.rawValue
                vcpu.startSingleStep(count: Int(count))
                return .resume
            }
        }
    } else {
        status = .unknownFunction
    }
    vcpu.registers.rax = status.rawValue
    vcpu.skipInstruction(exit)
    return action
}
