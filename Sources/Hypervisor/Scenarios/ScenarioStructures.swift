// What the scenario runner and the exit-program runner set up once per run: the default
// set-up, the exit statistics, the I/O and MSR bitmaps and one page for the guest's code. Every
// file of the run uses them; after each file the shared pages must be as they were
// (`pageChecksum`), as a guest let loose on host memory would change them.
import VMX

struct ScenarioStructures {
    var environment: GuestEnvironment
    /// The guest's code page.
    var code: UInt64

    /// The pages no file may change: the bitmaps.
    var bitmapPages: [UInt64] {
        [environment.bitmaps.ioBitmapA, environment.bitmaps.ioBitmapB, environment.bitmaps.msrBitmap]
    }

    /// The structures, or nil after a line that begins with `runner` and names what is missing.
    static func make<P: Host>(
        runner: String, capabilities: VMXCapabilities, host: HostState, arena: inout PageArena, cpu: P
    ) -> ScenarioStructures? {
        let setup = ControlSetup(capabilities: capabilities)
        guard setup.hasAllRequired, setup.allowsIA32eModeGuest else {
            emitLine(runner + ": this CPU lacks VMX controls the default set-up requires", cpu: cpu)
            return nil
        }
        guard let page = arena.allocate(bytes: ExitStatistics.byteCount, zeroingWith: cpu),
            let bitmaps = Bitmaps(arena: &arena, cpu: cpu),
            let code = arena.allocate(bytes: PhysicalLayout.pageSize, zeroingWith: cpu)
        else {
            emitLine(runner + ": the arena has no room for the shared structures", cpu: cpu)
            return nil
        }
        let environment = GuestEnvironment(
            capabilities: capabilities, setup: setup, host: host, bitmaps: bitmaps,
            statistics: ExitStatistics(base: page, cpu: cpu))
        return ScenarioStructures(environment: environment, code: code)
    }
}
