// Runs scenario files (docs/SCENARIOS.md), the same code in both worlds: the kernel, given the
// files as boot modules (command-line word `scenarios`), and the hosted tool vmx-entry-check on
// the emulated CPU. For each file: the hypervisor's default guest set-up for this CPU on a fresh
// VMCS (buildGuest, the same code and physical layout as every guest), the file's overrides
// written with VMWRITE, one VMLAUNCH, then the line `NAME: OUTCOME` and explanation lines
// indented by two spaces (the failing rules of the shared list, SDM 27.2-27.4).
//
// The guest is a 64-bit one whose first instruction is CPUID, which exits unconditionally
// (SDM 26.1.2): a successful entry stops at once, and the next file starts from a fresh VMCS.
// The VMX-preemption timer, or else the host timer, bounds it should an override send it
// elsewhere.
import VMX

/// One scenario file: its base name and its bytes in physical memory.
public struct ScenarioFile: Sendable {
    public var name: String
    public var address: UInt64
    public var size: UInt64

    public init(name: String, address: UInt64, size: UInt64) {
        self.name = name
        self.address = address
        self.size = size
    }
}

/// What a run does besides launching each file, chosen by its caller.
public struct ScenarioRunOptions: Sendable {
    /// Frame the run with `beginLine` and `endLine` and start each file's lines with
    /// `kernelLinePrefix`: the log holds other lines too.
    public var framed: Bool
    /// The files run on the processor the hypervisor runs on, which no launch may take from
    /// it (ScenarioHarness): refuse a file that sets a field the harness owns when the rules
    /// predict that its launch loads host state (it would hand the processor to the file), and
    /// one whose guest nothing could stop when the rules predict that it runs.
    public var guardsTheProcessor: Bool

    public init(framed: Bool, guardsTheProcessor: Bool) {
        self.framed = framed
        self.guardsTheProcessor = guardsTheProcessor
    }

    /// The kernel's boot modules: the serial log has every other line too, and the host
    /// state is the kernel's own.
    public static let bootModules = ScenarioRunOptions(framed: true, guardsTheProcessor: true)
    /// Scenario lines alone, every file launched (vmx-entry-check on the emulated CPU, whose
    /// host state is a model).
    public static let linesOnly = ScenarioRunOptions(framed: false, guardsTheProcessor: false)
}

public enum ScenarioRunner {
    /// The scenario guest's code at its entry: CPUID, then HLT and a jump back to it.
    static let guestCode: [UInt8] = [0x0F, 0xA2, 0xF4, 0xEB, 0xFD]
    /// VM-entry MSR-load entries that each fail on their own (SDM 27.4), 16 bytes each from
    /// `failingMSRLoadEntriesOffset` in the guest's code page, so that a file can name one
    /// (`0x200a = arena+0x5800`, count 1) without ever loading an MSR into the host: an MSR
    /// index and bits 63:32, then the value.
    static let failingMSRLoadEntries: [(indexAndReserved: UInt64, value: UInt64)] = [
        (UInt64(MSR.ia32FSBase.rawValue), 0),  // IA32_FS_BASE: never in the list
        (UInt64(MSR.ia32GSBase.rawValue), 0),  // IA32_GS_BASE: never in the list
        (UInt64(LocalAPIC.msr(LocalAPIC.taskPriority).rawValue), 0),  // an x2APIC MSR (TPR)
        (UInt64(MSR.ia32SMMMonitorCtl.rawValue), 0),  // writable only in SMM
        (UInt64(MSR.ia32SysenterCS.rawValue) | UInt64(UInt32.max) << 32, 0),  // bits 63:32 not 0
        (UInt64(msrNeitherWorldHas), 0)  // WRMSR would raise #GP
    ]
    /// Half the code page: the code is 5 bytes at its start.
    static let failingMSRLoadEntriesOffset: UInt64 = PhysicalLayout.pageSize / 2
    /// An MSR index neither Bochs' models nor the emulated CPU implement (the Bochs models'
    /// VMCS revision identifier, which the corpus's msr-load-wrmsr-refused names too).
    static let msrNeitherWorldHas: UInt32 = 0x2B
    /// Where the guest's code sits in guest-physical memory (as the built-in guests).
    static let guestOptions = "mode=long load=0x10000 budget=2000000"

