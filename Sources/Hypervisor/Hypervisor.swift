// The hypervisor's life cycle, as one function both worlds call: enable VMX, report what the
// CPU offers, run the guests (or do the other work the boot options ask for), and leave VMX
// operation cleanly: every guest's VMCS is cleared when it stops, then the exit statistics,
// VMXOFF and CR4.VMXE cleared (SDM 24.7, 31.3 VMXOFF).
import VMX

/// What the boot command line asks for (a word each, separated by spaces).
public struct BootOptions {
    /// `capture`: print the raw capability fixture (docs/FIXTURES.md) for Tests/fixtures.
    public var captureFixture = false
    /// `bench`: run the benchmark guest, with the Swift dispatcher and with the assembly
    /// baseline, and print the figures (make bench).
    public var bench = false
    /// `noguests`: enable VMX and report, but run no guest.
    public var runGuests = true
    /// `nobuiltins`: run only the boot modules' guests, not the built-in test guests (the
    /// Linux debugger test, which the debug image's slow built-in runs would only delay).
    public var runBuiltInGuests = true
    /// `scenarios`: the boot modules are scenario files, run one by one (docs/SCENARIOS.md).
    public var scenarios = false
    #if EXIT_FUZZ
        /// `exit-programs`: the boot modules are exit programs, run one by one with a line per VM
        /// exit (docs/SCENARIOS.md, "Fuzzing VM exits"); only the fuzz image has the runner.
        public var exitPrograms = false
    #endif
    /// `check-entry`: run the VM-entry rules before every VMLAUNCH (docs/DIAGNOSTICS.md).
    public var checkEntry = false
    /// `gdb` (every guest) or `gdb=NAME` (the guest called NAME, kept in `gdbGuestName`): guests
    /// wait for gdb on COM2, in the debug image only (docs/DEBUGGING.md). The last such word wins.
    public var gdb = false
    public var gdbGuestName: [UInt8]? = nil
    /// `after-linux=NAME`: the built-in guest NAME runs once more after the pass-through guest
    /// (docs/LINUX.md, "Isolation": the sandbox still works after the operating system).
    public var afterLinux: [UInt8]? = nil
    /// Bad input for the start-up of the other processors, for the boot tests (docs/KERNEL.md,
    /// "Several processors"): `madt-add=ID` treats APIC ID as listed (enabled) once more after
    /// the MADT's own entries; `fault-cpu=N` makes the N-th processor fault in its start-up.
    public var extraAPICIDs: [UInt32] = []
    public var faultingProcessor: UInt32? = nil

    public init() {}

    public init(commandLine: String) {
        for word in ByteText(utf8: commandLine).words() {
            if word.equals("capture") { captureFixture = true }
            if word.equals("bench") { bench = true }
            if word.equals("noguests") { runGuests = false }
            if word.equals("nobuiltins") { runBuiltInGuests = false }
            if word.equals("scenarios") { scenarios = true }
            if word.equals("check-entry") { checkEntry = true }
            #if EXIT_FUZZ
                if word.equals("exit-programs") { exitPrograms = true }
            #endif
            if word.equals("gdb") { (gdb, gdbGuestName) = (true, nil) }
            if let name = word.dropping(prefix: "gdb=") { (gdb, gdbGuestName) = (true, Array(name)) }
            if let name = word.dropping(prefix: "after-linux=") { afterLinux = Array(name) }
            if let id = word.dropping(prefix: "madt-add=").flatMap(parseNumber), id <= UInt32.max {
                extraAPICIDs.append(UInt32(id))
            }
            if let index = word.dropping(prefix: "fault-cpu=").flatMap(parseNumber), index <= UInt32.max {
                faultingProcessor = UInt32(index)
            }
        }
    }
}

