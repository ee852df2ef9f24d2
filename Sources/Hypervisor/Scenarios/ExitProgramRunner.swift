// Runs exit programs (docs/SCENARIOS.md, "Fuzzing VM exits"), the same code in both worlds: the
// fuzz image's kernel (boot word `exit-programs`, the programs in one bundle module) and the
// hosted tool vmx-entry-check (`--exits`) on the emulated CPU. An exit program is a scenario
// file - VMCS overrides on the default set-up, here mostly execution controls - whose lines
// `#%code HEX` (comments to the scenario parser) hold the guest's 64-bit code. The guest runs
// under the hypervisor's own exit handlers; a recorder wrapped around each handler prints one
// line per VM exit with the exit-information fields (SDM 24.9) read before the handler, and
// guest RIP, RSP and RFLAGS after it, then a line saying why the guest stopped.
//
// Nothing here is on the release image's exit path: the recorder is a handler table of its
// own, built only when a program runs, and only the fuzz image's kernel calls the runner.
import VMX

public enum ExitProgramRunner {
    // Computed, not stored: a stored static would leave its lazy-initialisation token in the
    // release image, which never runs exit programs.
    /// The first and last lines of a run in the kernel's log.
    public static var beginLine: String { "exit-programs: begin" }
    public static var endLine: String { "exit-programs: end" }
    /// Where the code sits in guest-physical memory (as the scenario guest), and the time
    /// budget that bounds a program whose loop never ends.
    static var guestOptions: String { "mode=long load=0x10000 budget=4000000" }
    /// More exits than any generated program causes: the rest is a handler loop.
    static let maximumExits = 32
}

