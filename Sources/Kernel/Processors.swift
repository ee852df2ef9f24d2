// Every processor under the hypervisor. The application processors (APs) the ACPI MADT lists
// are started with INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4 "MP Initialization Example") through a
// real-mode trampoline (boot/ap.asm) into long mode on the kernel's page tables; each gets its
// own stack (with a checked guard page below it), GDT, TSS with IST stacks and a per-CPU block
// that GS base points at. After the bootstrap processor (BSP) has entered VMX root operation
// each AP compares its VMX capability MSRs with the BSP's and runs the same enable sequence
// (EnableVMX.swift) with its own VMXON region; then, while the BSP runs its guests, each runs
// the built-in guests (Sources/Hypervisor/Guests/OtherProcessors.swift); at the end each
// executes VMXOFF and clears CR4.VMXE before the BSP does.
//
// Concurrency: the BSP hands out work through each AP's block (a command word the AP clears
// when done). Start-up and VMX enable/disable run one AP at a time while the BSP waits. Guests
// run on all processors at once; what they share is read-only by then, or locked: the heap
// (Heap.swift: one lock, which also covers the page allocator behind it) and the console (one
// line at a time, Serial.swift). Per processor, in its block: the guests' x87/SSE save area
// (boot/vmx.asm), the host timer's state (HostTimer.swift), the exception report's flag; the
// IST stacks are its own pages (the BSP's are the fixed ones below 1 MiB). docs/KERNEL.md,
// "Several processors".
import Hypervisor
import Intrinsics
import VMX

/// One processor's block: one page, GS base points at it. The first fields are read by
/// boot/ap.asm (the stack top) and by `PerCPU.current` (the pointer to itself).
struct PerCPU {
    let address: UInt64

    static let selfOffset: UInt64 = 0
    static let indexOffset: UInt64 = 8
    static let apicIDOffset: UInt64 = 12
    static let stackTopOffset: UInt64 = 16  // boot/ap.asm PERCPU_STACK_TOP
    static let guardOffset: UInt64 = 24  // the guard page below the stack
    static let commandOffset: UInt64 = 32
    static let stateOffset: UInt64 = 36
    static let vmxonOffset: UInt64 = 40  // the VMXON region's page
    static let istOffset: UInt64 = 48  // three IST stacks, one page each
    static let hostTimerArmedOffset: UInt64 = 56  // HostTimer.armed
    static let reportingOffset: UInt64 = 60  // an exception is being reported
    static let slotOffset: UInt64 = 64  // its slice of the work (OtherProcessorWork)
    static let guestsHealthyOffset: UInt64 = 68  // 1: its guests ran without a hypervisor fault
    static let vmxRootOffset: UInt64 = 72  // 1: in VMX root operation
    static let acknowledgedOffset: UInt64 = 76  // the command the AP has taken up
    static let gdtOffset: UInt64 = 256
    static let tssOffset: UInt64 = 512
    static let guestFXOffset: UInt64 = 1024  // boot/vmx.asm PERCPU_GUEST_FX, 512 bytes

