// The debugger's view of the current vCPU. gdb cannot execute VMREAD (it stops the machine, not
// the hypervisor), so at every VM exit the run loop copies the guest state worth seeing into a
// fixed block of memory that the gdb helpers (tools/gdb/swiftvmx.py, `vmx-state`) and Bochs'
// debugger (`xp`) read. In the kernel the block is `swiftvmx_debug_snapshot` (boot/debug.asm),
// 512 bytes of .bss; hosted tests put it anywhere in the emulated CPU's memory.
//
// Layout: 8-byte little-endian slots, slot n at byte offset 8 * n (`Slot`). tools/gdb/swiftvmx.py
// holds the same list; Tests/EmulatedCPUTests/DebugSnapshotTests.swift checks that they agree.
//
//   slot  what
//   0     magic "SVMXSNAP"
//   1     layout version (bits 31:0) and size in bytes (bits 63:32)
//   2     sequence: odd while `record` writes, even when the block is consistent
//   3     VM exits recorded since `beginGuest`
//   4     detail: 1 = VMREAD the guest-state and exit-information fields at every exit,
//         0 = only what the run loop already has (reason, qualification, RIP, GPRs); a debugger
//         may write it
//   5     physical address of the current VMCS
//   6     physical address of the exit statistics page (ExitStatistics), 0 if none
//   7-10  the guest's name, UTF-8, NUL-padded (32 bytes)
//   11-29 exit reason, qualification, guest RIP, then the VMCS fields of `Slot` 14-29
//   30-45 the guest's GPRs in GuestRegisters order (slot 34, RSP's number, stays 0)
import VMX

public struct DebugSnapshot: Sendable {
    public static let magic: UInt64 = 0x5041_4E53_584D_5653  // "SVMXSNAP"
    public static let version: UInt64 = 1
    /// The slots, in layout order.
    public enum Slot: Int, CaseIterable, Sendable {
        case magic = 0, versionAndSize, sequence, exitsRecorded, detail, vmcs, exitStatistics
        case guestName0, guestName1, guestName2, guestName3
        case exitReason, exitQualification, guestRIP
        case guestRSP, guestRFLAGS, guestCR0, guestCR3, guestCR4, guestIA32EFER
        case guestCSSelector, guestCSAccessRights
        case guestPhysicalAddress, guestLinearAddress
        case exitInterruptionInformation, exitInterruptionErrorCode, idtVectoringInformation
        case exitInstructionLength, guestInterruptibilityState, guestActivityState
        case rax, rcx, rdx, rbx, unusedRSP, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15

        public var offset: UInt64 { UInt64(rawValue) * 8 }
    }
    public static let byteCount = UInt64(Slot.r15.rawValue + 1) * 8
    /// Room reserved for the block in the kernel (boot/debug.asm): later versions may grow.
    public static let reservedBytes: UInt64 = 512
    public static let nameBytes = 32

    /// The VMCS fields read at every exit when detail is 1, each into its slot.
    public static let vmcsFields: [(Slot, VMCSField)] = [
        (.guestRSP, .guestRSP), (.guestRFLAGS, .guestRFLAGS),
        (.guestCR0, .guestCR0), (.guestCR3, .guestCR3), (.guestCR4, .guestCR4),
        (.guestIA32EFER, .guestIA32EFER),
        (.guestCSSelector, .guestCSSelector), (.guestCSAccessRights, .guestCSAccessRights),
        (.guestPhysicalAddress, .guestPhysicalAddress), (.guestLinearAddress, .guestLinearAddress),
        (.exitInterruptionInformation, .vmExitInterruptionInformation),
        (.exitInterruptionErrorCode, .vmExitInterruptionErrorCode),
        (.idtVectoringInformation, .idtVectoringInformation),
        (.exitInstructionLength, .vmExitInstructionLength),
        (.guestInterruptibilityState, .guestInterruptibilityState),
        (.guestActivityState, .guestActivityState)
    ]

    /// Address of the block (physical; the kernel's identity map makes it the virtual one too).
    public let base: UInt64

    /// Zeroes the block at `base` and writes its header; detail starts at `detail`.
    public init<P: Processor>(base: UInt64, cpu: P, detail: Bool = true) {
        self.base = base
        cpu.zeroPhysical(base, count: Int(Self.byteCount))
        cpu.writePhysical64(base + Slot.magic.offset, Self.magic)
        cpu.writePhysical64(base + Slot.versionAndSize.offset, Self.version | Self.byteCount << 32)
        cpu.writePhysical64(base + Slot.detail.offset, detail ? 1 : 0)
    }

    @inline(__always)
    private func write<P: Processor>(_ slot: Slot, _ value: UInt64, _ cpu: P) {
        cpu.writePhysical64(base + slot.offset, value)
    }

    /// The run loop starts (or switches to) a guest: its name, its VMCS and its statistics page.
    /// Clears the exit slots so that nothing of the previous guest is shown as this one's.
    public func beginGuest<P: Processor>(name: String, vmcs: UInt64, exitStatistics: UInt64, cpu: P) {
        let sequence = cpu.readPhysical64(base + Slot.sequence.offset)
        write(.sequence, sequence | 1, cpu)
        cpu.zeroPhysical(base + Slot.exitsRecorded.offset, count: 8)
        cpu.zeroPhysical(base + Slot.guestName0.offset, count: Int(Self.byteCount - Slot.guestName0.offset))
        write(.vmcs, vmcs, cpu)
        write(.exitStatistics, exitStatistics, cpu)
        var word: UInt64 = 0
        var index = 0
        for byte in name.utf8.prefix(Self.nameBytes) {
            word |= UInt64(byte) << UInt64(8 * (index % 8))
            index += 1
            if index % 8 == 0 {
                cpu.writePhysical64(base + Slot.guestName0.offset + UInt64(index - 8), word)
                word = 0
            }
        }
        if index % 8 != 0 {
            cpu.writePhysical64(base + Slot.guestName0.offset + UInt64(index & ~7), word)
        }
        write(.sequence, (sequence | 1) &+ 1, cpu)
    }

    /// Records one VM exit: what the run loop read (reason, qualification, RIP) and the guest's
    /// GPRs, and, when detail is 1, the VMCS fields of `vmcsFields` (a field the CPU lacks reads
    /// as 0). Call it after the exit's VMREADs and before its handler runs.
    public func record<P: Processor>(
        reason: UInt32, qualification: UInt64, rip: UInt64,
        registers: GuestRegisters, cpu: P
    ) {
        let sequence = cpu.readPhysical64(base + Slot.sequence.offset)
        write(.sequence, sequence | 1, cpu)
        write(.exitReason, UInt64(reason), cpu)
        write(.exitQualification, qualification, cpu)
        write(.guestRIP, rip, cpu)
        if cpu.readPhysical64(base + Slot.detail.offset) != 0 {
            for (slot, field) in Self.vmcsFields {
                write(slot, (try? cpu.vmread(field)) ?? 0, cpu)
            }
        }
        for number in 0..<16 {
            cpu.writePhysical64(base + Slot.rax.offset + UInt64(number) * 8, number == 4 ? 0 : registers[number])
        }
        write(.exitsRecorded, cpu.readPhysical64(base + Slot.exitsRecorded.offset) &+ 1, cpu)
        write(.sequence, (sequence | 1) &+ 1, cpu)
    }

    /// One slot's value (tests and the kernel's own reports).
    public func value<P: Processor>(_ slot: Slot, cpu: P) -> UInt64 {
        cpu.readPhysical64(base + slot.offset)
    }
}
