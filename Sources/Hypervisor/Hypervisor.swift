// The hypervisor's life cycle, as one function both worlds call: enable VMX, report what the
// CPU offers, do the work the boot options ask for, and leave VMX operation cleanly.
import VMX

/// What the boot command line asks for (a word each, separated by spaces).
public struct BootOptions {
    /// `capture`: print the raw capability fixture (docs/FIXTURES.md) for Tests/fixtures.
    public var captureFixture = false

    public init() {}

    public init(commandLine: String) {
        for word in commandLine.utf8.split(separator: UInt8(ascii: " ")) {
            if word.elementsEqual("capture".utf8) { captureFixture = true }
        }
    }
}

/// Runs the hypervisor on `cpu` with memory from `arena`. Every line goes to `log`. Returns
/// whether everything succeeded; on failure the last line logged says why, in SDM terms.
public func runHypervisor<P: Processor>(
    on cpu: P, arena: inout PageArena, options: BootOptions, log: (String) -> Void
) -> Bool {
    let operation: VMXRootOperation
    do {
        operation = try enableVMX(on: cpu, arena: &arena, log: log)
    } catch {
        log("FATAL: " + error.description)
        return false
    }
    let capabilities = VMXCapabilities.read(from: cpu)
    capabilityReport(capabilities, emit: log)

    var succeeded = true
    if options.captureFixture {
        succeeded = captureFixture(cpu: cpu, capabilities: capabilities, arena: &arena,
                                   operation: operation, log: log)
    }

    do {
        try disableVMX(operation, on: cpu, log: log)
    } catch {
        log("FATAL: " + error.description)
        return false
    }
    return succeeded
}
