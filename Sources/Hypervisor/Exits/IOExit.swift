// I/O instructions, exit reason 30. The I/O bitmaps make every port exit (Bitmaps.swift), so
// the guest reaches only what is emulated here: COM1 (SerialPort16550) and port 80H (POST
// codes: writes ignored, reads FFH). Any other port, among them the host's exit ports (QEMU's
// isa-debug-exit F4H, Bochs's shutdown port 8900H), COM2 (the guest debugger's line) and the
// interrupt controllers, gets #GP(0), as a port the TSS I/O bitmap denies would (SDM Vol. 1
// 19.5.2). The exit qualification (Table 28-5) gives port, size, direction and string/REP;
// INS/OUTS take their address size and segment from the VM-exit instruction-information field
// (Table 28-8) where IA32_VMX_BASIC[54] says it is filled in.
import VMX

/// What the guest may not touch, by name, for the log.
public func portDescription(_ port: UInt16) -> StaticString {
    switch port {
    case 0x20, 0x21: return "8259A PIC, master"
    case 0xA0, 0xA1: return "8259A PIC, slave"
    case 0x40...0x43: return "8254 PIT"
    case 0x60, 0x64: return "8042 keyboard controller"
    case 0x70, 0x71: return "CMOS/RTC"
    case 0xF4...0xF7: return "QEMU isa-debug-exit: the host's exit port"
    case 0x8900: return "Bochs shutdown port: the host's exit port"
    case 0x2F8...0x2FF: return "COM2: the host's guest-debugger line"
    case 0x3F8...0x3FF: return "COM1"
    case 0xCF8...0xCFF: return "PCI configuration"
    default: return "not emulated"
    }
}

/// Whether the hypervisor emulates `port` for guests.
public func isEmulated(port: UInt16) -> Bool { SerialPort16550.handles(port: port) || port == 0x80 }

extension VirtualCPU {
    /// Reads one byte from an emulated port; nil when the port is not emulated.
    func emulatedRead(port: UInt16) -> UInt8? {
        if SerialPort16550.handles(port: port) { return serial.read(offset: port - SerialPort16550.base) }
        if port == 0x80 { return 0xFF }
        return nil
    }

    /// Writes one byte to an emulated port; false when the port is not emulated. Inline: for
    /// port 80H the whole write is then the compare that `isEmulated` already made.
    @inline(__always)
    func emulatedWrite(port: UInt16, value: UInt8) -> Bool {
        if SerialPort16550.handles(port: port) {
            writeSerial(offset: port - SerialPort16550.base, value: value)
            return true
        }
        return port == 0x80
    }

    /// One byte of string I/O: the emulated ports of a sandboxed guest (absent ones read all
    /// ones), or a pass-through guest's own ports, where a write that ends the machine is kept
    /// in `pendingPlatformStop` (PassThroughPorts.swift).
    func stringIORead(port: UInt16) -> UInt8 {
        guard let platform else { return emulatedRead(port: port) ?? 0xFF }
        return UInt8(truncatingIfNeeded: platform.read(port, size: 1, cpu: cpu))
    }

    func stringIOWrite(port: UInt16, value: UInt8) {
        guard let platform else { _ = emulatedWrite(port: port, value: value); return }
        if pendingPlatformStop == nil, let stop = platform.stop(writing: UInt32(value), size: 1, to: port) {
            pendingPlatformStop = stop
        }
        if pendingPlatformStop == nil { platform.write(port, size: 1, UInt32(value), cpu: cpu) }
    }

    @inline(never)
    func writeSerial(offset: UInt16, value: UInt8) {
        if let line = serial.write(offset: offset, value: value) { printSerialLine(line) }
    }

    func printSerialLine(_ line: [UInt8]) {
        guard mayLog(.serial) else { return }
        line.withUnsafeBytes { cpu.log("[\(name):com1] \(guestBytes: $0)") }
    }

    /// #GP(0) for an access to a port the guest may not use.
    func denyPort(_ port: UInt16, isIn: Bool) -> ExitAction {
        generalProtection(
            kind: .refusedPort,
            """
            guest \(name): \(isIn ? "IN from" : "OUT to") port \(hex: port, digits: 4) (\(portDescription(port))) \
            denied: #GP(0) injected
            """
        )
    }
}