    private var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(address))! }
    private func field32(_ offset: UInt64) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutablePointer<UInt32>(bitPattern: UInt(address + offset))!
    }

    var index: UInt32 { raw.load(fromByteOffset: Int(Self.indexOffset), as: UInt32.self) }
    var apicID: UInt32 { raw.load(fromByteOffset: Int(Self.apicIDOffset), as: UInt32.self) }
    var stackTop: UInt64 { raw.load(fromByteOffset: Int(Self.stackTopOffset), as: UInt64.self) }
    var guardPage: UInt64 { raw.load(fromByteOffset: Int(Self.guardOffset), as: UInt64.self) }
    var vmxonPage: UInt64 { raw.load(fromByteOffset: Int(Self.vmxonOffset), as: UInt64.self) }
    var interruptStacks: UInt64 { raw.load(fromByteOffset: Int(Self.istOffset), as: UInt64.self) }

    /// The BSP's command (0: none); the AP clears it when done.
    var command: UInt32 {
        get { self[word: Self.commandOffset] }
        nonmutating set { self[word: Self.commandOffset] = newValue }
    }
    /// What the AP has reached (`APState`).
    var state: UInt32 {
        get { self[word: Self.stateOffset] }
        nonmutating set { self[word: Self.stateOffset] = newValue }
    }

    /// A 32-bit field, read and written atomically.
    subscript(word offset: UInt64) -> UInt32 {
        get { x86_atomic_load32(field32(offset)) }
        nonmutating set { x86_atomic_store32(field32(offset), newValue) }
    }

    func initialize(index: UInt32, apicID: UInt32, stackTop: UInt64, guardPage: UInt64, vmxon: UInt64, ist: UInt64) {
        raw.storeBytes(of: address, toByteOffset: Int(Self.selfOffset), as: UInt64.self)
        raw.storeBytes(of: index, toByteOffset: Int(Self.indexOffset), as: UInt32.self)
        raw.storeBytes(of: apicID, toByteOffset: Int(Self.apicIDOffset), as: UInt32.self)
        raw.storeBytes(of: stackTop, toByteOffset: Int(Self.stackTopOffset), as: UInt64.self)
        raw.storeBytes(of: guardPage, toByteOffset: Int(Self.guardOffset), as: UInt64.self)
        raw.storeBytes(of: vmxon, toByteOffset: Int(Self.vmxonOffset), as: UInt64.self)
        raw.storeBytes(of: ist, toByteOffset: Int(Self.istOffset), as: UInt64.self)
    }

    /// This processor's block (GS base), or nil before the BSP has set its own.
    static var current: PerCPU? {
        guard Processors.perCPUReady else { return nil }
        return PerCPU(address: x86_read_gs_quadword0())
    }

    /// The guard page holds this pattern; a stack that overflowed into it changed it.
    static let guardPattern: UInt64 = 0x5354_4143_4B47_5244  // "DRGKCATS"

    var guardIntact: Bool {
        let words = UnsafeMutablePointer<UInt64>(bitPattern: UInt(guardPage))!
        for index in 0..<512 where words[index] != Self.guardPattern { return false }
        return true
    }
}

enum APState {
    static let starting: UInt32 = 0
    static let online: UInt32 = 1
    static let inVMX: UInt32 = 2
    static let leftOut: UInt32 = 3
    static let done: UInt32 = 4
}

enum APCommand {
    static let enableVMX: UInt32 = 1
    static let disableVMX: UInt32 = 2
    static let runGuests: UInt32 = 3
}

/// The start-up slot in boot/ap.asm: (APIC ID << 8) | state.
enum APBootSlot {
    static let waiting: UInt32 = 1
    static let arrived: UInt32 = 2
    static let cancelled: UInt32 = 3
}

/// The TSC as a clock: its rate measured against PIT channel 2 (CPUID 15H/16H where that
/// fails). Every wait is bounded by TSC ticks and by a number of loop turns, so that a wrong
/// rate (Bochs with `clock: sync=none`, whose TSC follows instructions) cannot make it endless.
enum TSCClock {
    nonisolated(unsafe) static var ticksPerMillisecond: UInt64 = 0

    /// PIT channel 2, mode 0, 10 ms (11932 ticks of 1.193182 MHz): the TSC ticks until OUT2
    /// (port 61H bit 5) rises. Returns the rate and how it was measured.
    static func calibrate() -> StaticString {
        let control = x86_inb(0x61)
        x86_outb(0x61, (control & ~0x02) | 0x01)  // gate 2 on, speaker off
        x86_outb(0x43, 0xB0)  // channel 2, low/high byte, mode 0
        let count: UInt16 = 11932
        x86_outb(0x42, UInt8(count & 0xFF))
        x86_outb(0x42, UInt8(count >> 8))
        let start = x86_rdtsc()
        var turns = 0
        while x86_inb(0x61) & 0x20 == 0 && turns < 50_000_000 { turns += 1 }
        let ticks = x86_rdtsc() &- start
        x86_outb(0x61, control)
        if x86_inb(0x61) & 0x20 != 0 || turns < 50_000_000, ticks >= 1000 {
            ticksPerMillisecond = ticks / 10
            return "PIT channel 2 over 10 ms"
        }
        // CPUID 15H: TSC = crystal (ECX) * EBX / EAX; 16H: base frequency in MHz (EAX).
        let maximum = x86_cpuid(0, 0).eax
        if maximum >= 0x15 {
            let leaf = x86_cpuid(0x15, 0)
            if leaf.eax != 0 && leaf.ebx != 0 && leaf.ecx != 0 {
                ticksPerMillisecond = UInt64(leaf.ecx) * UInt64(leaf.ebx) / UInt64(leaf.eax) / 1000
                return "CPUID 15H"
            }
        }
        if maximum >= 0x16, x86_cpuid(0x16, 0).eax & 0xFFFF != 0 {
            ticksPerMillisecond = UInt64(x86_cpuid(0x16, 0).eax & 0xFFFF) * 1000
            return "CPUID 16H"
        }
        ticksPerMillisecond = 1_000_000  // 1 GHz, a guess; the turn bounds still hold
        return "a guess of 1 GHz (no PIT answer, no CPUID 15H/16H)"
    }