    /// The first and last lines of a run, so that a log parser finds the scenario lines.
    public static let beginLine = "scenarios: begin"
    public static let endLine = "scenarios: end"
    /// Before each file's name in the kernel's lines.
    public static let kernelLinePrefix = "scenario "
}

/// Runs every file on `cpu` (in VMX root operation, with `capabilities`), printing its lines
/// on the processor's console. Returns whether the harness itself worked (a file's outcome,
/// whatever it is, is not a failure).
///
/// After each file the shared pages (bitmaps, the guest's code page) must be as they were, and
/// without EPT - where the scenario guest's memory is host memory - so must `imageChecksum`
/// (the kernel's code and read-only data): a file that changed them stops the run with the
/// line `scenarios: stopped: NAME changed ...`, as a crash would.
public func runScenarios<P: Host>(
    _ files: [ScenarioFile], capabilities: VMXCapabilities, host: HostState, options: ScenarioRunOptions,
    dump: Bool = false, imageChecksum: (() -> UInt64)? = nil, arena: inout PageArena, cpu: P
) -> Bool {
    // The kernel's log holds other lines too: these two frame the scenario lines.
    if options.framed { emitLine(ScenarioRunner.beginLine, cpu: cpu) }
    defer { if options.framed { emitLine(ScenarioRunner.endLine, cpu: cpu) } }
    guard
        let structures = ScenarioStructures.make(
            runner: "scenarios", capabilities: capabilities, host: host, arena: &arena, cpu: cpu)
    else { return false }
    let (environment, code) = (structures.environment, structures.code)
    for (offset, byte) in ScenarioRunner.guestCode.enumerated() { writeByte(code + UInt64(offset), byte, cpu: cpu) }
    for (index, entry) in ScenarioRunner.failingMSRLoadEntries.enumerated() {
        let address = code + ScenarioRunner.failingMSRLoadEntriesOffset + UInt64(index) * 16
        cpu.writePhysical64(address, entry.indexAndReserved)
        cpu.writePhysical64(address + 8, entry.value)
    }
    let image = GuestImage(
        name: "scenario", address: code, size: UInt64(ScenarioRunner.guestCode.count),
        commandLine: ScenarioRunner.guestOptions, isBuiltIn: true)
    let plan: GuestPlan
    do { plan = try image.plan(cpu: cpu) } catch {
        emitLine("scenarios: the scenario guest cannot be planned", cpu: cpu)
        return false
    }
    let shared = structures.bitmapPages + [code]
    let sharedSum = pageChecksum(shared, cpu: cpu)
    let kernelImage = environment.setup.usesEPT ? nil : imageChecksum
    let imageSum = kernelImage?()
    var healthy = true
    for file in files {
        // Every file gets the same physical layout: the arena as it is before the first.
        var fileArena = arena
        healthy =
            runScenario(
                file, plan: plan, image: image, environment: environment,
                options: options, dump: dump, arena: &fileArena, cpu: cpu) && healthy
        let changed: String? =
            pageChecksum(shared, cpu: cpu) != sharedSum
            ? "the runner's bitmaps or guest code"
            : kernelImage?() != imageSum ? "the kernel's code or read-only data" : nil
        if let changed {
            emitLine("scenarios: stopped: " + OutsideText(file.name).escaped + " changed " + changed, cpu: cpu)
            return false
        }
    }
    return healthy
}

/// A position-dependent sum of `pages`, 8 bytes at a time: what a guest let loose on host
/// memory would change.
func pageChecksum<P: Processor>(_ pages: [UInt64], cpu: P) -> UInt64 {
    var sum: UInt64 = 0
    for page in pages {
        var offset: UInt64 = 0
        while offset < PhysicalLayout.pageSize {
            sum = sum &* 31 &+ cpu.readPhysical64(page + offset)
            offset += 8
        }
    }
    return sum
}

/// How a file's lines begin: its escaped name, and in the kernel a fixed word before it, so
/// that a module's name never begins a line of the serial log (docs/SCENARIOS.md, "Outcomes").
func scenarioLineStart(_ file: ScenarioFile, options: ScenarioRunOptions) -> String {
    (options.framed ? ScenarioRunner.kernelLinePrefix : "") + OutsideText(file.name).escaped
}

