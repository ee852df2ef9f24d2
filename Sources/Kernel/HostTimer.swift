// The host timer (Host.armHostTimer): on a CPU without the VMX-preemption timer it
// stops a guest that overruns its time budget. It is the local APIC's timer, one-shot, vector
// 30H, divide by 1 (SDM Vol. 3A 11.5.4 "APIC Timer"): with "external-interrupt exiting" its
// interrupt causes a VM exit (reason 1) and, with "acknowledge interrupt on exit", is
// acknowledged by it; the host, which runs with interrupts off, then writes EOI. The xAPIC
// registers are memory-mapped at IA32_APIC_BASE (identity-mapped below 4 GiB).
//
// Bochs 2.7 deviates from the SDM here (docs/GUESTS.md, "Bochs"): it delivers neither this
// exit while the guest's RFLAGS.IF = 0 - although "external-interrupt exiting" makes IF
// irrelevant (SDM 26.4.1) - nor NMI exits (measured with the PIT routed as NMIs through the
// I/O APIC). On Bochs models without the preemption timer a guest that loops with interrupts
// off therefore cannot be stopped; with interrupts on it is.
import Intrinsics
import VMX

enum HostTimer {
    static let vector: UInt8 = 0x30
    static let spuriousVector: UInt32 = 0xFF

    // Register offsets (SDM Vol. 3A Table 11-1).
    static let eoi: UInt64 = 0x0B0
    static let spuriousInterruptVector: UInt64 = 0x0F0
    static let lvtTimer: UInt64 = 0x320
    static let initialCount: UInt64 = 0x380
    static let currentCount: UInt64 = 0x390
    static let divideConfiguration: UInt64 = 0x3E0

    static let apicGlobalEnable: UInt64 = 1 << 11
    static let softwareEnable: UInt32 = 1 << 8
    static let masked: UInt32 = 1 << 16

    nonisolated(unsafe) static var armed = false

    static var base: UInt64 { x86_rdmsr(MSR.ia32APICBase) & PageFrame.addressMask }

    static func read(_ register: UInt64) -> UInt32 {
        UnsafePointer<UInt32>(bitPattern: UInt(base + register))!.pointee
    }

    static func write(_ register: UInt64, _ value: UInt32) {
        UnsafeMutablePointer<UInt32>(bitPattern: UInt(base + register))!.pointee = value
    }

    /// One-shot, `cycles` ticks of the APIC timer (Bochs counts it at the TSC's rate).
    static func arm(cycles: UInt64) {
        let apicBase = x86_rdmsr(MSR.ia32APICBase)
        if apicBase & apicGlobalEnable == 0 { x86_wrmsr(MSR.ia32APICBase, apicBase | apicGlobalEnable) }
        write(spuriousInterruptVector, softwareEnable | spuriousVector)
        write(divideConfiguration, 0xB)                       // divide by 1
        write(lvtTimer, UInt32(vector))                       // one-shot, unmasked
        write(initialCount, UInt32(max(1, min(cycles, UInt64(UInt32.max)))))
        armed = true
    }

    static func disarm() {
        write(lvtTimer, masked | UInt32(vector))
        write(initialCount, 0)
        armed = false
    }

    /// Whether the armed timer has counted down to 0 (a stale interrupt leaves it not).
    static var expired: Bool { armed && read(currentCount) == 0 }

    static func endOfInterrupt() { write(eoi, 0) }
}
