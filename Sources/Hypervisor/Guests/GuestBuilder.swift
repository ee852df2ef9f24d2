// Builds a guest from its plan: memory (from the top of the arena), EPT, the structures the
// hypervisor puts in the guest (page tables, GDT, TSS; a reset-vector page for real mode), the
// image's segments, and a fresh VMCS made current and written. docs/GUESTS.md describes the
// result.
import VMX

/// What every guest shares: computed once per boot.
public struct GuestEnvironment: Sendable {
    public var capabilities: VMXCapabilities
    public var setup: ControlSetup
    public var host: HostState
    public var bitmaps: Bitmaps
    public var statistics: ExitStatistics

    public init(
        capabilities: VMXCapabilities, setup: ControlSetup, host: HostState, bitmaps: Bitmaps,
        statistics: ExitStatistics
    ) {
        self.capabilities = capabilities
        self.setup = setup
        self.host = host
        self.bitmaps = bitmaps
        self.statistics = statistics
    }

    /// CR0 bits VM entry requires of the guest: IA32_VMX_CR0_FIXED0 less PE and PG under
    /// unrestricted guest (SDM 27.3.1.1), and those it allows (FIXED1).
    public var guestCR0Fixed: FixedBits {
        var fixed = capabilities.cr0Fixed
        if setup.usesUnrestrictedGuest { fixed.fixed0 &= ~ControlRegister0([.pe, .pg]).rawValue }
        return fixed
    }

    public var guestCR4Fixed: FixedBits { capabilities.cr4Fixed }

    /// CR4 bits of features the guest's CPUID does not show: VMX, SMX, XSAVE, protection keys.
    public static let hiddenCR4: UInt64 = ControlRegister4([.vmxe, .smxe, .osxsave, .pke]).rawValue

    /// The guest/host masks: the host owns every bit VMX fixes, PE and PG (so that mode
    /// changes exit and IA32_EFER.LMA follows them), CD and NW (caching stays on), and the
    /// CR4 bits of hidden features (SDM 25.6.6).
    public var cr0Mask: UInt64 {
        let fixed = capabilities.cr0Fixed
        return (fixed.fixed0 | ~fixed.fixed1 | ControlRegister0([.pe, .pg, .cd, .nw]).rawValue) & 0xFFFF_FFFF
    }
    public var cr4Mask: UInt64 {
        let fixed = capabilities.cr4Fixed
        return (fixed.fixed0 | ~fixed.fixed1 | Self.hiddenCR4) & 0xFFFF_FFFF
    }

    /// Exceptions that exit: #BP (3), reflected to the guest, and #MC (18).
    public static let exceptionBitmap: UInt32 =
        ExceptionVector.breakpoint.exceptionBitmapBit | ExceptionVector.machineCheck.exceptionBitmapBit

    /// IA32_PAT's power-up value (SDM Vol. 3A 13.12.4).
    public static let powerUpPAT: UInt64 = 0x0007_0406_0007_0406
}

/// Why a guest could not be built.
public enum GuestBuildError: Error, Equatable {
    case needsUnrestrictedGuest(GuestMode)
    case needsIA32eModeGuest
    case userImageNeedsEPT
    case guestNeedsEPT
    case outOfArenaMemory(what: StaticString)
    case vmcsInstructionFailed(instruction: StaticString, VMFailure)
    case vmwriteFailed(VMCSWriteFailure)
    case imageCopyFailed

    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case let (.needsUnrestrictedGuest(a), .needsUnrestrictedGuest(b)): return a == b
        case (.needsIA32eModeGuest, .needsIA32eModeGuest), (.userImageNeedsEPT, .userImageNeedsEPT),
            (.guestNeedsEPT, .guestNeedsEPT),
            (.imageCopyFailed, .imageCopyFailed):
            return true
        case let (.outOfArenaMemory(a), .outOfArenaMemory(b)): return a.utf8Start == b.utf8Start
        case let (.vmcsInstructionFailed(a, b), .vmcsInstructionFailed(c, d)):
            return a.utf8Start == c.utf8Start && b == d
        case let (.vmwriteFailed(a), .vmwriteFailed(b)): return a == b
        default: return false
        }
    }

    public func describe(into text: inout LogText) {
        switch self {
        case .needsUnrestrictedGuest(let mode):
            text.append(
                """
                refused: a guest starting in \(mode.name) needs \"unrestricted guest\" and EPT, which this CPU \
                does not offer
                """
            )
        case .needsIA32eModeGuest:
            text.appendLiteral("refused: the VM-entry control \"IA-32e mode guest\" is not allowed on this CPU")
        case .userImageNeedsEPT:
            text.appendLiteral(
                """
                refused: without EPT the hypervisor cannot keep a guest out of its memory, so it runs only its \
                built-in guests
                """
            )
        case .guestNeedsEPT:
            text.appendLiteral("refused: this guest needs EPT (ept=required), which this CPU does not offer")
        case .outOfArenaMemory(let what): text.append("no room in the arena for \(what)")
        case .vmcsInstructionFailed(let instruction, let failure):
            text.append("\(instruction) failed: ")
            appendFailure(failure, into: &text)
        case .vmwriteFailed(let failure):
            text.append("VMWRITE of field \(hex: failure.field.rawValue, digits: 4) failed: ")
            appendFailure(failure.failure, into: &text)
        case .imageCopyFailed: text.appendLiteral("the image could not be copied into the guest's memory")
        }
    }
}

