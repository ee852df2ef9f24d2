// A Linux kernel as a pass-through guest (docs/LINUX.md): the x86 boot protocol's 64-bit entry
// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"), on the machine less what the
// hypervisor keeps. Loading: the protected-mode kernel is copied to a kernel_alignment-aligned
// address where [load, load + init_size) is the guest's RAM, the initrd to the top of the
// guest's RAM below initrd_addr_max; a boot area in low memory (reserved in the guest's E820
// map) holds the zero page, the command line, a GDT with the boot protocol's selectors
// (10H flat 64-bit code, 18H flat data), a TSS and page tables that identity-map 4 GiB.
// Entry: RIP = load + 200H, RSI = the zero page, RFLAGS.IF = 0, 64-bit mode.
import VMX

/// Why a Linux kernel could not be started.
public enum LinuxLoadError: Error {
    case options(GuestImageError)
    case bootProtocol(LinuxBootError)
    case needsEPT
    case needs2MBEPTPages
    case needsIA32eModeGuest
    case budgetNeedsPreemptionTimer
    case initrdNotFound(String)
    case noRAM
    case noRoomForBootArea
    case noRoomForKernel(initSize: UInt64, alignment: UInt64)
    case noRoomForInitrd(size: UInt64, limit: UInt64)
    case outOfArenaMemory(StaticString)
    case vmcs(GuestBuildError)

    public func describe(into text: inout LogText) {
        switch self {
        case .options(let error): error.describe(into: &text)
        case .bootProtocol(let error): error.describe(into: &text)
        case .needsEPT:
            text.appendLiteral("refused: without EPT the hypervisor cannot keep a pass-through guest out of its memory")
        case .needs2MBEPTPages: text.appendLiteral("refused: EPT without 2-MiB pages cannot map the machine")
        case .needsIA32eModeGuest:
            text.appendLiteral("refused: the VM-entry control \"IA-32e mode guest\" is not allowed")
        case .budgetNeedsPreemptionTimer:
            text.appendLiteral(
                """
                refused: budget= needs the VMX-preemption timer, which this CPU does not offer (the local APIC is \
                the guest's)
                """
            )
        case .initrdNotFound(let name): text.append("initrd=\(outside: name): no boot module has name=\(outside: name)")
        case .noRAM: text.appendLiteral("the kernel could not give up any RAM for the guest")
        case .noRoomForBootArea:
            text.appendLiteral("no room below 1 MiB for the zero page, command line and boot page tables")
        case .noRoomForKernel(let size, let alignment):
            text.append("no \(hex: alignment)-aligned range of \(hex: size) bytes (init_size) in the guest's RAM")
        case .noRoomForInitrd(let size, let limit):
            text.append(
                "the initrd (\(size) bytes) does not fit in the guest's RAM below initrd_addr_max \(hex: limit)")
        case .outOfArenaMemory(let what): text.append("no room in the arena for \(what)")
        case .vmcs(let error): error.describe(into: &text)
        }
    }
}

/// Where the boot area's parts are, from its start (guest-physical = host-physical).
enum LinuxBootArea {
    static let zeroPage: UInt64 = 0x0000
    static let commandLine: UInt64 = 0x1000
    static let gdt: UInt64 = 0x2000
    static let tss: UInt64 = 0x2100
    static let stackTop: UInt64 = 0x3000
    static let pml4: UInt64 = 0x3000
    static let pdpt: UInt64 = 0x4000
    static let pageDirectories: UInt64 = 0x5000  // four: 4 GiB of 2-MiB pages
    static let setupData: UInt64 = 0x9000  // SETUP_E820_EXT, when the map is long
    static let size: UInt64 = 0xA000
    /// Searched from here: Linux keeps the first 64 KiB to itself (X86_RESERVE_LOW).
    static let lowest: UInt64 = 0x1_0000

    static let codeSelector: UInt16 = 0x10
    static let dataSelector: UInt16 = 0x18
    static let tssSelector: UInt16 = 0x20
    static let gdtLimit: UInt32 = 0x2F
}

