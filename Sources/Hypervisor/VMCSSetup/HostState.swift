// The host-state values the VMCS holds (SDM 25.5 "Host-State Area"): what a VM exit loads
// (SDM 28.5 "Loading Host State"). The hypervisor does not read them itself: the kernel fills
// them in from its GDT, TSS, IDT, control registers and MSRs (and the address of its VM-exit
// stub); the emulated world fills in plausible values. Host RSP is not here: the entry stub
// writes it before every VM entry, since it is the stack pointer of that moment.

public struct HostState: Equatable, Sendable {
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var csSelector: UInt16
    public var ssSelector: UInt16
    public var dsSelector: UInt16
    public var esSelector: UInt16
    public var fsSelector: UInt16
    public var gsSelector: UInt16
    public var trSelector: UInt16
    public var fsBase: UInt64
    public var gsBase: UInt64
    public var trBase: UInt64
    public var gdtrBase: UInt64
    public var idtrBase: UInt64
    public var sysenterCS: UInt32
    public var sysenterESP: UInt64
    public var sysenterEIP: UInt64
    /// IA32_EFER, loaded on exit when the VM-exit control "load IA32_EFER" is 1.
    public var efer: UInt64
    /// IA32_PAT, loaded on exit when the VM-exit control "load IA32_PAT" is 1.
    public var pat: UInt64
    /// Where VM exits continue: the VM-exit stub.
    public var rip: UInt64

    public init(
        cr0: UInt64, cr3: UInt64, cr4: UInt64, csSelector: UInt16, ssSelector: UInt16,
        dsSelector: UInt16, esSelector: UInt16, fsSelector: UInt16, gsSelector: UInt16,
        trSelector: UInt16, fsBase: UInt64, gsBase: UInt64, trBase: UInt64,
        gdtrBase: UInt64, idtrBase: UInt64, sysenterCS: UInt32, sysenterESP: UInt64,
        sysenterEIP: UInt64, efer: UInt64, pat: UInt64, rip: UInt64
    ) {
        self.cr0 = cr0; self.cr3 = cr3; self.cr4 = cr4
        self.csSelector = csSelector; self.ssSelector = ssSelector; self.dsSelector = dsSelector
        self.esSelector = esSelector; self.fsSelector = fsSelector; self.gsSelector = gsSelector
        self.trSelector = trSelector
        self.fsBase = fsBase; self.gsBase = gsBase; self.trBase = trBase
        self.gdtrBase = gdtrBase; self.idtrBase = idtrBase
        self.sysenterCS = sysenterCS; self.sysenterESP = sysenterESP; self.sysenterEIP = sysenterEIP
        self.efer = efer; self.pat = pat; self.rip = rip
    }
}

extension HostState {
    /// The kernel's host state as hosted runs model it (tests, vmx-entry-check): the kernel's
    /// selectors (code 08H, data 10H, TSS 18H, as Sources/Kernel/GlobalDescriptorTable.swift
    /// lays them out), its tables at fixed addresses in the emulated memory, the PAT the
    /// kernel runs with, and the control registers and EFER of the emulated processor.
    public static func emulatedKernel(cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64) -> HostState {
        HostState(
            cr0: cr0, cr3: cr3, cr4: cr4, csSelector: 0x08, ssSelector: 0x10,
            dsSelector: 0x10, esSelector: 0x10, fsSelector: 0, gsSelector: 0, trSelector: 0x18,
            fsBase: 0, gsBase: 0, trBase: 0x10_8000, gdtrBase: 0x10_9000, idtrBase: 0x10_A000,
            sysenterCS: 0, sysenterESP: 0, sysenterEIP: 0, efer: efer,
            pat: 0x0007_0406_0007_0406, rip: 0x10_1000)
    }
}
