// An in-process model of one logical processor in and around VMX root operation, faithful to
// the SDM's instruction pseudo-code (SDM 31.3), configured by a capability profile captured
// from a real or emulated CPU. It conforms to the same Processor protocol as the kernel's real
// processor, so hypervisor code runs unchanged against it in hosted tests.
//
// The state it holds: CR0, CR3, CR4, IA32_EFER, RFLAGS, CPL, the code segment's L bit
// (64-bit mode versus compatibility mode), A20M, SMX operation, IA32_FEATURE_CONTROL with its
// lock, the other MSRs the hypervisor uses, the capability MSRs and CPUID leaves of the
// profile, physical memory, the VMX operation mode, the VMXON and current-VMCS pointers and
// each VMCS's launch state. The stored registers are public so a test can build any state,
// including ones MOV/WRMSR would refuse; the Processor methods apply the architectural checks.
import VMX

public final class EmulatedCPU: Processor {
    /// Where the processor is with respect to VMX (SDM 24.2 "Virtual Machine Architecture").
    public enum VMXOperation: Equatable, Sendable {
        case outside
        case root
        case nonRoot
    }

    // MARK: Configuration

    /// The captured CPU this one behaves like.
    public let profile: CapabilityProfile
    /// The VMX capability MSRs of the profile; nil when the profile's CPU lacks VMX.
    public let capabilities: VMXCapabilities?
    public let memory: PhysicalMemory
    /// CPUID.80000008H:EAX[7:0], or 36 when the leaf is absent (SDM Vol. 3A 4.1.4).
    public let physicalAddressWidth: Int
    /// CPUID.80000008H:EAX[15:8], or 48 when the leaf is absent.
    public let linearAddressWidth: Int
    /// The VMCS components this CPU stores: the SDM's fields and any other encoding captured.
    let layout: VMCSLayout
    /// Per slot of `layout`: whether the profile's CPU accepted VMREAD of the component.
    let supportedFields: [Bool]

    // MARK: Architectural state

    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public var rflags: UInt64
    /// Current privilege level, 0 to 3.
    public var cpl: UInt8 = 0
    /// CS.L: with IA32_EFER.LMA = 1, 1 is 64-bit mode and 0 compatibility mode.
    public var codeSegmentLongMode = true
    /// Whether the A20M# pin masks address bit 20 (VMXON refuses to run then, SDM 31.3).
    public var a20Masked = false
    /// Whether the processor is in SMX operation (after GETSEC[SENTER]).
    public var inSMXOperation = false
    /// Blocking by MOV SS: the instruction follows a MOV to SS or POP SS (SDM 27.1: VM entry
    /// fails with error 26).
    public var blockingByMovSS = false
    /// IA32_FEATURE_CONTROL as firmware left it; WRMSR honours its lock bit.
    public var ia32FeatureControl: UInt64
    /// The other MSRs that exist, by address. RDMSR/WRMSR of an address absent here and not
    /// modelled otherwise raises #GP(0), as for an MSR the CPU does not implement.
    public var msrs: [UInt32: UInt64]

    // MARK: VMX state

    public internal(set) var vmxOperation: VMXOperation = .outside
    /// The VMXON pointer, while in VMX operation.
    public internal(set) var vmxonPointer: UInt64?
    /// The current-VMCS pointer; FFFFFFFF_FFFFFFFFH when there is no current VMCS (SDM 25.1).
    public var currentVMCSPointer: UInt64 { currentVMCS == nil ? Self.invalidVMCSPointer : currentVMCSAddress }
    public static let invalidVMCSPointer: UInt64 = .max
    /// Whether the current VMCS is a shadow VMCS (bit 31 of its revision word at VMPTRLD).
    public internal(set) var currentVMCSIsShadow = false

    var currentVMCS: VMCSData?
    var currentVMCSAddress: UInt64 = .max
    /// Every VMCS region the CPU has seen, by address (VMCLEAR or VMPTRLD create the entry);
    /// the data of an inactive one is in its region in memory (VMCSStorage.swift).
    var vmcsRegions: [UInt64: VMCSData] = [:]

    /// Replaces the VM-entry checks with a verdict of the test's choosing (`launch` is true for
    /// VMLAUNCH), so hypervisor tests can meet a failing VM entry on purpose. nil: the real checks.
    public var entryCheckOverride: ((_ launch: Bool) -> VMEntryCheckResult)?
    /// The report of the last VM-entry checks run by VMLAUNCH/VMRESUME: every failing rule.
    public internal(set) var lastEntryCheckReport: EntryCheckReport?

    // MARK: Faults

    public var faultPolicy: FaultPolicy = .report
    /// Where `.report` sends a fault's one-line description: a test injects one that records a
    /// test issue. nil: the process stops with the description.
    public var faultReporter: ((String) -> Void)?
    /// The fault of the last instruction executed, nil when it completed.
    public internal(set) var lastFault: Fault?
    /// The instruction that raised `lastFault`.
    public internal(set) var lastFaultInstruction: Instruction?
    var currentInstruction: Instruction = .cpuid

    // MARK: Guest execution (GuestExecution/, docs/EMULATED-CPU.md)

    /// VMX non-root operation: the Unicorn engine (started at the first VM entry), the
    /// time-stamp counter, the host timer and the console.
    lazy var guestExecution = GuestExecution(cpu: self)
    /// The machine this CPU is one processor of, which routes its IPIs (nil: it runs alone).
    public internal(set) weak var machine: EmulatedMachine?
    /// What guest execution met that it does not model (also reported by the fault policy).
    public internal(set) var guestExecutionProblems: [String] = []

    // MARK: Set-up

