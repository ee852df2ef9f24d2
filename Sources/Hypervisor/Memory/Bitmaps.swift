// The I/O bitmaps and the MSR bitmap (SDM 25.6.4 "I/O-Bitmap Addresses", 25.6.9 "MSR-Bitmap
// Address"), shared by all guests. Deny by default: every bit is 1, so every port access and
// every RDMSR/WRMSR exits, except the MSRs listed in `passThroughMSRs`, which the VMCS switches
// on entry and exit or which the host never uses (the hypervisor clears them between guests).
import VMX

public struct Bitmaps: Sendable {
    /// I/O bitmap A (ports 0000H-7FFFH) and B (8000H-FFFFH), one page each.
    public let ioBitmapA: UInt64
    public let ioBitmapB: UInt64
    /// The MSR bitmap: read bitmap for low MSRs (00000000H-00001FFFH) at offset 0, for high
    /// MSRs (C0000000H-C0001FFFH) at 1024, then the write bitmaps at 2048 and 3072.
    public let msrBitmap: UInt64

    /// MSRs the guest reads and writes directly: switched by the VMCS (FS/GS base, SYSENTER),
    /// or not used by the host (SYSCALL MSRs, KERNEL_GS_BASE).
    public static let passThroughMSRs: [MSR] = [
        MSR.ia32SysenterCS, MSR.ia32SysenterESP, MSR.ia32SysenterEIP,
        MSR.ia32FSBase, MSR.ia32GSBase, MSR.ia32KernelGSBase,
        MSR.ia32STAR, MSR.ia32LSTAR, MSR.ia32CSTAR, MSR.ia32FMASK
    ]
    /// MSRs the guest may read directly (the time-stamp counter, which it reads with RDTSC
    /// anyway).
    public static let readOnlyMSRs: [MSR] = [MSR.ia32TimeStampCounter]

    /// The sandboxed guests' bitmaps: everything exits but the pass-through MSRs.
    public init?<P: Processor>(arena: inout PageArena, cpu: P) {
        self.init(exitingByDefault: true, arena: &arena, cpu: cpu)
        guard ioBitmapA != 0 else { return nil }
        for msr in Self.passThroughMSRs {
            setExit(msr: msr, write: false, false, cpu: cpu)
            setExit(msr: msr, write: true, false, cpu: cpu)
        }
        for msr in Self.readOnlyMSRs { setExit(msr: msr, write: false, false, cpu: cpu) }
    }

    /// A pass-through guest's bitmaps: nothing exits but the ports and MSRs given (reads and
    /// writes of `msrs`, writes only of `writtenMSRs`). MSRs outside the bitmap's ranges exit
    /// all the same (SDM 26.1.3).
    public init?<P: Processor>(
        exitingPorts ports: [UInt16], msrs: [MSR], writtenMSRs: [MSR],
        arena: inout PageArena, cpu: P
    ) {
        self.init(exitingByDefault: false, arena: &arena, cpu: cpu)
        guard ioBitmapA != 0 else { return nil }
        for port in ports { setExit(port: port, cpu: cpu) }
        for msr in msrs {
            setExit(msr: msr, write: false, true, cpu: cpu)
            setExit(msr: msr, write: true, true, cpu: cpu)
        }
        for msr in writtenMSRs { setExit(msr: msr, write: true, true, cpu: cpu) }
    }

    /// Three pages with every bit `exitingByDefault`; zero addresses when the arena is full.
    private init<P: Processor>(exitingByDefault: Bool, arena: inout PageArena, cpu: P) {
        guard let a = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu),
            let b = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu),
            let msr = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu)
        else {
            (ioBitmapA, ioBitmapB, msrBitmap) = (0, 0, 0)
            return
        }
        ioBitmapA = a
        ioBitmapB = b
        msrBitmap = msr
        guard exitingByDefault else { return }
        for page in [a, b, msr] {
            for offset in stride(from: UInt64(0), to: PhysicalLayout.pageSize, by: 8) {
                cpu.writePhysical64(page + offset, UInt64.max)
            }
        }
    }

    /// Makes accesses to `port` exit.
    func setExit<P: Processor>(port: UInt16, cpu: P) {
        let bitmap = port < 0x8000 ? ioBitmapA : ioBitmapB
        let index = UInt64(port & 0x7FFF)
        let address = bitmap + (index / 32) * 4
        cpu.writePhysical32(address, cpu.readPhysical32(address) | 1 << UInt32(index % 32))
    }

    /// The bit of `msr` in the read or write bitmap; nil for MSRs outside both ranges (they
    /// always exit, SDM 26.1.3).
    public func bitAddress(msr: MSR, write: Bool) -> (address: UInt64, bit: UInt32)? {
        let offset: UInt64
        switch msr.rawValue {
        case 0...0x1FFF: offset = 0
        case 0xC000_0000...0xC000_1FFF: offset = 1024
        default: return nil
        }
        let index = msr.rawValue & 0x1FFF
        return (msrBitmap + offset + (write ? 2048 : 0) + UInt64(index / 32) * 4, index % 32)
    }

    func setExit<P: Processor>(msr: MSR, write: Bool, _ exits: Bool, cpu: P) {
        guard let (address, bit) = bitAddress(msr: msr, write: write) else { return }
        let word = cpu.readPhysical32(address)
        cpu.writePhysical32(address, exits ? word | 1 << bit : word & ~(1 << bit))
    }

    /// Whether RDMSR (or WRMSR) of `msr` exits.
    public func exits<P: Processor>(msr: MSR, write: Bool, cpu: P) -> Bool {
        guard let (address, bit) = bitAddress(msr: msr, write: write) else { return true }
        return cpu.readPhysical32(address) & 1 << bit != 0
    }

    /// Whether an access to `port` exits (SDM 26.1.3: a multi-byte access exits if any of its
    /// ports' bits is 1).
    public func exits<P: Processor>(port: UInt16, cpu: P) -> Bool {
        let bitmap = port < 0x8000 ? ioBitmapA : ioBitmapB
        let index = UInt64(port & 0x7FFF)
        return cpu.readPhysical32(bitmap + (index / 32) * 4) & 1 << (index % 32) != 0
    }
}
