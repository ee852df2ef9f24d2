// After a pass-through guest (docs/LINUX.md, "Ending"): the guest programmed the machine's
// interrupt controllers and timers, and they go on firing after it stopped. Before anything
// else runs, every I/O APIC redirection entry and local APIC LVT entry is masked, the APIC
// timer stopped (initial count 0, IA32_TSC_DEADLINE 0), the HPET disabled, both 8259A PICs
// masked, and the vectors in service end with EOIs.
import VMX

/// I/O APIC: index and data windows, the version register, redirection entries from 10H.
enum IOAPIC {
    static let select: UInt64 = 0x00
    static let window: UInt64 = 0x10
    static let version: UInt32 = 0x01
    static let redirectionTable: UInt32 = 0x10
    static let masked: UInt32 = 1 << 16
}

/// IA32_TSC_DEADLINE (SDM Vol. 3A 12.5.4.1) and its CPUID bit (1:ECX[24]).
let tscDeadlineMSR = MSR(rawValue: 0x6E0)
let tscDeadlineCPUIDBit: UInt32 = 1 << 24

/// HPET general configuration register, ENABLE_CNF bit 0 (IA-PC HPET 1.0a, 2.3.5).
let hpetGeneralConfiguration: UInt64 = 0x10

/// 8259A: command and data ports of the master and slave, OCW2 non-specific EOI, OCW3 read ISR.
enum PIC8259 {
    static let masterCommand: UInt16 = 0x20, masterData: UInt16 = 0x21
    static let slaveCommand: UInt16 = 0xA0, slaveData: UInt16 = 0xA1
    static let nonSpecificEOI: UInt32 = 0x20
    static let readInService: UInt32 = 0x0B
}

func quiesceMachine<P: Host>(cpu: P, platform: PassThroughPlatform?) {
    for base in platform?.ioAPICs ?? [] {
        cpu.writeMMIO32(base + IOAPIC.select, IOAPIC.version)
        let entries = (cpu.readMMIO32(base + IOAPIC.window) >> 16) & 0xFF
        for index in 0...entries {
            cpu.writeMMIO32(base + IOAPIC.select, IOAPIC.redirectionTable + index * 2)
            cpu.writeMMIO32(base + IOAPIC.window, cpu.readMMIO32(base + IOAPIC.window) | IOAPIC.masked)
        }
    }
    quiesceLocalAPIC(cpu: cpu)
    if let hpet = platform?.hpet {
        cpu.writeMMIO32(hpet + hpetGeneralConfiguration, cpu.readMMIO32(hpet + hpetGeneralConfiguration) & ~1)
    }
    for (command, data) in [(PIC8259.masterCommand, PIC8259.masterData), (PIC8259.slaveCommand, PIC8259.slaveData)] {
        cpu.writePort(data, size: 1, 0xFF)
        cpu.writePort(command, size: 1, PIC8259.readInService)
        var inService = cpu.readPort(command, size: 1) & 0xFF
        while inService != 0 {  // one EOI per vector in service
            cpu.writePort(command, size: 1, PIC8259.nonSpecificEOI)
            inService &= inService - 1
        }
    }
}

/// This processor's local APIC: its LVT entries masked, its timer stopped, its vectors ended.
func quiesceLocalAPIC<P: Host>(cpu: P) {
    let apicBase = cpu.readMSR(MSR.ia32APICBase)
    guard apicBase & LocalAPIC.globalEnable != 0 else { return }
    let x2APIC = apicBase & LocalAPIC.x2APICMode != 0
    let base = apicBase & LocalAPIC.baseMask
    func read(_ offset: UInt64) -> UInt32 {
        x2APIC ? UInt32(truncatingIfNeeded: cpu.readMSR(LocalAPIC.msr(offset))) : cpu.readMMIO32(base + offset)
    }
    func write(_ offset: UInt64, _ value: UInt32) {
        if x2APIC { cpu.writeMSR(LocalAPIC.msr(offset), UInt64(value)) } else { cpu.writeMMIO32(base + offset, value) }
    }
    // LVT CMCI (2F0H) exists only with enough LVT entries; the version register's bits 23:16
    // give the last one (6 without CMCI).
    let lastLVT = (read(LocalAPIC.version) >> 16) & 0xFF
    for offset in LocalAPIC.lvtEntries where offset != LocalAPIC.lvtCMCI || lastLVT >= 6 {
        write(offset, read(offset) | LocalAPIC.masked)
    }
    write(LocalAPIC.timerInitialCount, 0)
    if cpu.cpuid(leaf: 1, subleaf: 0).ecx & tscDeadlineCPUIDBit != 0 { cpu.writeMSR(tscDeadlineMSR, 0) }
    var inService = 0
    for register in 0..<UInt64(8) { inService += read(LocalAPIC.inService + register * 0x10).nonzeroBitCount }
    for _ in 0..<inService { write(LocalAPIC.endOfInterrupt, 0) }
}
