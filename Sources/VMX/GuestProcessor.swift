// The part of the seam that runs guests (docs/ARCHITECTURE.md, "Entering the guest").
//
// `Processor` covers VMX root operation; a processor that can also run a guest conforms to
// `GuestProcessor`: VMLAUNCH/VMRESUME as one call that returns at the next VM exit, VMREAD and
// VMWRITE for the exit path, INVEPT and INVVPID, the time-stamp counter, the debug registers,
// port I/O and device-register accesses. Conformers: the kernel's `RealProcessor` (nasm stub
// boot/vmx.asm) and the emulated CPU. What the machine around the processor offers (console,
// host timer, debugger hook, benchmark entry) is the Hypervisor module's `Host`.

/// The guest's general-purpose registers that a VM exit does not save in the VMCS: all but
/// RSP, which is the guest-state field "Guest RSP" (SDM 25.4.1). RIP and RFLAGS are VMCS
/// fields as well.
///
/// The layout is fixed: the VM-entry/exit stub (boot/vmx.asm) loads and stores the registers
/// at these byte offsets, in the order of the x86 register numbers (the encoding the exit
/// qualifications use, SDM Table 28-3), with the slot of RSP (number 4) unused:
///
///     0 RAX   8 RCX  16 RDX  24 RBX  32 (RSP, unused)  40 RBP  48 RSI  56 RDI
///    64 R8   72 R9   80 R10  88 R11  96 R12  104 R13  112 R14  120 R15
///
/// 128 bytes in all.
@frozen
public struct GuestRegisters: Equatable, Sendable {
    public var rax: UInt64 = 0
    public var rcx: UInt64 = 0
    public var rdx: UInt64 = 0
    public var rbx: UInt64 = 0
    /// Slot 4 keeps the x86 numbering; the guest's RSP lives in the VMCS.
    public var unusedRSPSlot: UInt64 = 0
    public var rbp: UInt64 = 0
    public var rsi: UInt64 = 0
    public var rdi: UInt64 = 0
    public var r8: UInt64 = 0
    public var r9: UInt64 = 0
    public var r10: UInt64 = 0
    public var r11: UInt64 = 0
    public var r12: UInt64 = 0
    public var r13: UInt64 = 0
    public var r14: UInt64 = 0
    public var r15: UInt64 = 0

    public init() {}

    /// Size of the structure the stub works on.
    public static let byteCount = 128

    /// Register `number` in the x86 encoding (0 RAX, 1 RCX, 2 RDX, 3 RBX, 5 RBP, 6 RSI,
    /// 7 RDI, 8-15 R8-R15). Number 4 (RSP) is not here: callers read "Guest RSP" instead.
    public subscript(number: Int) -> UInt64 {
        get {
            switch number & 15 {
            case 0: return rax
            case 1: return rcx
            case 2: return rdx
            case 3: return rbx
            case 4: return unusedRSPSlot
            case 5: return rbp
            case 6: return rsi
            case 7: return rdi
            case 8: return r8
            case 9: return r9
            case 10: return r10
            case 11: return r11
            case 12: return r12
            case 13: return r13
            case 14: return r14
            default: return r15
            }
        }
        set {
            switch number & 15 {
            case 0: rax = newValue
            case 1: rcx = newValue
            case 2: rdx = newValue
            case 3: rbx = newValue
            case 4: unusedRSPSlot = newValue
            case 5: rbp = newValue
            case 6: rsi = newValue
            case 7: rdi = newValue
            case 8: r8 = newValue
            case 9: r9 = newValue
            case 10: r10 = newValue
            case 11: r11 = newValue
            case 12: r12 = newValue
            case 13: r13 = newValue
            case 14: r14 = newValue
            default: r15 = newValue
            }
        }
    }
}

/// The INVEPT types (SDM 31.3 INVEPT; supported types in IA32_VMX_EPT_VPID_CAP bits 25-26).
public enum INVEPTType: UInt64, Sendable {
    /// Invalidates mappings derived from one EPTP.
    case singleContext = 1
    /// Invalidates mappings derived from all EPTPs.
    case allContext = 2
}

/// The INVVPID types (SDM 31.3 INVVPID; supported types in IA32_VMX_EPT_VPID_CAP bits 40-43).
public enum INVVPIDType: UInt64, Sendable {
    case individualAddress = 0
    case singleContext = 1
    case allContext = 2
    case singleContextRetainingGlobals = 3
}