    /// Waits until `done` or `microseconds` have passed (and at most 1000 turns per microsecond).
    /// Returns whether `done` became true.
    @discardableResult
    static func wait(microseconds: UInt64, until done: () -> Bool = { false }) -> Bool {
        let deadline = x86_rdtsc() &+ ticksPerMillisecond * microseconds / 1000
        var turns: UInt64 = 0
        let maximumTurns = microseconds * 1000
        while x86_rdtsc() < deadline && turns < maximumTurns {
            if done() { return true }
            x86_pause()
            turns += 1
        }
        return done()
    }
}

enum Processors {
    /// Set once the BSP's GS base points at its block: `PerCPU.current` and the console lock work.
    nonisolated(unsafe) static var perCPUReady = false
    /// Every started AP's block (the BSP's is `bootstrap`).
    nonisolated(unsafe) static var applicationProcessors: [PerCPU] = []
    nonisolated(unsafe) static var bootstrap: PerCPU? = nil
    /// The processors the MADT lists as enabled, the BSP's included.
    nonisolated(unsafe) static var listed = 1
    /// The BSP's VMX capability MSRs (address, value) in the order VMXCapabilities.read reads them.
    nonisolated(unsafe) static var bootstrapCapabilities = CapabilityReadings()
    nonisolated(unsafe) static var bootstrapInVMX = false
    /// `fault-cpu=N`: the AP that faults in its start-up, for the boot tests.
    nonisolated(unsafe) static var faultingProcessor: UInt32? = nil
    /// The guests the APs run (OtherProcessors.swift) and the APs running them.
    nonisolated(unsafe) static var guestWork: OtherProcessorWork? = nil
    nonisolated(unsafe) static var guestRunners: [PerCPU] = []
    /// The BSP's local APIC, for the NMIs that wake a waiting AP.
    nonisolated(unsafe) static var sender: LocalAPICSender? = nil

    static let stackPages = 4
    /// Pages per AP: guard, stack, three IST stacks, the per-CPU block, the VMXON region.
    static let pagesPerAP = 1 + stackPages + 3 + 1 + 1

    static let gsBaseMSR = MSR.ia32GSBase