/// Runs the hypervisor on `cpu` with memory from `arena`: the guests in `guests` (built-in ones
/// first, then the user's boot modules), with `host` as the host state of every VMCS.
/// `bootTimestamp` is the TSC at the Swift entry point, for the benchmark. Every line goes to
/// the processor's console (`cpu.log`).
/// `debugging`: the debug snapshot and the guest debugger, which only debug images have.
/// Returns whether everything succeeded; on failure the last lines logged say why.
public func runHypervisor<P: Host>(
    on cpu: P, arena: inout PageArena, options: BootOptions, host: HostState, guests: [GuestImage],
    bootTimestamp: UInt64 = 0, debugging: GuestDebugHooks<P>? = nil, machine: PassThroughMachine? = nil,
    afterVMXON: () -> Void = {}, beforeVMXOFF: () -> Void = {}, others: OtherProcessors = .none
) -> Bool {
    let operation: VMXRootOperation
    do {
        operation = try enableVMX(on: cpu, arena: &arena, quiet: false)
    } catch {
        cpu.log("FATAL: \(error.description)")
        return false
    }
    let capabilities = VMXCapabilities.read(from: cpu)
    capabilityReport(capabilities) { line in cpu.log("\(line)") }
    // The other processors (bare metal: Sources/Kernel/Processors.swift) enter VMX root
    // operation now and leave it before this one does.
    afterVMXON()
    let everyProcessorInVMX = cpu.readTimestampCounter()

    var succeeded = true
    EntryDiagnostics.checksBeforeLaunch = options.checkEntry
    // Enabling VMX changed CR0 and CR4 (CR4.VMXE, the fixed bits): the host state has the
    // values of now (SDM 27.2.2: host CR0/CR4 must respect the fixed bits).
    var host = host
    host.cr0 = cpu.readControlRegister(.cr0)
    host.cr4 = cpu.readControlRegister(.cr4)
    #if EXIT_FUZZ
        let exitPrograms = options.exitPrograms
    #else
        let exitPrograms = false
    #endif
    if exitPrograms {
        #if EXIT_FUZZ
            succeeded = runExitPrograms(
                scenarioFiles(guests, cpu: cpu), capabilities: capabilities, host: host, options: .bootModules,
                imageChecksum: machine?.imageChecksum, arena: &arena, cpu: cpu)
        #endif
    } else if options.captureFixture {
        succeeded = captureFixture(
            cpu: cpu, capabilities: capabilities, arena: &arena,
            operation: operation)
    } else if options.scenarios {
        succeeded = runScenarios(
            scenarioFiles(guests, cpu: cpu), capabilities: capabilities, host: host, options: .bootModules,
            imageChecksum: machine?.imageChecksum, arena: &arena, cpu: cpu)
    } else if options.runGuests {
        succeeded = runAllGuests(
            guests, capabilities: capabilities, host: host, options: options,
            bootTimestamp: bootTimestamp, vmxTimestamp: everyProcessorInVMX,
            debugging: debugging, machine: machine, others: others, arena: &arena, cpu: cpu)
    }

    beforeVMXOFF()
    do {
        try disableVMX(operation, on: cpu, quiet: false)
    } catch {
        cpu.log("FATAL: \(error.description)")
        return false
    }
    return succeeded
}

