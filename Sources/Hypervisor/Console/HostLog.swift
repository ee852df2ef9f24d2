// The hypervisor's console lines go through the Host's console (Host.writeConsoleLine),
// built in the one text builder (VMX's Text/LogText.swift).
import VMX

extension Host {
    /// Writes one line to the console.
    public func log(_ message: LogMessage) {
        message.text.withBytes { writeConsoleLine($0) }
    }
}