/// The lines `#%code HEX` of an exit program, as bytes (nil for a character that is not a
/// hexadecimal digit or an odd count of digits).
func exitProgramCode(_ text: ByteText) -> [UInt8]? {
    var code: [UInt8] = []
    for line in text.lines {
        guard let rest = line.dropping(prefix: "#%code ") else { continue }
        var high: UInt8? = nil
        for character in rest where character != UInt8(ascii: " ") && character != UInt8(ascii: "\r") {
            guard let digit = hexDigitValue(character) else { return nil }
            if let value = high {
                code.append(value << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        if high != nil { return nil }
    }
    return code
}

func hexDigitValue(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// How many exits the current program has had.
final class ExitTraceCounter {
    var count = 0
}

/// `handlers` with each entry wrapped by the recorder: the exit's line, printed after the
/// handler (so that RIP, RSP and RFLAGS are those the guest resumes with).
func recordingHandlers<P: Host>(_ handlers: ExitHandlerTable<P>, lineStart: String, counter: ExitTraceCounter)
    -> ExitHandlerTable<P>
{
    var table = handlers
    for basic in 0..<ExitHandlerTable<P>.reasonCount {
        let original = handlers[basic: basic]
        table[basic: basic] = { vcpu, exit in
            let fields: [(String, VMCSField)] = [
                ("qual", .exitQualification), ("length", .vmExitInstructionLength),
                ("info", .vmExitInstructionInformation), ("linear", .guestLinearAddress),
                ("physical", .guestPhysicalAddress), ("idt", .idtVectoringInformation),
                ("idterr", .idtVectoringErrorCode), ("intr", .vmExitInterruptionInformation),
                ("intrerr", .vmExitInterruptionErrorCode)
            ]
            // One piece at a time: the whole line can be longer than one LogText holds.
            var line = String(text: "\(lineStart): exit \(counter.count) reason \(Int(exit.reason.basicReason))")
            for (name, field) in fields {
                // Without EPT the VMCS has no guest-physical-address field (SDM Appendix B;
                // 28.2.1 defines it only for EPT exits): 0 stands for it.
                let value = field == .guestPhysicalAddress && !vcpu.setup.usesEPT ? 0 : vcpu.read(field)
                line += String(text: " \(name) \(hex: value)")
            }
            line += String(text: " at \(hex: exit.rip)")
            counter.count += 1
            var action = original(vcpu, &exit)
            if counter.count >= ExitProgramRunner.maximumExits, case .resume = action {
                action = .stop(.emulationFailure)
            }
            let (rip, rsp, rflags) = (vcpu.read(.guestRIP), vcpu.read(.guestRSP), vcpu.read(.guestRFLAGS))
            line += String(text: " rip \(hex: rip) rsp \(hex: rsp) rflags \(hex: rflags)")
            emitLine(line, cpu: vcpu.cpu)
            return action
        }
    }
    return table
}

/// Runs every program on `cpu` (in VMX root operation, with `capabilities`). Returns whether
/// the harness itself worked.
///
/// After each program the bitmaps must be as they were, and without EPT - where the guest's
/// memory is host memory, confined only by the guest's own paging - so must `imageChecksum`
/// (the kernel's code and read-only data): a program that changed them stops the run with the
/// line `exit-programs: stopped: NAME changed ...`.
public func runExitPrograms<P: Host>(
    _ files: [ScenarioFile], capabilities: VMXCapabilities, host: HostState, options: ScenarioRunOptions,
    imageChecksum: (() -> UInt64)? = nil, arena: inout PageArena, cpu: P
) -> Bool {
    if options.framed { emitLine(ExitProgramRunner.beginLine, cpu: cpu) }
    defer { if options.framed { emitLine(ExitProgramRunner.endLine, cpu: cpu) } }
    guard
        let structures = ScenarioStructures.make(
            runner: "exit-programs", capabilities: capabilities, host: host, arena: &arena, cpu: cpu)
    else { return false }
    let shared = structures.bitmapPages
    let sharedSum = pageChecksum(shared, cpu: cpu)
    let kernelImage = structures.environment.setup.usesEPT ? nil : imageChecksum
    let imageSum = kernelImage?()
    for file in files {
        var fileArena = arena
        guard
            runExitProgram(
                file, code: structures.code, environment: structures.environment, options: options,
                arena: &fileArena, cpu: cpu)
        else { return false }
        let changed: String? =
            pageChecksum(shared, cpu: cpu) != sharedSum
            ? "the bitmaps" : kernelImage?() != imageSum ? "the kernel's code or read-only data" : nil
        if let changed {
            emitLine("exit-programs: stopped: " + OutsideText(file.name).escaped + " changed " + changed, cpu: cpu)
            return false
        }
    }
    return true
}

/// One program: parse, build, override, run with the recorder, report why it stopped.
func runExitProgram<P: Host>(
    _ file: ScenarioFile, code: UInt64, environment: GuestEnvironment, options: ScenarioRunOptions,
    arena: inout PageArena, cpu: P
) -> Bool {
    let start = scenarioLineStart(file, options: options)
    let bytes = readBytes(address: file.address, size: file.size, cpu: cpu)
    let scenario: Scenario
    do { scenario = try Scenario(parsing: bytes) } catch {
        emitLine(start + ": error: " + error.description, cpu: cpu)
        return true
    }
    guard let program = exitProgramCode(bytes), !program.isEmpty,
        program.count <= Int(PhysicalLayout.pageSize)
    else {
        emitLine(start + ": error: no valid #%code lines (hexadecimal bytes, at most a page)", cpu: cpu)
        return true
    }
    var offset: UInt64 = 0
    while offset < PhysicalLayout.pageSize {
        cpu.writePhysical64(code + offset, 0)
        offset += 8
    }
    for (index, byte) in program.enumerated() { writeByte(code + UInt64(index), byte, cpu: cpu) }
    let image = GuestImage(
        name: "exit-program", address: code, size: UInt64(program.count),
        commandLine: ExitProgramRunner.guestOptions, isBuiltIn: true)
    let plan: GuestPlan
    do { plan = try image.plan(cpu: cpu) } catch {
        emitLine(start + ": error: the program cannot be planned", cpu: cpu)
        return true
    }
    let vcpu: VirtualCPU<P>
    do {
        vcpu = try buildGuest(plan: plan, image: image, environment: environment, vpid: 1, arena: &arena, cpu: cpu)
    } catch {
        emitLine(start + ": error: the default set-up failed", cpu: cpu)
        return false
    }
    for override in scenario.overrides {
        do { try cpu.vmwrite(override.field, override.value(arenaBase: arena.base)) } catch {
            let field = override.field.rawValue
            emitLine(
                String(text: "\(start): error: VMWRITE of \(hex: field, digits: 4) on line \(override.line) failed"),
                cpu: cpu)
            _ = try? cpu.vmclear(vcpu.vmcs)
            return true
        }
    }
    // The handlers work from the controls the virtual CPU keeps (interrupt-window exiting comes
    // and goes): they are the overridden ones now.
    vcpu.primaryControls = PrimaryProcessorBasedControls(
        rawValue: UInt32(truncatingIfNeeded: vcpu.read(.primaryProcessorBasedVMExecutionControls)))
    vcpu.exceptionBitmap = UInt32(truncatingIfNeeded: vcpu.read(.exceptionBitmap))
    let counter = ExitTraceCounter()
    vcpu.handlers = recordingHandlers(vcpu.handlers, lineStart: start, counter: counter)
    let run = runBuiltGuest(
        vcpu, name: vcpu.name, budget: vcpu.budgetCycles, isBuiltIn: false, statistics: environment.statistics,
        path: .swift, debugging: nil)
    var text = LogText()
    if let stop = run.stop { stop.describe(into: &text) } else { text.appendLiteral("never ran") }
    text.append(" after \(counter.count) exits")
    emitLine(start + ": stopped: " + text.string, cpu: cpu)
    return run.vmcsIsClear
}
