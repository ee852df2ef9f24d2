// I/O for a pass-through guest, exit reason 30 (docs/LINUX.md, "Ports"). The guest owns every
// port but a few; the I/O bitmaps make only those exit (PassThroughPlatform.exitingPorts):
// - kept by the hypervisor (COM1, its console; COM2, the debugger's line; the exit ports F4H
//   and 8900H): they read as absent for the guest - all ones - and writes are dropped, never
//   #GP (Linux probes COM1-COM4). A write to an exit port ends the guest.
// - the machine's power-off and reset controls: performed on the real port for the guest,
//   unless the write would power off, sleep or reset the machine; then the guest stops.
// Everything else that exits shares a bitmap bit or an access with these (a 4-byte access at
// CF8H covers CF9H) and is performed on the real port.
import VMX

/// The ports of a pass-through guest and the state of its traps.
public final class PassThroughPlatform {
    /// Power-off and reset controls found in the FADT and DSDT (nil: the machine has none).
    public var pm1aControl: UInt16?
    public var pm1bControl: UInt16?
    /// \_S5's SLP_TYPa: the sleep type that means "powered off" (nil: no \_S5 found).
    public var s5SleepType: UInt8?
    /// The FADT's RESET_REG where it is an I/O port, and its RESET_VALUE.
    public var resetPort: UInt16?
    public var resetValue: UInt8 = 0
    /// The interrupt controllers and timers to quiet when the guest stops (MADT, HPET table).
    public var ioAPICs: [UInt64] = []
    /// The firmware's MADT, whose other processors the guest must not see (PassThroughMADT).
    public var madt: ACPITable? = nil
    public var hpet: UInt64? = nil
    /// The local APIC's page where EPT maps it read-only (a guest with several virtual CPUs,
    /// PassThroughAPIC.swift).
    public var localAPICPage: UInt64? = nil
    /// What the hypervisor keeps of the machine's RAM (for the EPT-violation answer).
    public var memory: PassThroughMemory? = nil
    /// The scratch page hypervisor pages are mapped to after a violation, the pages the EPT
    /// tables for those mappings may take, and how many pages were answered so far
    /// (PassThroughEPTViolation.swift).
    var scratchPage: UInt64 = 0
    var tablePages = PageArena(base: 0, end: 0)
    var scratchMappings = 0
    /// The guest's IA32_MISC_ENABLE as it wrote it (PassThroughMSRs).
    public var miscEnable: UInt64 = PassThroughMSRs.miscEnableDefault
    /// 8042 command D1H was written: the next byte to port 60H is the output port.
    var keyboardControllerWritesOutputPort = false

    // The ports (conventional PC addresses).
    public static let com1 = SerialPort16550.base
    public static let com2: UInt16 = 0x2F8
    public static let qemuExitPort: UInt16 = 0xF4
    public static let bochsExitPort: UInt16 = 0x8900
    public static let keyboardData: UInt16 = 0x60
    public static let keyboardCommand: UInt16 = 0x64
    public static let systemControlPortA: UInt16 = 0x92
    public static let resetControlRegister: UInt16 = 0xCF9
    /// PM1 control: SLP_TYP bits 12:10, SLP_EN bit 13 (ACPI 6.5, 4.8.4.2.1 Table 4.13).
    static let sleepEnable: UInt32 = 1 << 13
    static let sleepTypeShift: UInt32 = 10
    /// 8042 commands: write output port; pulse output lines F0H-FFH (bit 0: reset line).
    static let writeOutputPort: UInt32 = 0xD1
    static let resetControlRSTCPU: UInt32 = 1 << 2

    public init() {}

    /// Whether `port` is the hypervisor's: absent for the guest.
    public static func isKept(_ port: UInt16) -> Bool {
        (com1..<com1 + 8).contains(port) || (com2..<com2 + 8).contains(port)
            || (qemuExitPort..<qemuExitPort + 4).contains(port) || port == bochsExitPort
    }

    /// Every port whose accesses exit.
    public var exitingPorts: [UInt16] {
        var ports: [UInt16] = []
        for offset in 0..<UInt16(8) { ports += [Self.com1 + offset, Self.com2 + offset] }
        for offset in 0..<UInt16(4) { ports.append(Self.qemuExitPort + offset) }
        ports += [
            Self.bochsExitPort, Self.keyboardData, Self.keyboardCommand, Self.systemControlPortA,
            Self.resetControlRegister
        ]
        for control in [pm1aControl, pm1bControl] { if let control { ports += [control, control + 1] } }
        if let resetPort { ports.append(resetPort) }
        return ports
    }

