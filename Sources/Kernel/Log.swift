// The kernel's console lines, built like every line of the hypervisor: `log("memory: \(kib)
// KiB")` builds the line in a LogText on the stack (VMX's Text/LogText.swift) and
// sends its bytes to COM1. No String is built and nothing is allocated, so logging works
// before the heap exists and inside the exception handler. Unlike `cpu.log` (the Host's
// console) no "cpu N: " prefix is added: the kernel's lines name their processor themselves.
import Hypervisor
import VMX

/// Writes one line to the console.
@inline(never)
public func log(_ message: LogMessage) {
    logText(message)
    Console.newline()
}

/// Writes text to the console without ending the line.
@inline(never)
public func logText(_ message: LogMessage) {
    message.text.withBytes { for byte in $0 { Serial.write(byte) } }
}