public protocol GuestProcessor: Processor {
    /// Enters the guest of the current VMCS with VMLAUNCH (`launch`) or VMRESUME, with the
    /// general-purpose registers from `registers`, and returns at the next VM exit with the
    /// guest's registers saved back. A VM-entry failure that loads host state (exit reason
    /// bit 31, SDM 27.8) returns the same way. VMfailInvalid and VMfailValid (SDM 31.3
    /// VMLAUNCH/VMRESUME) throw; the registers are unchanged then.
    ///
    /// Whatever else the guest may change and the VM exit does not switch is kept apart as
    /// well: the x87/SSE state (the kernel's Swift code uses SSE registers) is the guest's
    /// while it runs and the host's again when this returns; a launch gives the guest a clean
    /// x87/SSE state (FNINIT, MXCSR 1F80H, XMM registers zero).
    func enterGuest(_ registers: inout GuestRegisters, launch: Bool) throws(VMFailure)

    /// VMREAD on a VM exit's path, of a field that exists on a current VMCS: the caller has no
    /// outcome to check. Should it fail all the same (a handler reading a field this processor
    /// lacks), the result is 0 and the failure is not silent: the emulated CPU reports it like
    /// a fault (a hosted test on any captured profile fails), the debug kernel writes a console
    /// line naming the field; the release kernel executes VMREAD alone, keeping the exit path
    /// short.
    func vmreadField(_ field: VMCSField) -> UInt64

    /// VMWRITE on a VM exit's path, of a field that exists and accepts the value (guest RIP as
    /// an instruction is skipped): no outcome to check; a failure is reported as for
    /// `vmreadField`.
    func vmwriteField(_ field: VMCSField, _ value: UInt64)

    /// INVEPT with descriptor (EPTP, 0) (SDM 31.3).
    func invept(type: INVEPTType, eptp: UInt64) throws(VMFailure)

    /// INVVPID with descriptor (VPID, 0, linear address) (SDM 31.3).
    func invvpid(type: INVVPIDType, vpid: UInt16, address: UInt64) throws(VMFailure)

    /// The time-stamp counter (RDTSC).
    func readTimestampCounter() -> UInt64

    /// MOV from DR0-DR3 (`number` 0-3): the guest's breakpoint addresses, which VM entry and
    /// exit do not switch (the host leaves them to the guest). The default is 0 (no debug
    /// registers to read).
    func readDebugRegister(_ number: Int) -> UInt64

    // MARK: Port I/O and bulk memory, for a pass-through guest

    /// IN of `size` bytes (1, 2 or 4) from `port`: what a pass-through guest's intercepted
    /// access reads when the hypervisor performs it on the real port.
    func readPort(_ port: UInt16, size: Int) -> UInt32
    /// OUT of the low `size` bytes (1, 2 or 4) of `value` to `port`.
    func writePort(_ port: UInt16, size: Int, _ value: UInt32)
    /// Copies `count` bytes of physical memory from `source` to `destination` (the ranges do
    /// not overlap): loading a kernel of megabytes byte by byte through the seam is slow. The
    /// default copies eight bytes at a time through readPhysical64/writePhysical64.
    func copyPhysical(from source: UInt64, to destination: UInt64, count: UInt64)
    /// A 32-bit access to a device register (I/O APIC, local APIC, HPET): exactly one access
    /// of exactly four bytes. The default is readPhysical32/writePhysical32.
    func readMMIO32(_ address: UInt64) -> UInt32
    func writeMMIO32(_ address: UInt64, _ value: UInt32)
}

extension GuestProcessor {
    public func readDebugRegister(_ number: Int) -> UInt64 { 0 }

    public func readMMIO32(_ address: UInt64) -> UInt32 { readPhysical32(address) }
    public func writeMMIO32(_ address: UInt64, _ value: UInt32) { writePhysical32(address, value) }

    public func copyPhysical(from source: UInt64, to destination: UInt64, count: UInt64) {
        var offset: UInt64 = 0
        while offset + 8 <= count {
            writePhysical64(destination + offset, readPhysical64(source + offset))
            offset += 8
        }
        while offset < count {
            let word = readPhysical32((source + offset) & ~3)
            let byte = UInt8(truncatingIfNeeded: word >> (((source + offset) & 3) * 8))
            let target = (destination + offset) & ~3, shift = ((destination + offset) & 3) * 8
            writePhysical32(target, (readPhysical32(target) & ~(UInt32(0xFF) << shift)) | UInt32(byte) << shift)
            offset += 1
        }
    }
}