    /// What a write of `size` bytes of `value` to `port` does to the machine, if it ends it.
    func stop(writing value: UInt32, size: Int, to port: UInt16) -> PlatformStop? {
        // The byte that lands on `target`, if the access covers it.
        func byte(at target: UInt16) -> UInt32? {
            guard target >= port, Int(target - port) < size else { return nil }
            return (value >> (UInt32(target - port) * 8)) & 0xFF
        }
        for offset in 0..<UInt16(4) where byte(at: Self.qemuExitPort + offset) != nil {
            return .exitPort(Self.qemuExitPort)
        }
        if byte(at: Self.bochsExitPort) != nil { return .exitPort(Self.bochsExitPort) }
        for control in [pm1aControl, pm1bControl] {
            guard let control, let high = byte(at: control + 1) else { continue }
            let register = (byte(at: control) ?? 0) | high << 8
            guard register & Self.sleepEnable != 0 else { continue }
            let type = UInt8((register >> Self.sleepTypeShift) & 7)
            return type == s5SleepType ? .poweredOff : .sleep(sleepType: type)
        }
        if let command = byte(at: Self.keyboardCommand) {
            keyboardControllerWritesOutputPort = command == Self.writeOutputPort
            if command >= 0xF0 && command & 1 == 0 { return .reset(.keyboardControllerPulse) }
        }
        if let data = byte(at: Self.keyboardData), keyboardControllerWritesOutputPort {
            keyboardControllerWritesOutputPort = false
            if data & 1 == 0 { return .reset(.keyboardControllerOutputPort) }
        }
        if let control = byte(at: Self.systemControlPortA), control & 1 != 0 { return .reset(.systemControlPortA) }
        // CF9H is an 8-bit register; a 4-byte access at CF8H is CONFIG_ADDRESS.
        if size < 4, let control = byte(at: Self.resetControlRegister), control & Self.resetControlRSTCPU != 0 {
            return .reset(.resetControlRegister)
        }
        if let resetPort, byte(at: resetPort) == UInt32(resetValue) { return .reset(.fadtResetRegister) }
        return nil
    }

    /// IN of `size` bytes at `port` for the guest: kept ports read as all ones, others from the
    /// real port.
    func read<P: Host>(_ port: UInt16, size: Int, cpu: P) -> UInt32 {
        var kept = false
        for index in 0..<UInt16(size) where Self.isKept(port &+ index) { kept = true }
        let ones: UInt32 = size >= 4 ? .max : (1 << UInt32(size * 8)) - 1
        return kept ? ones : cpu.readPort(port, size: size)
    }

    /// OUT for the guest: dropped on kept ports, performed on the others.
    func write<P: Host>(_ port: UInt16, size: Int, _ value: UInt32, cpu: P) {
        for index in 0..<UInt16(size) where Self.isKept(port &+ index) { return }
        cpu.writePort(port, size: size, value)
    }
}

public func handlePassThroughIO<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard let platform = vcpu.platform else { return handleIOInstruction(vcpu, &exit) }
    let q = IOInstructionQualification(rawValue: exit.qualification)
    let size = q.size
    if q.isString {
        // Element by element through the byte accessors (VirtualCPU.emulatedRead/Write); string
        // I/O to these ports is unusual, and an element that ends the machine is caught below.
        let action = stringIO(vcpu, exit, q)
        if let stop = vcpu.pendingPlatformStop { return .stop(.platform(stop)) }
        return action
    }
    if q.isIn {
        let value = UInt64(platform.read(q.port, size: size, cpu: vcpu.cpu))
        switch size {
        case 1: vcpu.registers.rax = vcpu.registers.rax & ~0xFF | value
        case 2: vcpu.registers.rax = vcpu.registers.rax & ~0xFFFF | value
        default: vcpu.registers.rax = value
        }
    } else {
        let value = UInt32(truncatingIfNeeded: vcpu.registers.rax)
        if let stop = platform.stop(writing: value, size: size, to: q.port) { return .stop(.platform(stop)) }
        platform.write(q.port, size: size, value, cpu: vcpu.cpu)
    }
    vcpu.skipIOInstruction(exit)
    return .resume
}