    /// The BSP's block; then the MADT's processors, each AP started and waiting for commands.
    /// `options`: the boot tests' bad input (`madt-add=`, `fault-cpu=`).
    static func startAll(_ info: BootInformation, options: BootOptions) {
        let cpu = RealProcessor()
        // Every processor needs its block: the VM-exit stub keeps the guest's x87/SSE state in it.
        guard let block = KernelMemory.pages!.allocatePage(below: IdentityMap.limit) else {
            log("FATAL: no page for the bootstrap processor's per-CPU block")
            exitMachine(success: false)
        }
        let apicBase = x86_rdmsr(MSR.ia32APICBase)
        let x2APIC = apicBase & LocalAPIC.x2APICMode != 0
        let bspAPICID =
            x2APIC
            ? UInt32(truncatingIfNeeded: x86_rdmsr(LocalAPIC.msr(LocalAPIC.id)))
            : x86_cpuid(1, 0).ebx >> 24
        let bsp = PerCPU(address: block)
        bsp.initialize(index: 0, apicID: bspAPICID, stackTop: 0, guardPage: 0, vmxon: 0, ist: 0)
        bsp.state = APState.online
        bootstrap = bsp
        x86_wrmsr(gsBaseMSR, block)
        perCPUReady = true
        faultingProcessor = options.faultingProcessor

        let madt: ACPIMADT
        do {
            madt = try ACPIMADT.read(
                root: try ACPIRootTable.read(rsdp: try ACPIRSDP.find(cpu: cpu), cpu: cpu), cpu: cpu)
        } catch {
            var text = LogText()
            text.appendLiteral("processors: the bootstrap processor only: ACPI: ")
            error.describe(into: &text)
            cpu.log(LogMessage(stringInterpolation: text))
            return
        }
        var entries = madt.processors
        for id in options.extraAPICIDs {
            entries.append(
                ACPIMADT.LocalAPIC(processorUID: id, apicID: id, flags: ACPIMADT.flagEnabled, isX2APIC: x2APIC))
        }
        let enabled = entries.filter { $0.isEnabled }
        logText("processors: the ACPI MADT lists \(enabled.count) enabled (APIC IDs")
        for processor in enabled { logText(" \(processor.apicID)") }
        log("); the bootstrap processor is APIC ID \(bspAPICID)")
        if !options.extraAPICIDs.isEmpty {
            logText("processors: madt-add: the last")
            for id in options.extraAPICIDs { logText(" \(id)") }
            log(" are the boot command line's, not the MADT's")
        }
        let plan = MADTProcessors(entries, bootstrapAPICID: bspAPICID, x2APIC: x2APIC)
        for id in plan.duplicates {
            log("processors: APIC ID \(id) is listed more than once: started once, the other entries left out")
        }
        for id in plan.unaddressable {
            log(
                """
                processors: APIC ID \(hex: UInt64(id)) left out: an IPI to it would go to every processor (or, in \
                xAPIC mode, cannot name it)
                """
            )
        }
        if !plan.listsBootstrapProcessor {
            log(
                """
                processors: the MADT does not list the bootstrap processor (APIC ID \(bspAPICID)); counted all the \
                same
                """
            )
        }
        listed = plan.count
        guard !plan.applicationProcessors.isEmpty else { return }

        guard apicBase & LocalAPIC.globalEnable != 0 else {
            log(
                "processors: the bootstrap processor only: its local APIC is disabled (IA32_APIC_BASE \(hex: apicBase))"
            )
            return
        }
        guard let trampoline = trampolinePage(info) else {
            log("processors: the bootstrap processor only: no free 4-KiB page below 1 MiB for the start-up trampoline")
            return
        }
        let source = UnsafeRawPointer(bitPattern: UInt(kernel_ap_trampoline_start()))!
        let size = Int(kernel_ap_trampoline_end() - kernel_ap_trampoline_start())
        UnsafeMutableRawPointer(bitPattern: UInt(trampoline))!.copyMemory(from: source, byteCount: size)
        let how = TSCClock.calibrate()
        log(
            """
            processors: TSC \(TSCClock.ticksPerMillisecond * 1000) Hz (\(how)); trampoline at \(hex: trampoline), \
            SIPI vector \(hex: trampoline >> 12)
            """
        )

        let apic = LocalAPICSender(base: apicBase & LocalAPIC.baseMask, x2APIC: x2APIC)
        apic.softwareEnable()
        sender = apic
        // Each AP keeps its number in the list whether or not it comes up: the lines stay
        // comparable from one boot to the next.
        for (position, apicID) in plan.applicationProcessors.enumerated() {
            start(apicID, index: UInt32(position + 1), vector: UInt32(trampoline >> 12))
        }
    }

    /// A free page for the trampoline: available RAM in [9000H, 9F000H), clear of the kernel's
    /// early memory and of the boot information.
    private static func trampolinePage(_ info: BootInformation) -> UInt64? {
        var page = (kernel_low_memory_end() + 0xFFF) & ~0xFFF
        while page < 0x9F000 {
            let range = PhysicalRange(start: page, end: page + 0x1000)
            if info.isAvailableRAM(range) && !info.occupied.contains(where: { $0.overlaps(range) }) { return page }
            page += 0x1000
        }
        return nil
    }