/// One file: parse, build, override, (maybe) launch, report.
func runScenario<P: Host>(
    _ file: ScenarioFile, plan: GuestPlan, image: GuestImage, environment: GuestEnvironment,
    options: ScenarioRunOptions, dump: Bool, arena: inout PageArena, cpu: P
) -> Bool {
    let start = scenarioLineStart(file, options: options)
    let scenario: Scenario
    do {
        scenario = try Scenario(parsing: readBytes(address: file.address, size: file.size, cpu: cpu))
    } catch {
        emitLine(start + ": error: " + error.description, cpu: cpu)
        return true
    }
    let vcpu: VirtualCPU<P>
    do {
        vcpu = try buildGuest(plan: plan, image: image, environment: environment, vpid: 1, arena: &arena, cpu: cpu)
    } catch {
        var text = LogText()
        error.describe(into: &text)
        emitLine(start + ": error: the default set-up failed: " + text.string, cpu: cpu)
        return false
    }
    defer { _ = try? cpu.vmclear(vcpu.vmcs) }

    for override in scenario.overrides {
        do {
            try cpu.vmwrite(override.field, override.value(arenaBase: arena.base))
        } catch {
            let outcome: LaunchOutcome
            switch error {
            case .invalid: outcome = .vmfailInvalid
            case .valid(let number): outcome = .writeFailed(field: override.field, error: number)
            }
            emitLine(start + ": " + outcome.text, cpu: cpu)
            emitLine(
                String(
                    text: """
                          line \(override.line): VMWRITE of \(override.field.name ?? "field") \
                        [\(hex: override.field.rawValue, digits: 4)] = \
                        \(hex: override.value(arenaBase: arena.base)) failed
                        """), cpu: cpu)
            return true
        }
    }

    if dump { dumpVMCS(cpu: cpu) }
    // The rules on the live VMCS, before anything is launched.
    let report = checkVMEntry(liveEntryCheckInput(capabilities: environment.capabilities, vmcs: vcpu.vmcs, cpu: cpu))
    if options.guardsTheProcessor, let owned = ScenarioHarness.ownedField(in: scenario) {
        let safe =
            ScenarioHarness.hostStateFieldCount(in: scenario) > 1
            ? report.outcome.failsOnControlFields : report.outcome.failsBeforeLoadingHostState
        if !safe {
            emitLine(start + ": " + LaunchOutcome.refused.text, cpu: cpu)
            emitLine(
                String(
                    text: """
                          line \(owned.override.line) sets \(owned.override.field.name ?? "field") \
                        [\(hex: owned.override.field.rawValue, digits: 4)], which the harness owns (
                        """)
                    + owned.reason + "), and the rules predict " + report.outcome.summary + ": not launched", cpu: cpu)
            return true
        }
    }
    if options.guardsTheProcessor,
        let unstoppable = ScenarioHarness.unstoppableGuest(
            in: scenario, usesPreemptionTimer: environment.setup.usesPreemptionTimer),
        unstoppable.launchesOnlyOnVMfail ? !report.outcome.failsBeforeLoadingHostState : report.outcome == .success
    {
        emitLine(start + ": " + LaunchOutcome.refused.text, cpu: cpu)
        emitLine(
            String(
                text: """
                      line \(unstoppable.override.line) sets \(unstoppable.override.field.name ?? "field") \
                    [\(hex: unstoppable.override.field.rawValue, digits: 4)] (
                    """)
                + unstoppable.reason + ") and the rules predict " + report.outcome.summary + ": not launched", cpu: cpu)
        return true
    }

    let outcome = launchOnce(vcpu, setup: environment.setup, cpu: cpu)
    emitLine(start + ": " + outcome.text, cpu: cpu)
    if !outcome.matches(report.outcome) {
        emitLine("  the rules predicted " + report.outcome.summary, cpu: cpu)
    }
    for failure in report.failures { emitLine("  " + failure.description, cpu: cpu) }
    return true
}