/// "VMfailInvalid" or "VMfailValid(N): description".
func appendFailure(_ failure: VMFailure, into text: inout LogText) {
    switch failure {
    case .invalid: text.appendLiteral("VMfailInvalid (no current VMCS)")
    case .valid(let error):
        text.append("VMfailValid, VM-instruction error \(error.rawValue): \(error.description)")
    }
}

extension LogText {
    mutating func appendInterpolation(_ failure: VMFailure) { appendFailure(failure, into: &self) }
}

/// Builds the guest of `plan`, VPID `vpid`, and makes its VMCS current.
public func buildGuest<P: Host>(
    plan: GuestPlan, image: GuestImage, environment env: GuestEnvironment, vpid: UInt16,
    arena: inout PageArena, cpu: P
) throws(GuestBuildError) -> VirtualCPU<P> {
    let setup = env.setup
    switch plan.mode {
    case .real, .protected: guard setup.usesUnrestrictedGuest else { throw .needsUnrestrictedGuest(plan.mode) }
    case .long: guard setup.allowsIA32eModeGuest else { throw .needsIA32eModeGuest }
    }
    guard image.isBuiltIn || setup.usesEPT else { throw .userImageNeedsEPT }
    guard !plan.requiresEPT || setup.usesEPT else { throw .guestNeedsEPT }

    // Memory, and how the guest reaches it.
    let large: UInt64 = 2 << 20
    guard let block = arena.allocateFromTop(bytes: plan.memorySize, alignment: large, zeroingWith: cpu) else {
        throw .outOfArenaMemory(what: "the guest's memory")
    }
    var ept: EPT? = nil
    if setup.usesEPT {
        // Pages from `touch=` up to the structures are entered without permissions, to be
        // mapped on first touch (EPT.mapOnFirstTouch).
        let touch = plan.firstTouch ?? plan.memorySize
        let structures = plan.memorySize - GuestMemory.structuresSize
        let none = EPTPermissions()
        let parts: [(start: UInt64, end: UInt64, permissions: EPTPermissions)] =
            plan.firstTouch == nil
            ? [(0, plan.memorySize, .all)]
            : [(0, touch, .all), (touch, structures, none), (structures, plan.memorySize, .all)]
        guard let tables = EPT(memoryType: setup.eptMemoryType, arena: &arena, cpu: cpu) else {
            throw .outOfArenaMemory(what: "EPT tables")
        }
        for part in parts where part.end > part.start {
            guard
                tables.map(
                    guestPhysical: part.start, host: block + part.start, bytes: part.end - part.start,
                    permissions: part.permissions, largePages: setup.allows2MBEPTPages && part.permissions == .all,
                    arena: &arena, cpu: cpu)
            else { throw .outOfArenaMemory(what: "EPT tables") }
        }
        ept = tables
    }
    let memory = GuestMemory(host: block, size: plan.memorySize, physicalBase: ept == nil ? block : 0, ept: ept)
    if plan.mode == .real {
        // The reset vector: a read/execute page at the top of the 4-GiB space whose last 16
        // bytes hold a far jump to the entry point, as firmware would hand over to a loader.
        guard let rom = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu),
            let ept,
            ept.map(
                guestPhysical: GuestStructures.resetVectorPage, host: rom, bytes: PhysicalLayout.pageSize,
                permissions: [.read, .execute], largePages: false, arena: &arena, cpu: cpu)
        else { throw .outOfArenaMemory(what: "the reset-vector page") }
        let segment = (plan.entry >> 4) & 0xF000
        let offset = plan.entry - segment << 4
        // JMP ptr16:16 (EAH, offset, segment), little-endian, in the zeroed page.
        cpu.writePhysical64(rom + GuestStructures.resetVectorOffset, 0xEA | offset << 8 | segment << 24)
    }
    writeGuestStructures(memory: memory, cpu: cpu)
    for segment in plan.segments where segment.fileSize > 0 {
        guard
            memory.copy(
                fromHost: image.address + segment.fileOffset, count: segment.fileSize,
                toGuestPhysical: memory.physicalBase + segment.guestPhysical, cpu: cpu)
        else { throw .imageCopyFailed }
    }

    // A fresh VMCS (SDM 25.2, 25.11.3): revision identifier, VMCLEAR, VMPTRLD.
    let basic = env.capabilities.basic
    guard let vmcs = arena.allocate(bytes: UInt64(basic.vmcsRegionSize), zeroingWith: cpu) else {
        throw .outOfArenaMemory(what: "the VMCS")
    }
    cpu.writePhysical32(vmcs, basic.revisionIdentifier)
    do { try cpu.vmclear(vmcs) } catch { throw .vmcsInstructionFailed(instruction: "VMCLEAR", error) }
    do { try cpu.vmptrld(vmcs) } catch { throw .vmcsInstructionFailed(instruction: "VMPTRLD", error) }

    let signature = cpu.cpuid(leaf: 1, subleaf: 0).eax
    let cr0Fixed = env.guestCR0Fixed, cr4Fixed = env.guestCR4Fixed
    let start = GuestStartState.make(
        mode: plan.mode, entry: plan.entry, memory: memory, cr0Fixed: cr0Fixed,
        cr4Fixed: cr4Fixed, signature: signature)
    let rate = UInt64(setup.preemptionTimerRate)
    let contents = GuestVMCSContents(
        start: start, bitmaps: env.bitmaps, eptPointer: ept?.pointer, vpid: vpid, cr0Mask: env.cr0Mask,
        cr4Mask: env.cr4Mask, exceptionBitmap: GuestEnvironment.exceptionBitmap,
        preemptionTimerValue: UInt32(min(plan.budget >> rate, UInt64(UInt32.max))), pat: GuestEnvironment.powerUpPAT)
    if let failure = writeVMCS(setup: setup, host: env.host, guest: contents, cpu: cpu) {
        try? cpu.vmclear(vmcs)  // no active VMCS left in memory the arena may hand out again
        throw .vmwriteFailed(failure)
    }

    // Nothing cached from an earlier guest with the same tags (SDM 29.4.3.1).
    if let ept, let type = setup.inveptType { try? cpu.invept(type: type, eptp: ept.pointer) }
    if setup.usesVPID, let type = setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }
    // MSRs the guest reaches directly and the host never uses start at 0 for every guest.
    for msr in [MSR.ia32STAR, MSR.ia32LSTAR, MSR.ia32CSTAR, MSR.ia32FMASK, MSR.ia32KernelGSBase] {
        cpu.writeMSR(msr, 0)
    }

    let vcpu = VirtualCPU(
        cpu: cpu, name: plan.name, setup: setup, memory: memory, statistics: env.statistics,
        vmcs: vmcs, vpid: vpid, cr0Fixed: cr0Fixed, cr4Fixed: cr4Fixed,
        cr0Mask: env.cr0Mask, cr4Mask: env.cr4Mask,
        exceptionBitmap: GuestEnvironment.exceptionBitmap)
    vcpu.registers.rdx = start.rdx
    vcpu.shadowEFER = start.efer
    vcpu.budgetCycles = plan.budget
    return vcpu
}

