// How a pass-through guest ends the machine (docs/LINUX.md, "Ending"): the power-off and reset
// controls the hypervisor traps, so that it can leave VMX cleanly and print its final line
// instead of letting the machine go down under it.
import VMX

/// Why a pass-through guest stopped the machine.
public enum PlatformStop: Equatable, Sendable {
    /// SLP_EN written to a PM1 control register with \_S5's SLP_TYP (ACPI 6.5, 7.4.2 "\_S5").
    case poweredOff
    /// SLP_EN with another sleep type: the hypervisor does not survive a sleep state.
    case sleep(sleepType: UInt8)
    /// A reset through one of the machine's reset controls.
    case reset(ResetControl)
    /// A write to one of the hypervisor's own exit ports (QEMU's isa-debug-exit, Bochs's
    /// shutdown port).
    case exitPort(UInt16)

    public func describe(into text: inout LogText) {
        switch self {
        case .poweredOff: text.appendLiteral("powered off (ACPI S5)")
        case .sleep(let type):
            text.append("entered ACPI sleep type \(type) (not S5), which the hypervisor does not survive")
        case .reset(let control):
            text.appendLiteral("reset (")
            text.appendLiteral(control.name)
            text.appendLiteral(")")
        case .exitPort(let port): text.append("wrote the hypervisor's exit port \(hex: port, digits: 4)")
        }
    }
}

/// The machine's reset controls.
public enum ResetControl: Equatable, Sendable {
    /// 8042 command F0H-FEH with bit 0 clear: pulse the output port's reset line.
    case keyboardControllerPulse
    /// 8042 command D1H (write output port) followed by a byte with bit 0 (reset) clear.
    case keyboardControllerOutputPort
    /// System control port A (92H), bit 0: fast reset.
    case systemControlPortA
    /// Reset control register (CF9H), bit 2: RST_CPU.
    case resetControlRegister
    /// The FADT's RESET_REG written with RESET_VALUE (ACPI 6.5, 4.8.4.6).
    case fadtResetRegister

    public var name: StaticString {
        switch self {
        case .keyboardControllerPulse: return "keyboard controller reset pulse, port 64H"
        case .keyboardControllerOutputPort: return "keyboard controller output port, ports 64H and 60H"
        case .systemControlPortA: return "system control port A, port 92H bit 0"
        case .resetControlRegister: return "reset control register, port CF9H bit 2"
        case .fadtResetRegister: return "the FADT's RESET_REG"
        }
    }
}
