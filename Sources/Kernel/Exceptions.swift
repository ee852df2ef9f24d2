// What happens when the processor raises an exception in the kernel: the stub in
// boot/interrupts.asm saves the registers and calls `kernel_exception`, which prints the
// vector and its name, the error code, RIP, CS, RFLAGS, RSP, SS, CR2 and every general-purpose
// register, then stops the machine with a failure status. On an application processor the
// report is shorter, names the processor, and only that processor stops (Processors.swift).
// Nothing here allocates: the exception may come from the heap itself.
import Hypervisor
import Intrinsics
import VMX

enum ExceptionVector {
    static let doubleFault = 8
    static let nmi = 2
    static let machineCheck = 18

    /// Mnemonic and name (SDM Vol. 3A Table 6-1).
    static func name(_ vector: UInt64) -> StaticString {
        switch vector {
        case 0: return "#DE divide error"
        case 1: return "#DB debug"
        case 2: return "NMI non-maskable interrupt"
        case 3: return "#BP breakpoint"
        case 4: return "#OF overflow"
        case 5: return "#BR BOUND range exceeded"
        case 6: return "#UD invalid opcode"
        case 7: return "#NM device not available"
        case 8: return "#DF double fault"
        case 9: return "coprocessor segment overrun"
        case 10: return "#TS invalid TSS"
        case 11: return "#NP segment not present"
        case 12: return "#SS stack-segment fault"
        case 13: return "#GP general protection"
        case 14: return "#PF page fault"
        case 16: return "#MF x87 floating-point error"
        case 17: return "#AC alignment check"
        case 18: return "#MC machine check"
        case 19: return "#XM SIMD floating-point exception"
        case 20: return "#VE virtualization exception"
        case 21: return "#CP control protection"
        case 28: return "#HV hypervisor injection"
        case 29: return "#VC VMM communication"
        case 30: return "#SX security exception"
        default: return "reserved"
        }
    }
}

/// Set while an exception is being reported on the BSP, so that a fault inside the report
/// stops at once (each AP has its own flag).
nonisolated(unsafe) private var reportingException = false

@_cdecl("kernel_exception")
public func kernelException(_ frame: UnsafePointer<ExceptionFrame>) -> Never {
    let f = frame.pointee
    // An AP's GS base points at its block, whose first quadword points at itself; read from
    // the MSR, so that a fault before GS base is set cannot pass for one.
    let gsBase = x86_rdmsr(Processors.gsBaseMSR)
    if Processors.perCPUReady, gsBase != 0, gsBase == x86_read_gs_quadword0() {
        let me = PerCPU(address: gsBase)
        if me.index != 0 { reportExceptionOnAP(me, f) }
    }
    if reportingException {
        log("FATAL: exception \(Int(f.vector)) while reporting an exception")
        exitMachine(success: false)
    }
    reportingException = true

    log(
        """
        FATAL: exception \(Int(f.vector)) \(ExceptionVector.name(f.vector)), error code \
        \(hex: f.errorCode, digits: 8) at RIP \(hex: f.rip, digits: 16)
        """
    )
    log("  CS=\(hex: f.cs, digits: 4) RFLAGS=\(hex: f.rflags, digits: 16) CR2=\(hex: x86_read_cr2(), digits: 16)")
    log("  SS=\(hex: f.ss, digits: 4) RSP=\(hex: f.rsp, digits: 16) CR3=\(hex: x86_read_cr3(), digits: 16)")
    log("  RAX=\(hex: f.rax, digits: 16) RBX=\(hex: f.rbx, digits: 16) RCX=\(hex: f.rcx, digits: 16)")
    log("  RDX=\(hex: f.rdx, digits: 16) RSI=\(hex: f.rsi, digits: 16) RDI=\(hex: f.rdi, digits: 16)")
    log("  RBP=\(hex: f.rbp, digits: 16) R8=\(hex: f.r8, digits: 16) R9=\(hex: f.r9, digits: 16)")
    log("  R10=\(hex: f.r10, digits: 16) R11=\(hex: f.r11, digits: 16) R12=\(hex: f.r12, digits: 16)")
    log("  R13=\(hex: f.r13, digits: 16) R14=\(hex: f.r14, digits: 16) R15=\(hex: f.r15, digits: 16)")
    log(
        """
          CR0=\(hex: x86_read_cr0(), digits: 16) CR4=\(hex: x86_read_cr4(), digits: 16) \
        EFER=\(hex: x86_rdmsr(MSR.ia32EFER), digits: 16)
        """
    )
    exitMachine(success: false)
}

/// An exception on an AP: two lines that name the processor (its registers matter less than on
/// the BSP: the other processors go on); it gives back the heap if it held it and halts.
func reportExceptionOnAP(_ me: PerCPU, _ f: ExceptionFrame) -> Never {
    if me[word: PerCPU.reportingOffset] != 0 { Processors.halt() }
    me[word: PerCPU.reportingOffset] = 1
    Heap.releaseLock(ifHeldBy: me.index)
    log(
        """
        cpu \(me.index) (APIC ID \(me.apicID)): FATAL: exception \(Int(f.vector)) \
        \(ExceptionVector.name(f.vector)), error code \(hex: f.errorCode, digits: 8) at RIP \
        \(hex: f.rip, digits: 16), CR2=\(hex: x86_read_cr2(), digits: 16), RSP=\(hex: f.rsp, digits: 16)
        """
    )
    log(
        """
        cpu \(me.index) (APIC ID \(me.apicID)): halted and left \
        out\(me[word: PerCPU.vmxRootOffset] != 0 ? " (in VMX root operation)" : ""); the other processors go on
        """
    )
    me.state = APState.leftOut
    me.command = 0
    Processors.halt()
}