/// Page tables mapping linear [0, size) to the block (2-MiB pages, supervisor, writable),
/// a GDT and a 64-bit TSS, in the block's top 64 KiB (docs/GUESTS.md).
func writeGuestStructures<P: Processor>(memory: GuestMemory, cpu: P) {
    let base = memory.host + memory.structuresOffset
    let physical = memory.physicalBase + memory.structuresOffset
    let present: UInt64 = 0x3, largePage: UInt64 = 0x80
    cpu.writePhysical64(base + GuestStructures.pml4, physical + GuestStructures.pdpt | present)
    cpu.writePhysical64(base + GuestStructures.pdpt, physical + GuestStructures.pd | present)
    var offset: UInt64 = 0
    while offset < memory.size {
        cpu.writePhysical64(
            base + GuestStructures.pd + (offset >> 21) * 8, (memory.physicalBase + offset) | present | largePage)
        offset += 2 << 20
    }
    let gdt = base + GuestStructures.gdt
    cpu.writePhysical64(gdt + 0x00, 0)
    cpu.writePhysical64(gdt + 0x08, 0x00AF_9B00_0000_FFFF)  // 64-bit code, DPL 0
    cpu.writePhysical64(gdt + 0x10, 0x00CF_9300_0000_FFFF)  // data, 4 GiB
    cpu.writePhysical64(gdt + 0x18, 0x00CF_9B00_0000_FFFF)  // 32-bit code, 4 GiB
    // 64-bit TSS descriptor, type 11 (busy), at the linear address of the TSS.
    let tssLinear = memory.structuresOffset + GuestStructures.tss
    let limit = UInt64(GuestStructures.tssLimit)
    var low = limit & 0xFFFF | (tssLinear & 0xFF_FFFF) << 16 | UInt64(0x8B) << 40
    low |= ((limit >> 16) & 0xF) << 48 | ((tssLinear >> 24) & 0xFF) << 56
    cpu.writePhysical64(gdt + 0x20, low)
    cpu.writePhysical64(gdt + 0x28, tssLinear >> 32)
}