    /// INIT-SIPI-SIPI (startProcessor, ProcessorStartup.swift); then up to 500 ms for the AP to
    /// report online.
    @discardableResult
    private static func start(_ apicID: UInt32, index: UInt32, vector: UInt32) -> Bool {
        guard let pages = KernelMemory.pages!.allocateContiguousPages(pagesPerAP, below: IdentityMap.limit) else {
            log("cpu \(index) (APIC ID \(apicID)): left out: no \(pagesPerAP) free pages for its stacks and blocks")
            return false
        }
        let page = PhysicalPageAllocator.pageSize
        let guardPage = pages
        let stackTop = pages + UInt64(1 + stackPages) * page
        let ist = stackTop
        let block = PerCPU(address: ist + 3 * page)
        let guardWords = UnsafeMutablePointer<UInt64>(bitPattern: UInt(guardPage))!
        for word in 0..<512 { guardWords[word] = PerCPU.guardPattern }
        block.initialize(
            index: index, apicID: apicID, stackTop: stackTop, guardPage: guardPage,
            vmxon: block.address + page, ist: ist)

        x86_atomic_store64(kernel_ap_boot_percpu(), block.address)
        let slot = kernel_ap_boot_state()
        x86_atomic_store32(slot, apicID << 8 | APBootSlot.waiting)
        let delivered = startProcessor(
            apicID: apicID, vector: UInt8(truncatingIfNeeded: vector), cpu: RealProcessor(),
            delay: { TSCClock.wait(microseconds: $0) })
        if !TSCClock.wait(microseconds: 500_000, until: { block.state != APState.starting }) {
            // The trampoline checks the slot: cancelled, a late AP halts there.
            let cancelled = x86_atomic_cas32(slot, apicID << 8 | APBootSlot.waiting, apicID << 8 | APBootSlot.cancelled)
            if cancelled || !TSCClock.wait(microseconds: 500_000, until: { block.state != APState.starting }) {
                let why: StaticString =
                    cancelled ? "never reached the trampoline's claim" : "claimed the slot but never came online"
                let pending: StaticString = delivered ? "" : "; an IPI stayed pending"
                log(
                    """
                    cpu \(index) (APIC ID \(apicID)): left out: no answer within 500 ms of INIT-SIPI-SIPI \
                    (\(why)\(pending))
                    """
                )
                return false
            }
        }
        if block.state == APState.leftOut {
            log("cpu \(index) (APIC ID \(apicID)): left out: it faulted during its start-up (the lines above)")
            return false
        }
        applicationProcessors.append(block)
        log(
            """
            cpu \(index) (APIC ID \(apicID)): online in long mode: stack \
            [\(hex: stackTop - UInt64(stackPages) * page), \(hex: stackTop)) above a guard page, own GDT, TSS and \
            IST stacks, GS base \(hex: block.address)
            """
        )
        return true
    }

    // MARK: VMX on every processor

    /// After the BSP's VMXON: its capability MSRs, then each AP's enable, one after the other.
    static func enableVMXOnOthers() {
        bootstrapInVMX = true
        guard !applicationProcessors.isEmpty else { return }
        bootstrapCapabilities = CapabilityReadings.read(using: { x86_rdmsr($0) })
        for ap in applicationProcessors {
            _ = command(ap, APCommand.enableVMX, what: "enabling VMX")
        }
    }

    /// Before the BSP's VMXOFF: every AP in VMX leaves it.
    static func disableVMXOnOthers() {
        for ap in applicationProcessors where ap.state == APState.inVMX {
            _ = command(ap, APCommand.disableVMX, what: "leaving VMX")
        }
    }

    /// The last line before the exit: how many processors were in VMX root operation, and
    /// whether any is still there (halted after a fault, or not answering). Returns whether
    /// every one has left it: a processor left in VMX root operation fails the run.
    static func reportVirtualised() -> Bool {
        guard bootstrapInVMX else { return true }
        var virtualised = 1, stuck = 0
        for ap in applicationProcessors where ap.state == APState.done || ap[word: PerCPU.vmxRootOffset] != 0 {
            virtualised += 1
            if ap[word: PerCPU.vmxRootOffset] != 0 { stuck += 1 }
        }
        if stuck == 0 {
            log(
                """
                processors: \(virtualised) of \(listed) CPUs were virtualised (in VMX root operation), and every \
                one has left it
                """
            )
            return true
        } else {
            log(
                """
                processors: \(virtualised) of \(listed) CPUs were virtualised (in VMX root operation); \(stuck) of \
                them did not leave it (halted after a fault, or not answering)
                """
            )
            return false
        }
    }

    // MARK: Guests on every processor

    /// The APs that can take guests: in VMX root operation and waiting.
    static var readyForGuests: [PerCPU] {
        applicationProcessors.filter { $0.state == APState.inVMX && $0.command == 0 }
    }