/// The controls of a pass-through guest: the default set-up less what would take the machine
/// from it - external interrupts and NMIs go straight to the guest (its IDT, its APIC), HLT
/// halts the processor for the guest, CR8 is the guest's - where the CPU lets those be 0, and
/// without the VMX-preemption timer unless there is a budget.
extension ControlSetup {
    public func passThrough(capabilities caps: VMXCapabilities, budget: Bool) -> ControlSetup {
        var setup = self
        for control in [PinBasedControls.externalInterruptExiting, .nmiExiting]
        where caps.pinBasedControls.allowsZero(control) {
            setup.pinBased.remove(control)
        }
        if !setup.pinBased.contains(.nmiExiting) { setup.pinBased.remove(.virtualNMIs) }
        for control in [PrimaryProcessorBasedControls.hltExiting, .cr8LoadExiting, .cr8StoreExiting]
        where caps.primaryProcessorBasedControls.allowsZero(control) {
            setup.primary.remove(control)
        }
        if !budget && caps.pinBasedControls.allowsZero(.activateVMXPreemptionTimer) {
            setup.pinBased.remove(.activateVMXPreemptionTimer)
            setup.exit.remove(.saveVMXPreemptionTimerValue)
        }
        return setup
    }
}

/// The exit handlers of a pass-through guest: the standard table with its own I/O and MSR
/// handlers (PassThroughPorts.swift, PassThroughMSRs.swift).
extension ExitHandlerTable {
    public static var passThrough: ExitHandlerTable<P> {
        var table = ExitHandlerTable.standard
        table[.ioInstruction] = handlePassThroughIO
        table[.rdmsr] = handlePassThroughRDMSR
        table[.wrmsr] = handlePassThroughWRMSR
        table[.eptViolation] = handlePassThroughEPTViolation
        return table
    }
}

/// Builds and runs the Linux kernel in `image` with the initrd `initrd` (if any) as a
/// pass-through guest, then quiets the machine's interrupt sources it programmed.
public func runLinuxGuest<P: Host>(
    _ image: GuestImage, initrd: GuestImage?, options: LinuxModuleLine, environment: GuestEnvironment,
    machine: PassThroughMachine, others: OtherProcessors = .none, vpid: UInt16, arena: inout PageArena, cpu: P,
    debugging: GuestDebugHooks<P>? = nil
) -> GuestRun<P> {
    let vcpu: VirtualCPU<P>
    let applicationProcessors: PassThroughProcessors?
    do {
        (vcpu, applicationProcessors) = try buildLinuxGuest(
            image, initrd: initrd, options: options, environment: environment,
            machine: machine, others: others, vpid: vpid, arena: &arena, cpu: cpu)
    } catch {
        var text = LogText()
        text.append("guest \(options.name): cannot start Linux: ")
        error.describe(into: &text)
        cpu.log(LogMessage(stringInterpolation: text))
        return GuestRun(vcpu: nil, healthy: false)
    }
    if let applicationProcessors {
        let waiting = applicationProcessors.start(on: others, cpu: cpu)
        cpu.log(
            """
            guest \(options.name): \(applicationProcessors.group.count) virtual CPUs, one per processor: \(waiting) \
            application processors wait for SIPI
            """
        )
    }
    applicationProcessors?.group.setState(.running, of: 0, cpu: cpu)
    var run = runBuiltGuest(
        vcpu, name: options.name, budget: options.budget, isBuiltIn: false,
        statistics: environment.statistics, path: .swift, debugging: debugging)
    if let applicationProcessors {
        run.healthy = applicationProcessors.stop(on: others, cpu: cpu) && run.healthy
    }
    // For make bench (docs/BENCHMARKS.md): the hypervisor's share of the guest's time.
    let total = cpu.readTimestampCounter() &- run.firstEntryTimestamp
    let share = total == 0 ? 0 : vcpu.rootCycles * 100_000 / total  // thousandths of a percent
    let fraction = share % 1000
    cpu.log(
        """
        guest \(options.name): \(total) TSC cycles from the first VM entry to the stop, \(vcpu.rootCycles) in VMX \
        root operation (\(share / 1000).\(fraction / 100)\((fraction / 10) % 10)\(fraction % 10)%)
        """
    )
    quiesceMachine(cpu: cpu, platform: vcpu.platform)
    cpu.log("guest \(options.name): interrupt sources masked (I/O APIC, local APIC, HPET, PICs)")
    return run
}

