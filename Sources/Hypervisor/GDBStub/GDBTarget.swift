// What the stub debugs: one guest processor, as an abstract target. The guest run loop
// implements it over the VMCS (RIP, RSP, RFLAGS, segments, control registers), the saved GPRs,
// and guest memory through the guest's paging and EPT; the hosted tests implement it over
// plain arrays. Software breakpoints are the stub's own business (it writes INT3 through
// `writeMemory`); hardware breakpoints need the guest's debug registers, so the target sets them.

/// The guest's mode, which picks the target description gdb receives (`qXfer:features:read`)
/// and so the register layout of `g`/`G`/`p`/`P`.
public enum GDBArchitecture: Sendable, Equatable {
    /// IA-32e mode with a 64-bit code segment: gdb's i386:x86-64, 64-bit registers.
    case x86_64
    /// Protected mode (or compatibility mode): gdb's i386, 32-bit registers.
    case i386
    /// Real mode (CR0.PE = 0): gdb's i8086, 32-bit registers, 16-bit disassembly. gdb uses
    /// addresses as they are; it does not add the CS base, so code away from CS = 0 shows
    /// wrongly.
    case i8086
}

/// The registers the stub asks for, in x86 terms. Numbers 0-15 are the x86 encoding of the GPRs
/// (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15) as in `GuestRegisters`.
public enum X86Register: UInt8, CaseIterable, Sendable {
    case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15
    case rip, rflags
    case cs, ss, ds, es, fs, gs
    case fsBase, gsBase
    case cr0, cr2, cr3, cr4, cr8, efer
}

public protocol GDBTarget {
    var architecture: GDBArchitecture { get }

    /// The register's value, or nil when the target cannot tell (gdb shows it as unavailable).
    func readRegister(_ register: X86Register) -> UInt64?
    /// Writes a register; false when it cannot (the stub answers with an error).
    mutating func writeRegister(_ register: X86Register, _ value: UInt64) -> Bool

    /// Reads guest memory at a linear address (through the guest's paging, then EPT) into
    /// `buffer`, stopping at the first byte that is not mapped; returns how many bytes it read.
    mutating func readMemory(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int
    /// Writes guest memory at a linear address, stopping at the first byte that is not mapped
    /// or not writable through EPT; returns how many bytes it wrote.
    mutating func writeMemory(at address: UInt64, from bytes: UnsafeRawBufferPointer) -> Int

    /// Sets an instruction breakpoint in a free debug register (DR0-DR3 with DR7, SDM Vol. 3B
    /// 19.2); false when all are in use.
    mutating func insertHardwareBreakpoint(at address: UInt64) -> Bool
    /// Clears the debug register that holds `address`; false when none does.
    mutating func removeHardwareBreakpoint(at address: UInt64) -> Bool
}
