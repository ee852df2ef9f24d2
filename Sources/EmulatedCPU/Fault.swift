// Faults the emulated CPU raises instead of completing an instruction (SDM Vol. 3A 6.15,
// "Exception and Interrupt Reference"; the conditions are in each instruction's pseudo-code,
// SDM 31.3 for the VMX instructions).
//
// Faults are not results of the Processor protocol: correct hypervisor code checks before it
// acts, and in the kernel an unexpected fault ends in the IDT handler. The emulated CPU models
// the fault exactly, records it in `lastFault`, leaves the state as the faulting instruction
// found it, and applies its `faultPolicy`: by default the fault goes to the `faultReporter` the
// test injected (a hosted test of hypervisor code then fails unless it asked for faults; the
// emulated CPU's own tests ask), or stops the process when there is none.
import VMX

/// An exception an instruction raised.
public enum Fault: Equatable, Sendable {
    /// #UD, invalid opcode (vector 6).
    case invalidOpcode
    /// #GP, general protection (vector 13), with its error code (0 for every case modelled).
    case generalProtection(errorCode: UInt32)

    /// #GP(0), the general-protection fault of every VMX instruction check.
    public static let generalProtection0 = Fault.generalProtection(errorCode: 0)

    /// "#UD" or "#GP(0)".
    public var mnemonic: String {
        switch self {
        case .invalidOpcode: return "#UD"
        case .generalProtection(let errorCode): return "#GP(\(errorCode))"
        }
    }
}

/// The instructions the emulated CPU executes on behalf of the Processor protocol.
public enum Instruction: String, Sendable {
    case cpuid = "CPUID"
    case rdmsr = "RDMSR"
    case wrmsr = "WRMSR"
    case movFromCR = "MOV from CR"
    case movToCR = "MOV to CR"
    case vmxon = "VMXON"
    case vmxoff = "VMXOFF"
    case vmclear = "VMCLEAR"
    case vmptrld = "VMPTRLD"
    case vmptrst = "VMPTRST"
    case vmread = "VMREAD"
    case vmwrite = "VMWRITE"
    case vmlaunch = "VMLAUNCH"
    case vmresume = "VMRESUME"
    case invept = "INVEPT"
    case invvpid = "INVVPID"
}

/// What the emulated CPU does besides recording a fault in `lastFault`.
public enum FaultPolicy: Sendable {
    /// Nothing more: the caller asked for faults and inspects `lastFault` (tests of the
    /// emulated CPU itself).
    case expect
    /// Hands the fault's description to `faultReporter` (the default: hypervisor code that
    /// faults is wrong, and a test's reporter makes the running test fail). Without a reporter,
    /// traps like `.trap`.
    case report
    /// Stops the process with the fault's description.
    case trap
}

extension EmulatedCPU {
    /// Raises `fault` for the instruction being executed: records it and applies the policy.
    func raise(_ fault: Fault) {
        lastFault = fault
        lastFaultInstruction = currentInstruction
        applyFaultPolicy(
            "\(currentInstruction.rawValue) raised \(fault.mnemonic) on the emulated CPU (\(profile.name))")
    }

    /// Applies the fault policy to a problem the caller has recorded, described by `message`.
    func applyFaultPolicy(_ message: String) {
        switch faultPolicy {
        case .expect:
            break
        case .report:
            guard let faultReporter else { fatalError(message) }
            faultReporter(message)
        case .trap:
            fatalError(message)
        }
    }
}