func buildLinuxGuest<P: Host>(
    _ image: GuestImage, initrd: GuestImage?, options: LinuxModuleLine, environment env: GuestEnvironment,
    machine: PassThroughMachine, others: OtherProcessors, vpid: UInt16, arena: inout PageArena, cpu: P
) throws(LinuxLoadError) -> (VirtualCPU<P>, PassThroughProcessors?) {
    let header: LinuxSetupHeader
    do { header = try LinuxSetupHeader.parse(imageAt: image.address, size: image.size, cpu: cpu) } catch {
        throw .bootProtocol(error)
    }
    var setup = env.setup.passThrough(capabilities: env.capabilities, budget: options.budget != nil)
    guard setup.usesEPT else { throw .needsEPT }
    guard setup.allows2MBEPTPages else { throw .needs2MBEPTPages }
    guard setup.allowsIA32eModeGuest else { throw .needsIA32eModeGuest }
    guard options.budget == nil || setup.usesPreemptionTimer else { throw .budgetNeedsPreemptionTimer }
    // One virtual CPU per processor in VMX root operation, where the CPU allows it.
    let apicBase = cpu.readMSR(MSR.ia32APICBase)
    let (members, single) = PassThroughProcessors.plan(
        setup: setup, capabilities: env.capabilities, budget: options.budget != nil,
        here: cpu.localAPICID, others: others.apicIDs())
    let x2APIC = apicBase & LocalAPIC.x2APICMode != 0
    if members.count > 1 { setup = PassThroughProcessors.memberSetup(setup) }
    var commandLine = Array(options.kernelCommandLine.utf8)
    if let single {
        commandLine += Array(" nr_cpus=1".utf8)
        cpu.log("guest \(options.name): one virtual CPU (nr_cpus=1 added to its command line): \(single.text)")
    }
    guard UInt64(commandLine.count) <= UInt64(header.cmdlineSize) else {
        throw .bootProtocol(.commandLineTooLong(length: UInt64(commandLine.count), limit: UInt64(header.cmdlineSize)))
    }

    // Memory: what the kernel gives up, and where the guest's parts go.
    guard let granted = machine.claimGuestRAM(), !granted.isEmpty else { throw .noRAM }
    let memory = PassThroughMemory(firmwareMap: machine.firmwareMap, granted: granted)
    let page = PhysicalLayout.pageSize
    let sources =
        [PhysicalRange(start: image.address, size: image.size)]
        + (initrd.map { [PhysicalRange(start: $0.address, size: $0.size)] } ?? [])
    guard
        let bootArea = memory.lowestFit(
            size: LinuxBootArea.size, alignment: page, from: LinuxBootArea.lowest,
            below: 1 << 20, avoiding: sources)
    else { throw .noRoomForBootArea }
    let bootRange = PhysicalRange(start: bootArea, size: LinuxBootArea.size)
    let alignment = max(UInt64(header.kernelAlignment), page)
    let initSize = UInt64(header.initSize)
    let kernelStart: UInt64? =
        header.relocatableKernel
        ? memory.lowestFit(
            size: initSize, alignment: alignment, from: UInt64(header.prefAddress), below: PhysicalRange.fourGiB,
            avoiding: sources + [bootRange])
        : (memory.isGuestRAM(PhysicalRange(start: UInt64(header.prefAddress), size: initSize))
            ? UInt64(header.prefAddress) : nil)
    guard let load = kernelStart else { throw .noRoomForKernel(initSize: initSize, alignment: alignment) }
    let kernelRange = PhysicalRange(start: load, size: initSize)
    var ramdisk: PhysicalRange? = nil
    if let initrd {
        let limit = min(UInt64(header.initrdAddrMax) + 1, PhysicalRange.fourGiB)
        guard
            let start = memory.highestFit(
                size: initrd.size, alignment: page, below: limit,
                avoiding: sources + [bootRange, kernelRange])
        else { throw .noRoomForInitrd(size: initrd.size, limit: limit - 1) }
        ramdisk = PhysicalRange(start: start, size: initrd.size)
    }

    // The guest's memory map: the firmware's, with the hypervisor's RAM and the boot area reserved.
    let e820 = E820Map.build(firmware: machine.firmwareMap, hypervisor: memory.hypervisorRanges + [bootRange])
    for range in memory.hypervisorRanges {
        cpu.log(
            """
            guest \(options.name): E820 reserved [mem \
            \(hex: range.start, digits: 16)-\(hex: range.end - 1, digits: 16)] hypervisor
            """
        )
    }
    let platform = PassThroughPlatform()
    let rsdp = platform.discover(name: options.name, cpu: cpu)

    // The kernel, the initrd, the boot area.
    cpu.copyPhysical(
        from: image.address + header.protectedModeOffset, to: load,
        count: image.size - header.protectedModeOffset)
    if let initrd, let ramdisk { cpu.copyPhysical(from: initrd.address, to: ramdisk.start, count: initrd.size) }
    cpu.zeroPhysical(bootArea, count: Int(LinuxBootArea.size))
    do {
        try LinuxZeroPage.writeCommandLine(
            commandLine, at: bootArea + LinuxBootArea.commandLine, header: header, cpu: cpu)
        let zeroPage = LinuxZeroPage(
            commandLineAddress: bootArea + LinuxBootArea.commandLine,
            ramdiskAddress: ramdisk?.start ?? 0, ramdiskSize: ramdisk?.size ?? 0, e820: e820,
            acpiRSDPAddress: rsdp ?? 0, setupDataAddress: bootArea + LinuxBootArea.setupData)
        try zeroPage.write(at: bootArea + LinuxBootArea.zeroPage, header: header, cpu: cpu)
    } catch {
        throw .bootProtocol(error)
    }
    writeLinuxBootTables(at: bootArea, cpu: cpu)
    cpu.log(
        """
        guest \(options.name): Linux boot protocol \
        \(header.protocolVersion >> 8).\(header.protocolVersion & 0xFF), kernel at \(hex: load) (init_size \
        \(hex: initSize)), initrd at \(hex: ramdisk?.start ?? 0) (\(ramdisk?.size ?? 0) bytes), boot area \
        \(hex: bootArea)
        """
    )
    cpu.log(
        """
        guest \(options.name): command line \
        \"\(outside: options.kernelCommandLine, limit: OutsideText.commandLineLimit)\"
        """
    )

    // EPT, bitmaps, VMCS.
    // The MADT's pages and, for several virtual CPUs, the local APIC's are mapped on their own.
    let apicPage = apicBase & LocalAPIC.baseMask
    var separate = platform.madtPages.map { [$0] } ?? []
    let takesAPICPage = members.count > 1 && !x2APIC
    if takesAPICPage { separate.append(PhysicalRange(start: apicPage, size: PhysicalLayout.pageSize)) }
    guard let ept = EPT(memoryType: setup.eptMemoryType, arena: &arena, cpu: cpu),
        memory.mapIdentity(into: ept, separate: separate, arena: &arena, cpu: cpu)
    else { throw .outOfArenaMemory("EPT tables") }
    // The processors it has a virtual CPU on; the others are hidden.
    if let (hidden, listed) = platform.hideOtherProcessors(but: members, ept: ept, arena: &arena, cpu: cpu), hidden > 0
    {
        cpu.log(
            """
            guest \(options.name): ACPI: the MADT it reads lists \(listed) processors, \(hidden) of them hidden (a \
            copy mapped over the original): the guest runs on \(members.count) of them
            """
        )
    }
    var group: GuestProcessorGroup? = nil
    if members.count > 1 {
        guard
            !takesAPICPage
                || ept.map(
                    guestPhysical: apicPage, host: apicPage, bytes: PhysicalLayout.pageSize, permissions: [.read],
                    largePages: false, memoryType: EPT.uncacheable, arena: &arena, cpu: cpu),
            let page = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu)
        else { throw .outOfArenaMemory("the virtual CPUs' shared page") }
        platform.localAPICPage = takesAPICPage ? apicPage : nil
        group = GuestProcessorGroup(
            page: page, apicIDs: members, ticksPerMillisecond: cpu.timestampTicksPerMillisecond,
            timerRate: setup.preemptionTimerRate)
    }
    guard
        let bitmaps = Bitmaps(
            exitingPorts: platform.exitingPorts, msrs: PassThroughMSRs.intercepted,
            writtenMSRs: PassThroughMSRs.interceptedWrites
                + (members.count > 1 && x2APIC ? [PassThroughMSRs.x2APICInterruptCommand] : []),
            arena: &arena, cpu: cpu)
    else { throw .outOfArenaMemory("the I/O and MSR bitmaps") }
    guard platform.reserveScratch(arena: &arena, cpu: cpu) else { throw .outOfArenaMemory("the scratch page") }
    platform.memory = memory
    let basic = env.capabilities.basic
    guard let vmcs = arena.allocate(bytes: UInt64(basic.vmcsRegionSize), zeroingWith: cpu) else {
        throw .outOfArenaMemory("the VMCS")
    }
    cpu.writePhysical32(vmcs, basic.revisionIdentifier)
    do { try cpu.vmclear(vmcs) } catch { throw .vmcs(.vmcsInstructionFailed(instruction: "VMCLEAR", error)) }
    do { try cpu.vmptrld(vmcs) } catch { throw .vmcs(.vmcsInstructionFailed(instruction: "VMPTRLD", error)) }
    let start = linuxStartState(
        bootArea: bootArea, entry: load + 0x200, cr0Fixed: env.guestCR0Fixed,
        cr4Fixed: env.guestCR4Fixed)
    let rate = UInt64(setup.preemptionTimerRate)
    let contents = GuestVMCSContents(
        start: start, bitmaps: bitmaps, eptPointer: ept.pointer, vpid: vpid, cr0Mask: env.cr0Mask,
        cr4Mask: env.cr4Mask, exceptionBitmap: 0,
        preemptionTimerValue: group?.watchdogTicks ?? UInt32(min((options.budget ?? 0) >> rate, UInt64(UInt32.max))),
        pat: GuestEnvironment.powerUpPAT)
    if let failure = writeVMCS(setup: setup, host: env.host, guest: contents, cpu: cpu) {
        try? cpu.vmclear(vmcs)
        throw .vmcs(.vmwriteFailed(failure))
    }
    if let type = setup.inveptType { try? cpu.invept(type: type, eptp: ept.pointer) }
    if setup.usesVPID, let type = setup.invvpidType { try? cpu.invvpid(type: type, vpid: vpid, address: 0) }

    let guestMemory = GuestMemory(host: 0, size: memory.mappedTop, physicalBase: 0, ept: ept)
    let vcpu = VirtualCPU(
        cpu: cpu, name: options.name, setup: setup, memory: guestMemory, statistics: env.statistics,
        vmcs: vmcs, vpid: vpid, cr0Fixed: env.guestCR0Fixed, cr4Fixed: env.guestCR4Fixed,
        cr0Mask: env.cr0Mask, cr4Mask: env.cr4Mask, exceptionBitmap: 0, handlers: .passThrough)
    vcpu.registers.rsi = bootArea + LinuxBootArea.zeroPage
    vcpu.shadowEFER = start.efer
    vcpu.budgetCycles = options.budget ?? 0
    vcpu.cpuidView = .passThrough
    vcpu.platform = platform
    vcpu.countsRootTime = true
    guard let group else { return (vcpu, nil) }
    vcpu.group = group
    vcpu.handlers[.preemptionTimerExpired] = handleGroupWatchdog
    let others = try buildApplicationProcessors(
        group, name: options.name, setup: setup, environment: env, contents: contents, memory: guestMemory,
        platform: platform, vpid: vpid, arena: &arena, cpu: cpu)
    return (vcpu, others)
}

