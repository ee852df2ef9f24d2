// The one way the kernel stops. Tests judge a run by the exit status of the emulator and by
// the fixed final log line, because the status alone can be faked (a guest executing the
// Bochs magic breakpoint ends a Bochs run with status 0; docs/KERNEL.md).
//
// The 32-bit entry (boot/entry.asm, exit32_failure) does the same steps for the long-mode
// failure, in 32-bit code.
import Hypervisor
import VMX
import Intrinsics

/// QEMU `-device isa-debug-exit,iobase=0xf4,iosize=0x04`: writing V exits with status
/// (V << 1) | 1, so 0 gives 1 (success) and 1 gives 3 (failure). A no-op port elsewhere.
private let qemuDebugExitPort: UInt16 = 0xF4
/// Bochs: the string "Shutdown" written to this port makes Bochs panic and exit with status 1.
private let bochsShutdownPort: UInt16 = 0x8900

/// Prints "SWIFTVMX EXIT: success" or "SWIFTVMX EXIT: failure", drains COM1 and stops the
/// machine with a status that tells which:
/// - QEMU: isa-debug-exit, status 1 (success) or 3 (failure);
/// - Bochs: success is the magic breakpoint (`xchg bx, bx`, `magic_break: enabled=1`), after
///   which the command file's `quit` ends Bochs with status 0; failure is the "Shutdown"
///   port, status 1;
/// - elsewhere: the processor halts with interrupts off.
public func exitMachine(success: Bool) -> Never {
    Console.writeLine(success ? "SWIFTVMX EXIT: success" : "SWIFTVMX EXIT: failure")
    Serial.drain()
    x86_outl(qemuDebugExitPort, success ? 0 : 1)
    if success {
        x86_bochs_magic_break()
    } else {
        let shutdown: StaticString = "Shutdown"
        for index in 0..<shutdown.utf8CodeUnitCount {
            x86_outb(bochsShutdownPort, shutdown.utf8Start[index])
        }
    }
    while true {
        x86_cli()
        x86_hlt()
    }
}

/// Prints "FATAL: " and the reason on one line, then exits with failure.
public func fatal(_ reason: String) -> Never {
    log("FATAL: \(reason)")
    exitMachine(success: false)
}