/// The default set-up, the shared structures, then every guest (or the benchmark).
func runAllGuests<P: Host>(
    _ guests: [GuestImage], capabilities: VMXCapabilities, host: HostState, options: BootOptions,
    bootTimestamp: UInt64, vmxTimestamp: UInt64 = 0, debugging: GuestDebugHooks<P>?, machine: PassThroughMachine? = nil,
    others: OtherProcessors = .none, arena: inout PageArena, cpu: P
) -> Bool {
    let setup = ControlSetup(capabilities: capabilities)
    cpu.log(
        """
        VMCS: controls: pin-based \(hex: setup.pinBased.rawValue, digits: 8), primary \
        \(hex: setup.primary.rawValue, digits: 8), secondary \(hex: setup.secondary.rawValue, digits: 8), VM-exit \
        \(hex: setup.exit.rawValue, digits: 8), VM-entry \(hex: setup.entryBase.rawValue, digits: 8)
        """
    )
    setup.report(cpu: cpu)
    guard setup.hasAllRequired else {
        cpu.log("guests: none can run: this CPU lacks VMX controls the hypervisor requires")
        return false
    }
    guard let page = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu),
        let bitmaps = Bitmaps(arena: &arena, cpu: cpu)
    else {
        cpu.log("guests: none can run: the arena has no room for the exit statistics and the bitmaps")
        return false
    }
    let statistics = ExitStatistics(base: page, cpu: cpu)
    cpu.announceExitStatistics(at: page)
    var environment = GuestEnvironment(
        capabilities: capabilities, setup: setup, host: host, bitmaps: bitmaps,
        statistics: statistics)
    if setup.allowsMonitorTrapFlag {
        let first = probeMonitorTrapFlag(environment: environment, arena: &arena, cpu: cpu)
        environment.setup.usesMonitorTrapFlag = first == .monitorTrapFlag
        if environment.setup.usesMonitorTrapFlag {
            cpu.log("VMCS: monitor trap flag allowed, and its VM exits arrive (probe): single steps use it")
        } else {
            cpu.log(
                """
                VMCS: monitor trap flag allowed, but the probe's first VM exit was \
                \(first ?? ExitReason(rawValue: 0xFFFF)), not 37 (Monitor trap flag): single steps use RFLAGS.TF \
                and #DB exiting
                """
            )
        }
    }
    if options.bench {
        let healthy = runBenchmark(
            guests, environment: environment, bootTimestamp: bootTimestamp,
            vmxTimestamp: vmxTimestamp, others: others, arena: &arena, cpu: cpu)
        statistics.print(cpu: cpu)
        return healthy
    }
    let plan = LinuxModules(guests, cpu: cpu)
    var healthy = plan.healthy
    // The other processors run the built-in guests meanwhile (OtherProcessors.swift).
    let everywhere =
        options.runBuiltInGuests
        ? guests.filter { $0.isBuiltIn && !$0.name.utf8.elementsEqual(benchmarkGuestName.utf8) } : []
    let othersRun = others.startGuests(everywhere, environment: environment, arena: &arena)
    var vpid: UInt16 = 1
    for (index, image) in guests.enumerated()
    where !image.name.utf8.elementsEqual(benchmarkGuestName.utf8) && !plan.isLinuxOrInitrd(index)
        && (options.runBuiltInGuests || !image.isBuiltIn)
    {
        // A guest's memory, EPT tables and VMCS are its own: the next guest gets them again.
        let mark = arena.mark
        let result = runGuest(
            image, environment: environment, vpid: vpid, arena: &arena, cpu: cpu,
            debugging: debugging)
        if result.vmcsIsClear { arena.release(to: mark) }
        healthy = healthy && result.healthy
        vpid &+= 1
    }
    // A pass-through guest owns the machine, so it runs last (docs/LINUX.md), when the others
    // are done.
    if othersRun { healthy = others.finish() && healthy }
    if let kernel = plan.kernel {
        if let machine {
            let before = machine.imageChecksum()
            let result = runLinuxGuest(
                guests[kernel.index], initrd: kernel.initrd.map { guests[$0] },
                options: kernel.options, environment: environment, machine: machine, others: others,
                vpid: vpid, arena: &arena, cpu: cpu, debugging: debugging)
            let after = machine.imageChecksum()
            if before == after {
                cpu.log(
                    """
                    hypervisor image: code and read-only data unchanged across guest \(kernel.options.name) \
                    (checksum \(hex: after))
                    """
                )
            } else {
                cpu.log(
                    """
                    hypervisor image: code or read-only data CHANGED across guest \(kernel.options.name) (checksum \
                    \(hex: before), now \(hex: after))
                    """
                )
            }
            healthy = healthy && result.healthy && before == after
            vpid &+= 1
            for image in guests
            where image.isBuiltIn && options.afterLinux.map({ image.name.utf8.elementsEqual($0) }) == true {
                let mark = arena.mark
                let again = runGuest(image, environment: environment, vpid: vpid, arena: &arena, cpu: cpu)
                if again.vmcsIsClear { arena.release(to: mark) }
                healthy = healthy && again.healthy
            }
        } else {
            cpu.log("guest \(kernel.options.name): cannot start Linux: this world has no machine to pass through")
            healthy = false
        }
    }
    statistics.print(cpu: cpu)
    return healthy
}
