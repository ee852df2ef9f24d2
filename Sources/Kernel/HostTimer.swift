// The host timer (Host.armHostTimer): on a CPU without the VMX-preemption timer it
// stops a guest that overruns its time budget. It is the local APIC's timer, one-shot, vector
// 30H, divide by 1 (SDM Vol. 3A 11.5.4 "APIC Timer"): with "external-interrupt exiting" its
// interrupt causes a VM exit (reason 1) and, with "acknowledge interrupt on exit", is
// acknowledged by it; the host, which runs with interrupts off, then writes EOI. The xAPIC
// registers are memory-mapped at IA32_APIC_BASE (identity-mapped below 4 GiB). Each processor
// reaches its own local APIC there, and keeps whether its timer is armed in its per-CPU block
// (Processors.swift): guests run on every processor at once.
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

    /// Whether this processor's timer is armed.
    static var armed: Bool {
        get { PerCPU.current.map { $0[word: PerCPU.hostTimerArmedOffset] != 0 } ?? false }
        set { if let me = PerCPU.current { me[word: PerCPU.hostTimerArmedOffset] = newValue ? 1 : 0 } }
    }

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
        if apicBase & LocalAPIC.globalEnable == 0 { x86_wrmsr(MSR.ia32APICBase, apicBase | LocalAPIC.globalEnable) }
        write(LocalAPIC.spuriousInterruptVector, LocalAPIC.softwareEnable | spuriousVector)
        write(LocalAPIC.timerDivideConfiguration, LocalAPIC.divideBy1)
        write(LocalAPIC.lvtTimer, UInt32(vector))  // one-shot, unmasked
        write(LocalAPIC.timerInitialCount, UInt32(max(1, min(cycles, UInt64(UInt32.max)))))
        armed = true
    }

    static func disarm() {
        write(LocalAPIC.lvtTimer, LocalAPIC.masked | UInt32(vector))
        write(LocalAPIC.timerInitialCount, 0)
        armed = false
    }

    /// Whether the armed timer has counted down to 0 (a stale interrupt leaves it not).
    static var expired: Bool { armed && read(LocalAPIC.timerCurrentCount) == 0 }

    static func endOfInterrupt() { write(LocalAPIC.endOfInterrupt, 0) }
}