/// Each application processor's VMCS region and exit-statistics page.
func buildApplicationProcessors<P: Host>(
    _ group: GuestProcessorGroup, name: OutsideText, setup: ControlSetup, environment env: GuestEnvironment,
    contents: GuestVMCSContents, memory: GuestMemory, platform: PassThroughPlatform, vpid: UInt16,
    arena: inout PageArena, cpu: P
) throws(LinuxLoadError) -> PassThroughProcessors {
    let basic = env.capabilities.basic
    var regions: [UInt64] = [], pages: [UInt64] = [], vpids: [UInt16] = []
    for member in 1..<group.count {
        guard let region = arena.allocate(bytes: UInt64(basic.vmcsRegionSize), zeroingWith: cpu),
            let statistics = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu)
        else { throw .outOfArenaMemory("the application processors' VMCSs") }
        cpu.writePhysical32(region, basic.revisionIdentifier)
        regions.append(region)
        pages.append(statistics)
        vpids.append(vpid &+ UInt16(truncatingIfNeeded: member) &* 256)
    }
    return PassThroughProcessors(
        name: name, group: group, setup: setup, environment: env,
        contents: contents, memory: memory, platform: platform, vmcsRegions: regions, statisticsPages: pages,
        vpids: vpids)
}

/// The GDT (null, unused, 10H code, 18H data, 20H TSS), the TSS and the identity map of 4 GiB
/// (PML4 -> PDPT -> four page directories of 2-MiB pages, present and writable).
func writeLinuxBootTables<P: Processor>(at area: UInt64, cpu: P) {
    let gdt = area + LinuxBootArea.gdt
    cpu.writePhysical64(gdt + UInt64(LinuxBootArea.codeSelector), SegmentDescriptor.flatCode64.rawValue)
    cpu.writePhysical64(gdt + UInt64(LinuxBootArea.dataSelector), SegmentDescriptor.flatData.rawValue)
    let tss = SegmentDescriptor.system(
        base: area + LinuxBootArea.tss, limit: UInt64(GuestStructures.tssLimit),
        type: SystemDescriptorType.busyTSS32)
    cpu.writePhysical64(gdt + UInt64(LinuxBootArea.tssSelector), tss.low)
    cpu.writePhysical64(gdt + UInt64(LinuxBootArea.tssSelector) + 8, tss.high)
    let present: UInt64 = 0x3, largePage: UInt64 = 0x80
    cpu.writePhysical64(area + LinuxBootArea.pml4, area + LinuxBootArea.pdpt | present)
    for gigabyte in 0..<UInt64(4) {
        let directory = area + LinuxBootArea.pageDirectories + gigabyte * PhysicalLayout.pageSize
        cpu.writePhysical64(area + LinuxBootArea.pdpt + gigabyte * 8, directory | present)
        for entry in 0..<UInt64(512) {
            cpu.writePhysical64(directory + entry * 8, (gigabyte << 30 | entry << 21) | present | largePage)
        }
    }
}