    /// A CPU like `profile`'s, with `memorySize` bytes of zeroed physical memory, in the state
    /// the kernel's boot code leaves: 64-bit mode at CPL 0 with paging (CR0 = PG|ET|PE,
    /// CR4 = PAE, IA32_EFER = LMA|LME), CR4.VMXE clear, outside VMX operation.
    public convenience init(
        profile: CapabilityProfile, memorySize: Int = 64 << 20,
        faultReporter: ((String) -> Void)? = nil
    ) {
        self.init(profile: profile, memory: PhysicalMemory(size: memorySize), faultReporter: faultReporter)
    }

    /// The same CPU over `memory`, which other emulated CPUs may share (EmulatedMachine).
    public init(profile: CapabilityProfile, memory: PhysicalMemory, faultReporter: ((String) -> Void)? = nil) {
        self.profile = profile
        self.faultReporter = faultReporter
        capabilities = profile.vmxCapabilities
        self.memory = memory
        let addressSizes = profile.cpuid(leaf: CPUIDLeaf.addressSizes, subleaf: 0)
        // Clamped to 1...64 so that a corrupt capture cannot make a shift trap.
        physicalAddressWidth = min(max(addressSizes.map { Int($0.eax & 0xFF) } ?? 36, 1), 64)
        linearAddressWidth = min(max(addressSizes.map { Int(($0.eax >> 8) & 0xFF) } ?? 48, 1), 64)
        let layout = VMCSLayout(extraEncodings: profile.vmcsFields.filter { !$0.isDefined })
        var supported = [Bool](repeating: false, count: layout.slotCount)
        for field in profile.vmcsFields {
            if let slot = layout.slot(of: field) { supported[slot] = true }
        }
        self.layout = layout
        supportedFields = supported
        cr0 = ControlRegister0.pg.rawValue | ControlRegister0.et.rawValue | ControlRegister0.pe.rawValue
        cr3 = 0x1000
        cr4 = ControlRegister4.pae.rawValue
        efer = ExtendedFeatureEnable.lme.rawValue | ExtendedFeatureEnable.lma.rawValue
        rflags = RFLAGS.alwaysOne.rawValue
        ia32FeatureControl = profile.msrs[MSR.ia32FeatureControl.rawValue] ?? 0
        msrs = Self.defaultMSRs
    }

    /// The non-VMX MSRs every profile's CPU has, at their reset values (SDM Vol. 4 2.1).
    /// IA32_APIC_BASE: the bootstrap processor (bit 8) with its local APIC globally disabled
    /// (bit 11 clear; the emulated machine has no APIC device at FEE00000H).
    static let defaultMSRs: [UInt32: UInt64] = [
        MSR.ia32APICBase.rawValue: LocalAPIC.defaultBase | LocalAPIC.bootstrapProcessor,
        MSR.ia32SysenterCS.rawValue: 0, MSR.ia32SysenterESP.rawValue: 0, MSR.ia32SysenterEIP.rawValue: 0,
        MSR.ia32DebugCtl.rawValue: 0, MSR.ia32PAT.rawValue: PageAttributeTable.powerUpValue,
        MSR.ia32PerfGlobalCtrl.rawValue: 0,
        MSR.ia32FSBase.rawValue: 0, MSR.ia32GSBase.rawValue: 0, MSR.ia32KernelGSBase.rawValue: 0,
        MSR.ia32STAR.rawValue: 0, MSR.ia32LSTAR.rawValue: 0, MSR.ia32CSTAR.rawValue: 0, MSR.ia32FMASK.rawValue: 0
    ]

    // MARK: Derived state

    /// 64-bit mode: IA32_EFER.LMA = 1 and CS.L = 1.
    public var in64BitMode: Bool { efer & ExtendedFeatureEnable.lma.rawValue != 0 && codeSegmentLongMode }

    /// Whether the profile's CPU has VMX at all (CPUID.1:ECX.VMX[bit 5]).
    public var supportsVMX: Bool { capabilities != nil }

    /// The launch state of the VMCS whose region is at `address`, nil if the CPU never saw it.
    public func launchState(ofVMCS address: UInt64) -> LaunchState? { currentData(ofVMCS: address)?.launchState }

    /// The value `field` holds in the VMCS at `address`, read without VMREAD and its checks (for
    /// test assertions); nil if the CPU never saw that VMCS or the field is not defined.
    public func fieldValue(_ field: VMCSField, ofVMCS address: UInt64) -> UInt64? {
        guard let data = currentData(ofVMCS: address), layout.slot(of: field) != nil else { return nil }
        return value(of: field, in: data)
    }

    /// Starts executing `instruction`: a new instruction has not faulted yet.
    func begin(_ instruction: Instruction) {
        currentInstruction = instruction
        lastFault = nil
        lastFaultInstruction = nil
    }

    // MARK: Processor: physical memory

    // Each access by the host takes `tscCyclesPerHostAccess` TSC cycles (EmulatedCPU+
    // GuestProcessor.swift), so that work the hypervisor does for a guest - walking its page
    // tables, copying its bytes - can take time, as every host instruction does in Bochs;
    // zeroing is free (it happens while guests are built).
    public func readPhysical32(_ address: UInt64) -> UInt32 { hostAccess(); return memory.read32(address) }
    public func writePhysical32(_ address: UInt64, _ value: UInt32) { hostAccess(); memory.write32(address, value) }
    public func readPhysical64(_ address: UInt64) -> UInt64 { hostAccess(); return memory.read64(address) }
    public func writePhysical64(_ address: UInt64, _ value: UInt64) { hostAccess(); memory.write64(address, value) }
    public func zeroPhysical(_ address: UInt64, count: Int) { memory.zero(address, count: count) }

    func hostAccess() { guestExecution.timestampCounter &+= guestExecution.cyclesPerHostAccess }
}