public func handleIOInstruction<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    let q = IOInstructionQualification(rawValue: exit.qualification)
    let size = UInt16(q.size)
    for index in 0..<size where !isEmulated(port: q.port &+ index) {
        return vcpu.denyPort(q.port &+ index, isIn: q.isIn)
    }
    if q.isString { return stringIO(vcpu, exit, q) }
    if q.isIn {
        var value: UInt64 = 0
        for index in 0..<size {
            value |= UInt64(vcpu.emulatedRead(port: q.port &+ index) ?? 0xFF) << (UInt64(index) * 8)
        }
        // IN to AL/AX keeps the rest of RAX; IN to EAX clears bits 63:32 (SDM Vol. 1 3.4.1.1).
        switch size {
        case 1: vcpu.registers.rax = vcpu.registers.rax & ~0xFF | value
        case 2: vcpu.registers.rax = vcpu.registers.rax & ~0xFFFF | value
        default: vcpu.registers.rax = value
        }
    } else {
        for index in 0..<size {
            _ = vcpu.emulatedWrite(
                port: q.port &+ index, value: UInt8(truncatingIfNeeded: vcpu.registers.rax >> (UInt64(index) * 8)))
        }
    }
    vcpu.skipIOInstruction(exit)
    return .resume
}

/// INS and OUTS, REP-prefixed or not: up to 4096 iterations per exit; with more to go the
/// instruction is not skipped, so it exits again and continues (RCX, RSI/RDI say where).
func stringIO<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: ExitContext, _ q: IOInstructionQualification) -> ExitAction {
    let in64 = vcpu.isIn64BitMode
    var addressSize =
        in64
        ? 8 : (vcpu.read(.guestCSAccessRights) & UInt64(SegmentAccessRights.defaultOperationSize.rawValue) != 0 ? 4 : 2)
    var segment = q.isIn ? 0 : 3  // INS writes ES:RDI; OUTS reads DS:RSI unless overridden
    if vcpu.setup.reportsStringIOInformation {
        let information = StringIOInstructionInformation(
            rawValue: UInt32(truncatingIfNeeded: vcpu.read(.vmExitInstructionInformation)))
        addressSize = information.addressSizeInBytes ?? addressSize
        if !q.isIn { segment = information.segmentRegister }
    }
    let mask: UInt64 = addressSize == 8 ? .max : (UInt64(1) << UInt64(addressSize * 8)) - 1
    let bases: [VMCSField] = [.guestESBase, .guestCSBase, .guestSSBase, .guestDSBase, .guestFSBase, .guestGSBase]
    let segmentBase = in64 && segment < 4 ? 0 : vcpu.read(bases[min(segment, 5)])
    let step: UInt64 = vcpu.read(.guestRFLAGS) & RFLAGS.df.rawValue != 0 ? 0 &- UInt64(q.size) : UInt64(q.size)
    let indexRegister = q.isIn ? 7 : 6
    var remaining = q.isRepeated ? vcpu.registers.rcx & mask : 1
    var iterations = 0
    // The host's time on the iterations counts against the budget at the next VM entry.
    vcpu.chargeHostTimeAtNextEntry()
    while remaining > 0 && iterations < 4096 {
        let offset = vcpu.registers[indexRegister] & mask
        let linear = segmentBase &+ offset
        if q.isIn {
            var bytes: [UInt8] = []
            for index in 0..<UInt16(q.size) { bytes.append(vcpu.stringIORead(port: q.port &+ index)) }
            guard vcpu.writeGuest(linear: linear, bytes: bytes) else { return stringIOFault(vcpu, linear) }
        } else {
            guard let bytes = vcpu.readGuest(linear: linear, count: q.size) else { return stringIOFault(vcpu, linear) }
            for (index, byte) in bytes.enumerated() { vcpu.stringIOWrite(port: q.port &+ UInt16(index), value: byte) }
        }
        vcpu.registers[indexRegister] = (vcpu.registers[indexRegister] & ~mask) | ((offset &+ step) & mask)
        remaining -= 1
        iterations += 1
        if q.isRepeated { vcpu.registers.rcx = (vcpu.registers.rcx & ~mask) | remaining }
    }
    if remaining == 0 { vcpu.skipIOInstruction(exit) }
    return .resume
}

/// A string I/O operand the guest's paging or memory does not back: #GP(0) (the hypervisor
/// does not emulate the #PF the processor might have raised).
func stringIOFault<P: Host>(_ vcpu: VirtualCPU<P>, _ linear: UInt64) -> ExitAction {
    vcpu.generalProtection(
        "guest \(vcpu.name): string I/O operand at linear \(hex: linear) is not in the guest's memory: #GP(0) injected")
}