/// 64-bit mode as the boot protocol wants it: paging by the boot area's tables, CS 10H, the
/// data segments 18H, IF = 0, the TSS of the boot area in TR.
func linuxStartState(bootArea: UInt64, entry: UInt64, cr0Fixed: FixedBits, cr4Fixed: FixedBits) -> GuestStartState {
    let data = SegmentState(
        selector: LinuxBootArea.dataSelector, base: 0, limit: 0xFFFF_FFFF,
        accessRights: SegmentAccessRights.flatData.rawValue)
    let code = SegmentState(
        selector: LinuxBootArea.codeSelector, base: 0, limit: 0xFFFF_FFFF,
        accessRights: SegmentAccessRights.flatCode64.rawValue)
    let tss = SegmentState(
        selector: LinuxBootArea.tssSelector, base: bootArea + LinuxBootArea.tss,
        limit: GuestStructures.tssLimit, accessRights: SegmentAccessRights.presentBusyTSS.rawValue)
    let cr0 = ControlRegister0([.pe, .mp, .et, .ne, .wp, .pg]).rawValue
    let cr4 = ControlRegister4([.pae]).rawValue
    let caches = ControlRegister0([.cd, .nw]).rawValue
    return GuestStartState(
        cr0: cr0Fixed.apply(to: cr0 & ~caches), cr0Shadow: cr0, cr3: bootArea + LinuxBootArea.pml4,
        cr4: cr4Fixed.apply(to: cr4), cr4Shadow: cr4, efer: ExtendedFeatureEnable.ia32eMode.rawValue, cs: code,
        ss: data, ds: data, es: data,
        fs: data, gs: data, tr: tss, ldtr: .unusable, gdtrBase: bootArea + LinuxBootArea.gdt,
        gdtrLimit: LinuxBootArea.gdtLimit, idtrBase: 0, idtrLimit: 0, rip: entry,
        rsp: bootArea + LinuxBootArea.stackTop, rflags: 2, rdx: 0)
}

