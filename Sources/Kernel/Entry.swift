// The Swift kernel's entry, called by boot/entry.asm in 64-bit mode on the boot stack with
// the multiboot magic and the physical address of the boot information.
//
// Two phases. Boot (`kmain`, on the small static boot stack): console first (everything after
// can report), then GDT/TSS and IDT (faults are reported from here on), the PIC masked, the
// boot information parsed, the page allocator built from its memory map, the identity map
// completed. Then the kernel moves to a larger stack of allocated pages and runs the
// hypervisor (`kernelMain`), then exits.
import Hypervisor
import Intrinsics
import VMX

/// The first MiB holds the real-mode IVT, BIOS data, EBDA, option ROMs and the VGA hole.
let firstMegabyte = PhysicalRange(start: 0, end: 0x10_0000)
/// The hypervisor's arena (PhysicalLayout.arenaSize bytes), which the page allocator never
/// hands out: chosen from the memory map at boot (`chooseArena`).
nonisolated(unsafe) var hypervisorArena = PhysicalRange(start: 0, end: 0)
/// The kernel stack after the boot phase: 64 KiB of allocated pages.
let kernelStackPages = 16

/// What the boot phase hands to the main phase across the stack switch.
nonisolated(unsafe) private var bootInformation: BootInformation? = nil
/// The TSC at the Swift entry point (for `make bench`).
nonisolated(unsafe) private var bootTimestamp: UInt64 = 0

/// `@c`, not `@_cdecl`: `@c` makes `kmain` itself this function with the C calling convention,
/// so the symbol boot/entry.asm calls is the Swift body with its line information (`hbreak kmain`
/// in gdb stops at the first statement). `@_cdecl` emits a C thunk without line information that
/// calls a separate Swift function.
@c(kmain)
public func kmain(_ magic: UInt32, _ informationAddress: UInt32) -> Never {
    bootTimestamp = x86_rdtsc()
    Serial.initialize()
    GlobalDescriptorTable.install()
    InterruptDescriptorTable.install()
    ProgrammableInterruptController.remapAndMask()

    // GRUB leaves terminal escape sequences on the serial line: start on a fresh line.
    Console.newline()
    log("SwiftVMX: Embedded Swift VMX hypervisor kernel, x86_64")
    let image = PhysicalRange(start: kernel_image_start(), end: kernel_image_end())
    log("kernel image: \(image) \(image.size) bytes loaded")

    let info: BootInformation
    do {
        info = try BootInformation.parse(magic: magic, address: UInt64(informationAddress))
    } catch {
        logText("FATAL: ")
        error.writeReason()
        Console.newline()
        exitMachine(success: false)
    }
    report(info)
    // The boot page tables and the early heap were written to early memory before the
    // information was read (linker/kernel.ld); the hypervisor's arena must be free as well.
    let earlyMemory = PhysicalRange(start: kernel_low_memory_start(), end: kernel_low_memory_end())
    for range in info.occupied where range.overlaps(earlyMemory) {
        log("FATAL: boot information or a module at \(range) overlaps the kernel's early memory \(earlyMemory)")
        exitMachine(success: false)
    }
    guard let arena = chooseArena(info, image: image) else {
        log(
            """
            FATAL: no \(PhysicalLayout.arenaSize >> 20) MiB of available RAM below 4 GiB for the hypervisor arena, \
            clear of the kernel, the boot information and the modules
            """
        )
        exitMachine(success: false)
    }
    hypervisorArena = arena
    log("hypervisor arena: \(arena) (\(arena.size >> 20) MiB, the top of RAM below 4 GiB)")

    // Physical pages: available RAM, less what is in use or promised to the hypervisor.
    // (On the early heap: sized once, not grown.)
    var reserved: [PhysicalRange] = []
    reserved.reserveCapacity(info.occupied.count + 3)
    reserved.append(firstMegabyte)
    reserved.append(image)
    reserved += info.occupied
    reserved.append(hypervisorArena)
    var available: [PhysicalRange] = []
    available.reserveCapacity(info.memoryMap.count)
    for entry in info.memoryMap where entry.isAvailable { available.append(entry.range) }
    KernelMemory.pages = PhysicalPageAllocator(
        available: available, reserved: reserved,
        mappedLimit: IdentityMap.fullLimit)
    guard KernelMemory.pages!.freePageCount > kernelStackPages else {
        log(
            """
            FATAL: the memory map leaves no free memory between 1 MiB and 4 GiB outside the kernel image, the boot \
            information and the hypervisor arena
            """
        )
        exitMachine(success: false)
    }
    IdentityMap.extend()
    guard let stack = KernelMemory.pages!.allocateContiguousPages(kernelStackPages, below: IdentityMap.limit) else {
        log("FATAL: no \(kernelStackPages) contiguous free pages for the kernel stack")
        exitMachine(success: false)
    }
    let free = KernelMemory.pages!.freePageCount
    log(
        """
        page allocator: \(free) free pages (\(free * 4) KiB) in \(KernelMemory.pages!.ranges.count) ranges; \
        identity map up to \(hex: IdentityMap.limit)
        """
    )

    bootInformation = info
    kernel_run_on_stack(stack + UInt64(kernelStackPages) * PhysicalPageAllocator.pageSize, kernelMain)
    log("FATAL: the kernel's main phase returned")
    exitMachine(success: false)
}

