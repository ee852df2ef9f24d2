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

    public init(cr0: UInt64, cr3: UInt64, cr4: UInt64, csSelector: UInt16, ssSelector: UInt16,
                dsSelector: UInt16, esSelector: UInt16, fsSelector: UInt16, gsSelector: UInt16,
                trSelector: UInt16, fsBase: UInt64, gsBase: UInt64, trBase: UInt64,
                gdtrBase: UInt64, idtrBase: UInt64, sysenterCS: UInt32, sysenterESP: UInt64,
                sysenterEIP: UInt64, efer: UInt64, pat: UInt64, rip: UInt64) {
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