    /// Hands each ready AP its slot of `work` (in the order of `readyForGuests`) and returns.
    static func startGuests(_ work: OtherProcessorWork) {
        guestWork = work
        guestRunners = readyForGuests
        for (slot, ap) in guestRunners.enumerated() {
            ap[word: PerCPU.slotOffset] = UInt32(slot)
            ap[word: PerCPU.guestsHealthyOffset] = 0
            give(ap, APCommand.runGuests)
        }
    }

    /// Waits until every AP given guests is done: at most a minute each, longer than the
    /// built-in guests' budgets together. Returns whether each ran them without a fault of the
    /// hypervisor.
    static func finishGuests() -> Bool {
        var healthy = true
        for ap in guestRunners {
            if !TSCClock.wait(microseconds: 60_000_000, until: { ap.command == 0 }) {
                log("cpu \(ap.index) (APIC ID \(ap.apicID)): left out: its guests did not finish within 60 s")
                ap.state = APState.leftOut
                healthy = false
            } else if ap.state != APState.inVMX || ap[word: PerCPU.guestsHealthyOffset] == 0 {
                healthy = false
            }
        }
        guestRunners = []
        return healthy
    }

    /// Hands `ap` a command and wakes it with an NMI, again every 10 ms until it has taken the
    /// command up (an NMI just before its HLT is lost), at most 100 times.
    static func give(_ ap: PerCPU, _ command: UInt32) {
        ap[word: PerCPU.acknowledgedOffset] = 0
        ap.command = command
        for _ in 0..<100 {
            sender?.send(to: ap.apicID, command: LocalAPIC.nmiAssert)
            if TSCClock.wait(microseconds: 10_000, until: { ap[word: PerCPU.acknowledgedOffset] == command }) { return }
        }
    }

    /// Gives `ap` a command and waits (bounded) until it is done.
    private static func command(_ ap: PerCPU, _ command: UInt32, what: StaticString) -> Bool {
        give(ap, command)
        if TSCClock.wait(microseconds: 2_000_000, until: { ap.command == 0 }) { return true }
        log("cpu \(ap.index) (APIC ID \(ap.apicID)): left out: no answer within 2 s while \(what)")
        ap.state = APState.leftOut
        return false
    }

    // MARK: On the AP

    static func runCommands(_ me: PerCPU) -> Never {
        me.state = APState.online
        while true {
            // Waiting, an AP halts: with interrupts off only an NMI wakes it, which the BSP
            // sends with each command (interrupts.asm returns from it at once). Under Bochs a
            // spinning AP would take as many instructions as the BSP.
            var command = me.command
            while command == 0 {
                x86_hlt()
                command = me.command
            }
            me[word: PerCPU.acknowledgedOffset] = command
            if command == APCommand.enableVMX {
                me.state = enableVMXHere(me) ? APState.inVMX : APState.leftOut
            } else if command == APCommand.disableVMX {
                me.state = disableVMXHere(me) ? APState.done : APState.leftOut
            } else if command == APCommand.runGuests, let work = guestWork {
                me[word: PerCPU.guestsHealthyOffset] =
                    runGuestsHere(work, slot: Int(me[word: PerCPU.slotOffset])) ? 1 : 0
                // Only a VM exit caused by an NMI changes blocking by NMI (SDM 28.5.5), so a
                // guest that stopped with NMIs blocked (in its NMI handler; under Bochs 2.7 an
                // application processor started by a SIPI exit until its first IRET,
                // docs/BOCHS-DIFFERENCES.md) leaves them blocked here, where NMIs bring the
                // commands: an IRET ends the blocking.
                x86_iret_to_self()
            }
            if !me.guardIntact {
                log(
                    """
                    cpu \(me.index) (APIC ID \(me.apicID)): FATAL: its stack ran into the guard page below \
                    \(hex: me.guardPage + PhysicalPageAllocator.pageSize)
                    """
                )
                me.state = APState.leftOut
            }
            let finished = me.state != APState.inVMX
            me.command = 0
            if finished { halt() }
        }
    }

    static func halt() -> Never {
        while true {
            x86_cli()
            x86_hlt()
        }
    }