extension PassThroughMemory {
    /// The lowest `alignment`-aligned start at or above `from` of `size` bytes of guest RAM
    /// ending at or below `below`, clear of `avoiding`.
    func lowestFit(size: UInt64, alignment: UInt64, from: UInt64, below: UInt64, avoiding: [PhysicalRange]) -> UInt64? {
        for range in guestRAM {
            var start = max(range.start, from)
            start = (start + alignment - 1) & ~(alignment - 1)
            while start + size <= min(range.end, below) {
                let candidate = PhysicalRange(start: start, size: size)
                guard let blocker = avoiding.first(where: { $0.overlaps(candidate) }) else { return start }
                start = (blocker.end + alignment - 1) & ~(alignment - 1)
            }
        }
        return nil
    }

    /// The highest such start below `below`.
    func highestFit(size: UInt64, alignment: UInt64, below: UInt64, avoiding: [PhysicalRange]) -> UInt64? {
        for range in guestRAM.reversed() {
            let top = min(range.end, below)
            guard top >= range.start + size else { continue }
            var start = (top - size) & ~(alignment - 1)
            while start >= range.start {
                let candidate = PhysicalRange(start: start, size: size)
                guard let blocker = avoiding.first(where: { $0.overlaps(candidate) }) else { return start }
                guard blocker.start >= range.start + size else { break }
                start = (blocker.start - size) & ~(alignment - 1)
            }
        }
        return nil
    }
}