/// VMLAUNCH of the current VMCS, once; the guest stops at its first VM exit.
func launchOnce<P: Host>(_ vcpu: VirtualCPU<P>, setup: ControlSetup, cpu: P) -> LaunchOutcome {
    let timer = setup.usesPreemptionTimer ? nil : cpu.armHostTimer(cycles: vcpu.budgetCycles)
    defer { if timer != nil { cpu.disarmHostTimer() } }
    var registers = vcpu.registers
    do {
        try cpu.enterGuest(&registers, launch: true)
    } catch {
        switch error {
        case .invalid: return .vmfailInvalid
        case .valid(let number): return .vmfailValid(number)
        }
    }
    let reason = ExitReason(rawValue: UInt32(truncatingIfNeeded: vcpu.read(.exitReason)))
    if reason.isEntryFailure {
        return .entryFailure(reason: UInt32(reason.basicReason), qualification: vcpu.read(.exitQualification))
    }
    // A host interrupt that ended the guest is the host's to finish (TimerExits.swift).
    let information = InterruptionInformation(
        rawValue: UInt32(truncatingIfNeeded: vcpu.read(.vmExitInterruptionInformation)))
    if reason.basic == .externalInterrupt, information.isValid {
        cpu.endHostInterrupt(vector: information.vector)
    } else if reason.basic == .exceptionOrNMI, information.isValid, information.vector == 2, timer == 2 {
        cpu.endHostInterrupt(vector: ExceptionVector.nmi.rawValue)
    }
    return .success
}

extension EntryOutcome {
    /// VMfailValid: the entry stopped before loading guest state, so no host state was used.
    var failsBeforeLoadingHostState: Bool {
        if case .vmfailValid = self { return true }
        return false
    }

    /// VMfailValid 7: a control field is invalid, found before any host-state check.
    var failsOnControlFields: Bool { self == .vmfailValid(.entryWithInvalidControlFields) }
}

extension LaunchOutcome {
    /// Whether the launch did what the rules predicted.
    func matches(_ predicted: EntryOutcome) -> Bool {
        switch (self, predicted) {
        case (.success, .success): return true
        case let (.vmfailValid(a), .vmfailValid(b)): return a == b
        case let (.entryFailure(r, q), .entryFailure(pr, pq)): return r == UInt32(pr.basicReason) && q == pq
        default: return false
        }
    }
}

/// `size` bytes of physical memory at `address` (a module or a part of one).
func readBytes<P: Processor>(address: UInt64, size: UInt64, cpu: P) -> ByteText {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(size))
    for offset in 0..<size { bytes.append(readByte(address + offset, cpu: cpu)) }
    return bytes[...]
}

/// The file's bytes as text.
func readText<P: Processor>(_ file: ScenarioFile, cpu: P) -> String {
    readBytes(address: file.address, size: file.size, cpu: cpu).text
}

/// One console line of any length (LogText cuts at 256 bytes).
func emitLine<P: Host>(_ line: String, cpu: P) {
    var line = line
    line.withUTF8 { cpu.writeConsoleLine(UnsafeRawBufferPointer($0)) }
}

/// The boot modules of a `scenarios` boot as scenario files. A module is one file, named by
/// its `name=` word, or - with the word `bundle` - several files, each starting at a line
/// `#%scenario NAME` (a comment to the parser). Bundles exist because the kernel parses the
/// boot information into an 8-KiB early heap (Sources/Kernel/Heap.swift), which holds about 90
/// modules through GRUB, not a corpus of a hundred files and more.
public func scenarioFiles<P: Processor>(_ images: [GuestImage], cpu: P) -> [ScenarioFile] {
    var files: [ScenarioFile] = []
    for image in images where !image.isBuiltIn {
        let isBundle = ByteText(utf8: image.commandLine).words().contains { $0.equals("bundle") }
        guard isBundle else {
            files.append(
                ScenarioFile(
                    name: GuestOptions.name(in: image.commandLine) ?? image.name,
                    address: image.address, size: image.size))
            continue
        }
        // Line slices are indexed by their offsets in the module.
        let bytes = readBytes(address: image.address, size: image.size, cpu: cpu)
        var current: (name: String, start: Int)? = nil
        for line in bytes.lines {
            guard let rest = line.dropping(prefix: "#%scenario "), !rest.isEmpty else { continue }
            if let current {
                files.append(
                    ScenarioFile(
                        name: current.name, address: image.address + UInt64(current.start),
                        size: UInt64(line.startIndex - current.start)))
            }
            let name = rest.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: " ") }
            current = (String(decoding: name, as: UTF8.self), min(line.endIndex + 1, bytes.count))
        }
        if let current {
            files.append(
                ScenarioFile(
                    name: current.name, address: image.address + UInt64(current.start),
                    size: image.size - UInt64(current.start)))
        }
    }
    return files
}