    private static func enableVMXHere(_ me: PerCPU) -> Bool {
        // The capability MSRs first, compared with the BSP's in the same order.
        let here = CapabilityReadings.read(using: { x86_rdmsr($0) })
        if let difference = here.firstDifference(from: bootstrapCapabilities) {
            var text = LogText()
            text.append("cpu \(me.index) (APIC ID \(me.apicID)): left out: VMX capabilities differ from cpu 0's: ")
            difference.describe(into: &text, reference: "cpu 0")
            log(LogMessage(stringInterpolation: text))
            return false
        }
        var arena = PageArena(base: me.vmxonPage, end: me.vmxonPage + PhysicalPageAllocator.pageSize)
        let operation: VMXRootOperation
        do {
            operation = try enableVMX(on: RealProcessor(), arena: &arena, quiet: true)
        } catch {
            log("cpu \(me.index) (APIC ID \(me.apicID)): left out: \(error.description)")
            return false
        }
        me[word: PerCPU.vmxRootOffset] = 1
        log(
            """
            cpu \(me.index) (APIC ID \(me.apicID)): VMXON succeeded with its own VMXON region at \
            \(hex: operation.vmxonRegion); VMX capability MSRs as on cpu 0
            """
        )
        return true
    }

    private static func disableVMXHere(_ me: PerCPU) -> Bool {
        let cpu = RealProcessor()
        do { try cpu.vmxoff() } catch {
            log("cpu \(me.index) (APIC ID \(me.apicID)): \(VMXEnableError.vmxoffFailed(error).description)")
            return false
        }
        cpu.writeControlRegister(.cr4, cpu.readControlRegister(.cr4) & ~ControlRegister4.vmxe.rawValue)
        me[word: PerCPU.vmxRootOffset] = 0
        log("cpu \(me.index) (APIC ID \(me.apicID)): VMXOFF succeeded, CR4.VMXE cleared")
        return true
    }
}

/// The AP's first Swift code (boot/ap.asm), on its own stack: its GDT and TSS, the shared IDT,
/// GS base at its block; then it waits for the BSP's commands.
@c(kernel_ap_main)
public func kernelAPMain(_ block: UInt64) -> Never {
    let me = PerCPU(address: block)
    let page = PhysicalPageAllocator.pageSize
    GlobalDescriptorTable.install(
        gdt: block + PerCPU.gdtOffset, tss: block + PerCPU.tssOffset,
        interruptStacks: (
            me.interruptStacks + page, me.interruptStacks + 2 * page, me.interruptStacks + 3 * page
        ))
    x86_lidt(InterruptDescriptorTable.base, InterruptDescriptorTable.limit)
    x86_wrmsr(Processors.gsBaseMSR, block)
    if Processors.faultingProcessor == me.index {
        // fault-cpu=N: a read of the first byte beyond the identity map, a page fault.
        _ = x86_mmio_read32(IdentityMap.fullLimit)
    }
    Processors.runCommands(me)
}

/// The local APIC's interrupt command register (SDM Vol. 3A 12.6.1): xAPIC MMIO at
/// IA32_APIC_BASE, or the x2APIC MSR 830H.
struct LocalAPICSender {
    let base: UInt64
    let x2APIC: Bool

    /// Spurious-interrupt vector register bit 8: APIC software enable (vector FFH).
    func softwareEnable() {
        if x2APIC {
            let msr = LocalAPIC.msr(LocalAPIC.spuriousInterruptVector)
            x86_wrmsr(msr, x86_rdmsr(msr) | UInt64(LocalAPIC.softwareEnableWithVectorFF))
        } else {
            let register = base + LocalAPIC.spuriousInterruptVector
            x86_mmio_write32(register, x86_mmio_read32(register) | LocalAPIC.softwareEnableWithVectorFF)
        }
    }

    /// Sends one IPI; returns whether it left (delivery status idle) within 1 ms.
    @discardableResult
    func send(to apicID: UInt32, command: UInt32) -> Bool {
        if x2APIC {
            x86_wrmsr(LocalAPIC.msr(LocalAPIC.interruptCommandLow), UInt64(apicID) << 32 | UInt64(command))
            return true
        }
        x86_mmio_write32(base + LocalAPIC.interruptCommandHigh, apicID << 24)
        x86_mmio_write32(base + LocalAPIC.interruptCommandLow, command)
        return TSCClock.wait(microseconds: 1000) {
            x86_mmio_read32(base + LocalAPIC.interruptCommandLow) & LocalAPIC.deliveryPending == 0
        }
    }
}
