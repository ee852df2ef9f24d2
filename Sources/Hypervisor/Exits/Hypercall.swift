// The hypercall ABI, version 1.0 (docs/HYPERCALLS.md). A guest calls with VMCALL (exit reason
// 18; VMCALL always exits in VMX non-root operation, SDM 26.1.2):
//
//   RAX  function number         RBX, RCX, RDX, RSI  arguments
//   RAX  status on return        RBX                 result (where the function has one)
//
// Outside 64-bit mode only the low 32 bits of each register count. Only CPL 0 may call.
import VMX

public enum Hypercall: UInt64, Sendable {
    /// → RAX 0, RBX the ABI version (major << 16 | minor), RCX the signature "SVMX".
    case getVersion = 0
    /// RBX guest-linear address, RCX length (at most 256): prints the bytes as one line.
    case print = 1
    /// RBX exit code: stops the guest ("shut down by the guest, code N").
    case shutDown = 2
    /// RBX vector (32-255): the hypervisor injects that external interrupt as soon as the
    /// guest can take it (RFLAGS.IF = 1, no STI or MOV SS blocking), through interrupt-window
    /// exiting if it cannot yet (a test device).
    case raiseInterrupt = 3
    /// RBX count (1-16): single-steps the guest's next `count` instructions and logs each RIP
    /// (the monitor trap flag where the CPU has it, RFLAGS.TF with #DB interception otherwise).
    case singleStep = 4

    /// Version 1.0.
    public static let abiVersion: UInt32 = 0x0001_0000
    /// "SVMX" in RCX after getVersion.
    public static let signature: UInt32 = 0x584D_5653
    public static let maximumPrintLength: UInt64 = 256

    /// Status codes in RAX.
    public enum Status: UInt64, Sendable {
        case success = 0
        case unknownFunction = 1
        case invalidArgument = 2
        case badAddress = 3
        case notPermitted = 4
    }

    /// The call the guest's registers describe, with its arguments narrowed to 32 bits outside
    /// 64-bit mode.
    public struct Call: Equatable, Sendable {
        public var function: UInt64
        public var arguments: (UInt64, UInt64, UInt64, UInt64)

        public init(registers: GuestRegisters, in64BitMode: Bool) {
            let mask: UInt64 = in64BitMode ? .max : 0xFFFF_FFFF
            function = registers.rax & mask
            arguments = (registers.rbx & mask, registers.rcx & mask, registers.rdx & mask, registers.rsi & mask)
        }

        public var hypercall: Hypercall? { Hypercall(rawValue: function) }

        public static func == (lhs: Call, rhs: Call) -> Bool {
            lhs.function == rhs.function && lhs.arguments == rhs.arguments
        }
    }
}