/// The highest 2-MiB-aligned range of `PhysicalLayout.arenaSize` bytes of available RAM below
/// 4 GiB (the identity map's reach) clear of the first MiB, the kernel image, the boot
/// information and the modules: the top of RAM, so that the boot modules and a pass-through
/// guest keep the low memory (docs/KERNEL.md, "Memory"). Runs on the early heap: allocates
/// nothing.
private func chooseArena(_ info: BootInformation, image: PhysicalRange) -> PhysicalRange? {
    let size = PhysicalLayout.arenaSize, alignment: UInt64 = 2 << 20
    var best: PhysicalRange? = nil
    func blocker(of candidate: PhysicalRange) -> PhysicalRange? {
        if firstMegabyte.overlaps(candidate) { return firstMegabyte }
        if image.overlaps(candidate) { return image }
        return info.occupied.first { $0.overlaps(candidate) }
    }
    for entry in info.memoryMap where entry.isAvailable {
        var top = min(entry.range.end, IdentityMap.fullLimit) & ~(alignment - 1)
        while top >= size && top - size >= entry.range.start {
            let candidate = PhysicalRange(start: top - size, end: top)
            guard let blocker = blocker(of: candidate) else {
                if best == nil || candidate.start > best!.start { best = candidate }
                break
            }
            top = blocker.start & ~(alignment - 1)
        }
    }
    return best
}

/// The main phase, on the kernel stack: the hypervisor, then the exit.
private func kernelMain() {
    let info = bootInformation!
    // The hypervisor's structures live in its arena, which must be RAM.
    guard info.isAvailableRAM(hypervisorArena) else {
        log("FATAL: the hypervisor arena \(hypervisorArena) is not available RAM in the memory map")
        exitMachine(success: false)
    }
    var arena = PageArena(base: hypervisorArena.start, end: hypervisorArena.end)
    let options = BootOptions(commandLine: info.commandLine?.string ?? "")
    #if DEBUG
        let debugging: GuestDebugHooks<RealProcessor>? = installDebugging(options: options)
    #else
        // The release image has neither the debug snapshot nor the guest debugger: an
        // unauthenticated stub on a serial port does not ship, and the size target (docs/DEBUGGING.md).
        let debugging: GuestDebugHooks<RealProcessor>? = nil
        if options.gdb {
            log("gdb: ignored: the guest debugger is in the debug image only (make gdb-guest, docs/DEBUGGING.md)")
        }
    #endif
    Processors.startAll(info, options: options)
    let succeeded = runHypervisor(
        on: RealProcessor(), arena: &arena, options: options, host: HostAndGuests.hostState(),
        guests: HostAndGuests.guests(modules: info.modules), bootTimestamp: bootTimestamp,
        debugging: debugging, machine: passThroughMachine(info),
        afterVMXON: Processors.enableVMXOnOthers, beforeVMXOFF: Processors.disableVMXOnOthers,
        others: OtherProcessors(
            count: { Processors.readyForGuests.count }, start: Processors.startGuests,
            finish: Processors.finishGuests, apicIDs: { Processors.readyForGuests.map { $0.apicID } }))
    let everyOneLeft = Processors.reportVirtualised()
    exitMachine(success: succeeded && everyOneLeft)
}

/// An AP's share of the guests (Processors.swift). Here beside `runHypervisor`'s call: the
/// generic code both reach is then specialized into one object file, whose read-only tables
/// the image holds once (specializations spread over several object files each took a copy).
@inline(never)
func runGuestsHere(_ work: OtherProcessorWork, slot: Int) -> Bool {
    runGuestsOnOtherProcessor(work, slot: slot, host: HostAndGuests.hostState(), cpu: RealProcessor())
}

/// The machine a pass-through guest gets (docs/LINUX.md, "Memory"): when one is built, the
/// page allocator keeps a pool of `keptPoolPages` for the rest of the run and gives up every
/// other free page; the guest also gets the boot modules (loaded by then) and the first MiB
/// less the kernel's early memory and the boot information.
let keptPoolPages = 256

private func passThroughMachine(_ info: BootInformation) -> PassThroughMachine {
    var firmwareMap: [E820Entry] = []
    for entry in info.memoryMap {
        firmwareMap.append(E820Entry(base: entry.base, length: entry.length, type: E820Type(rawValue: entry.type)))
    }
    return PassThroughMachine(
        firmwareMap: firmwareMap,
        claimGuestRAM: {
            guard let (pool, released) = KernelMemory.pages!.confine(toPages: keptPoolPages) else { return nil }
            log(
                """
                page allocator: keeps \(pool) (\(keptPoolPages * 4) KiB) for the rest of the run; the pass-through \
                guest gets the other free pages
                """
            )
            let earlyMemory = PhysicalRange(start: kernel_low_memory_start(), end: kernel_low_memory_end())
            var granted = released
            granted += PhysicalRange.subtracting([earlyMemory] + info.occupied, from: [firstMegabyte])
            for module in info.modules { granted.append(module.range) }
            return granted
        },
        imageChecksum: {
            // FNV-1a over the kernel's code and read-only data, 8 bytes at a time.
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            var address = kernel_image_start()
            while address + 8 <= kernel_rodata_end() {
                hash = (hash ^ UnsafePointer<UInt64>(bitPattern: UInt(address))!.pointee) &* 0x100_0000_01B3
                address += 8
            }
            return hash
        })
}

private func report(_ info: BootInformation) {
    log("boot: \(info.bootProtocol.name) information at \(hex: info.address)")
    if let commandLine = info.commandLine { log("command line: \"\(outside: commandLine.bytes)\"") }
    for (index, module) in info.modules.enumerated() {
        log("module \(index): \(module.range) \(module.range.size) bytes \"\(outside: module.name.bytes)\"")
    }
    log("memory map: \(info.memoryMap.count) entries")
    for entry in info.memoryMap {
        log("  \(entry.range) \(entry.typeName) (type \(entry.type))")
    }
    log("memory: \(info.availableBytes / 1024) KiB available")
}
