// The local APIC (SDM Vol. 3A chapter 12 "Advanced Programmable Interrupt Controller"): the
// IA32_APIC_BASE bits, the register offsets of the xAPIC page (Table 12-1), their x2APIC MSRs
// (12.12.1.2) and the interrupt command register's values (12.6.1). One home for the kernel's
// processor start-up and the hypervisor's pass-through guests.

public enum LocalAPIC {
    // MARK: IA32_APIC_BASE (MSR 1BH, SDM Vol. 3A 12.4.4)

    /// BSP flag (bit 8): this is the bootstrap processor.
    public static let bootstrapProcessor: UInt64 = 1 << 8
    /// EXTD (bit 10): x2APIC mode.
    public static let x2APICMode: UInt64 = 1 << 10
    /// EN (bit 11): the APIC is globally enabled.
    public static let globalEnable: UInt64 = 1 << 11
    /// The APIC base (bits MAXPHYADDR-1:12).
    public static let baseMask: UInt64 = PageFrame.addressMask
    /// Where the APIC sits after reset (FEE00000H).
    public static let defaultBase: UInt64 = 0xFEE0_0000

    // MARK: Register offsets (Table 12-1)

    public static let id: UInt64 = 0x20
    public static let version: UInt64 = 0x30
    public static let taskPriority: UInt64 = 0x80
    public static let endOfInterrupt: UInt64 = 0xB0
    public static let spuriousInterruptVector: UInt64 = 0xF0
    /// In-service register: eight 32-bit registers, 10H apart.
    public static let inService: UInt64 = 0x100
    public static let interruptCommandLow: UInt64 = 0x300
    public static let interruptCommandHigh: UInt64 = 0x310
    /// LVT CMCI, timer, thermal, performance counters, LINT0, LINT1, error.
    public static let lvtCMCI: UInt64 = 0x2F0
    public static let lvtTimer: UInt64 = 0x320
    public static let lvtEntries: [UInt64] = [lvtCMCI, lvtTimer, 0x330, 0x340, 0x350, 0x360, 0x370]
    public static let timerInitialCount: UInt64 = 0x380
    public static let timerCurrentCount: UInt64 = 0x390
    public static let timerDivideConfiguration: UInt64 = 0x3E0
    /// An LVT entry's mask bit (16).
    public static let masked: UInt32 = 1 << 16

    /// The x2APIC MSR of a register: 800H + offset / 10H (the ICR is one 64-bit MSR, 830H).
    public static func msr(_ offset: UInt64) -> MSR { MSR(rawValue: 0x800 + UInt32(offset >> 4)) }

    // MARK: Values

    /// Spurious-interrupt vector register: APIC software enable (bit 8).
    public static let softwareEnable: UInt32 = 1 << 8
    /// Divide configuration register: divide by 1 (1011B).
    public static let divideBy1: UInt32 = 0xB
    /// Spurious-interrupt vector register: APIC software enable (bit 8) with vector FFH.
    public static let softwareEnableWithVectorFF: UInt32 = 0x1FF
    /// ICR: delivery mode INIT (101B), level assert; StartUp (110B) with the vector in bits 7:0;
    /// delivery status (bit 12: send pending).
    public static let initAssert: UInt32 = 0x0000_4500
    public static let startUp: UInt32 = 0x0000_4600
    /// ICR: delivery mode NMI (100B), level assert.
    public static let nmiAssert: UInt32 = 0x0000_4400
    public static let deliveryPending: UInt32 = 1 << 12
    /// ICR bits 10:8, the delivery mode, and its INIT (101B) and StartUp (110B) values.
    public static let deliveryModeMask: UInt32 = 0x0000_0700
    public static let deliveryModeINIT: UInt32 = 0x0000_0500
    public static let deliveryModeStartUp: UInt32 = 0x0000_0600
    /// ICR bit 11: logical destination mode; bit 14: level (1: assert); bit 15: trigger mode
    /// (1: level). An INIT with level 0 and trigger 1 is "INIT level de-assert".
    public static let logicalDestination: UInt32 = 1 << 11
    public static let levelAssert: UInt32 = 1 << 14
    public static let levelTriggered: UInt32 = 1 << 15
    /// ICR bits 19:18, the destination shorthand: none, self, all including self, all
    /// excluding self.
    public static let shorthandShift: UInt32 = 18
    /// The xAPIC ICR high word's destination field (bits 31:24, SDM Vol. 3A 12.6.1).
    public static let xAPICDestinationShift: UInt32 = 24
}
