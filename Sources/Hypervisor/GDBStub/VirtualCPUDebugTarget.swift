// The stub's view of a guest: registers from the saved GPRs and the VMCS, memory through the
// guest's paging and EPT (VirtualCPU+Memory.swift), hardware breakpoints in the processor's
// DR0-DR3 (which VM entry does not switch: the guest runs with the host's) and the guest's DR7
// in the VMCS (loaded on VM entry, "load debug controls", SDM 27.3.2.1).
import VMX

/// What the platform gives the guest debugger besides the VMX processor: the byte line to gdb
/// (COM2 in the kernel) and the debug registers DR0-DR3. A class so that one value can travel
/// through the generic hypervisor code as `any GuestDebugHost`.
public protocol GuestDebugHost: AnyObject {
    /// Waits for gdb's next byte; nil when the line is gone.
    func receiveByte() -> UInt8?
    /// gdb's next byte if one has arrived.
    func pollByte() -> UInt8?
    func send(_ byte: UInt8)
    /// MOV to DR0-DR3 (`number` 0-3).
    func writeDebugRegister(_ number: Int, _ value: UInt64)
}

/// The byte line of a `GuestDebugHost` as the stub's connection.
public struct GuestDebugConnection: GDBConnection {
    public let host: any GuestDebugHost
    public init(host: any GuestDebugHost) { self.host = host }
    public mutating func receiveByte() -> UInt8? { host.receiveByte() }
    public mutating func pollByte() -> UInt8? { host.pollByte() }
    public mutating func send(_ byte: UInt8) { host.send(byte) }
}

public struct VirtualCPUDebugTarget<P: Host>: GDBTarget {
    public let vcpu: VirtualCPU<P>
    public let host: any GuestDebugHost
    /// The guest's RFLAGS.TF as the guest set it, while the debugger single-steps with TF.
    public var hiddenTrapFlag: Bool? = nil

    public init(vcpu: VirtualCPU<P>, host: any GuestDebugHost, hiddenTrapFlag: Bool? = nil) {
        self.vcpu = vcpu
        self.host = host
        self.hiddenTrapFlag = hiddenTrapFlag
    }

    /// CR0.PE = 0: real mode; IA-32e mode with CS.L = 1: 64-bit mode; otherwise 32-bit.
    public var architecture: GDBArchitecture {
        if vcpu.isIn64BitMode { return .x86_64 }
        return vcpu.read(.guestCR0) & ControlRegister0.pe.rawValue == 0 ? .i8086 : .i386
    }

    /// CR0 and CR4 as the guest sees them: its own bits where the host owns none, the read
    /// shadow where it does (SDM 25.6.6).
    private func guestView(_ field: VMCSField, shadow: VMCSField, mask: UInt64) -> UInt64 {
        (vcpu.read(field) & ~mask) | (vcpu.read(shadow) & mask)
    }

    public func readRegister(_ register: X86Register) -> UInt64? {
        switch register {
        case .rsp: return vcpu.read(.guestRSP)
        case .rip: return vcpu.read(.guestRIP)
        case .rflags:
            let flags = vcpu.read(.guestRFLAGS)
            guard let trap = hiddenTrapFlag else { return flags }
            return trap ? flags | RFLAGS.tf.rawValue : flags & ~RFLAGS.tf.rawValue
        case .cs: return vcpu.read(.guestCSSelector)
        case .ss: return vcpu.read(.guestSSSelector)
        case .ds: return vcpu.read(.guestDSSelector)
        case .es: return vcpu.read(.guestESSelector)
        case .fs: return vcpu.read(.guestFSSelector)
        case .gs: return vcpu.read(.guestGSSelector)
        case .fsBase: return vcpu.read(.guestFSBase)
        case .gsBase: return vcpu.read(.guestGSBase)
        case .cr0: return guestView(.guestCR0, shadow: .cr0ReadShadow, mask: vcpu.cr0Mask)
        case .cr2: return nil  // not in the VMCS; the hypervisor does not keep it
        case .cr3: return vcpu.read(.guestCR3)
        case .cr4: return guestView(.guestCR4, shadow: .cr4ReadShadow, mask: vcpu.cr4Mask)
        case .cr8: return vcpu.taskPriority
        case .efer:
            guard let efer = try? vcpu.cpu.vmread(VMCSField.guestIA32EFER) else { return vcpu.shadowEFER }
            return efer
        default: return vcpu.registers[Int(register.rawValue)]
        }
    }

    /// GPRs, RSP, RIP, RFLAGS (within its fixed bits) and the FS/GS bases; the selectors and
    /// control registers would need their hidden parts changed with them, so they are refused.
    public mutating func writeRegister(_ register: X86Register, _ value: UInt64) -> Bool {
        switch register {
        case .rsp: vcpu.write(.guestRSP, value)
        case .rip: vcpu.write(.guestRIP, value)
        case .rflags:
            guard value & RFLAGS.reservedZero.rawValue == 0 else { return false }
            var flags = value | RFLAGS.alwaysOne.rawValue
            if hiddenTrapFlag != nil {
                // The debugger's TF stays; what gdb writes is the guest's own.
                hiddenTrapFlag = value & RFLAGS.tf.rawValue != 0
                flags |= RFLAGS.tf.rawValue
            }
            vcpu.write(.guestRFLAGS, flags)
        case .fsBase: vcpu.write(.guestFSBase, value)
        case .gsBase: vcpu.write(.guestGSBase, value)
        case .cs, .ss, .ds, .es, .fs, .gs, .cr0, .cr2, .cr3, .cr4, .cr8, .efer: return false
        default: vcpu.registers[Int(register.rawValue)] = value
        }
        return true
    }

    public mutating func readMemory(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var done = 0
        while done < buffer.count {
            let linear = address &+ UInt64(done)
            let inPage = min(buffer.count - done, Int(PhysicalLayout.pageSize - (linear & PageFrame.offsetMask)))
            guard let physical = vcpu.guestPhysical(ofLinear: linear),
                let bytes = vcpu.memory.readBytes(guestPhysical: physical, count: inPage, cpu: vcpu.cpu),
                bytes.count == inPage
            else { break }
            for (index, byte) in bytes.enumerated() { buffer[done + index] = byte }
            done += inPage
        }
        return done
    }

    public mutating func writeMemory(at address: UInt64, from bytes: UnsafeRawBufferPointer) -> Int {
        var done = 0
        while done < bytes.count {
            guard vcpu.writeGuest(linear: address &+ UInt64(done), bytes: [bytes[done]]) else { break }
            done += 1
        }
        return done
    }

    // MARK: Hardware breakpoints (SDM Vol. 3B 19.2): DR7.Ln enables DRn, R/Wn = 00 and LENn = 00
    // make it an instruction breakpoint.

    private var dr7: UInt64 { vcpu.read(.guestDR7) }

    public mutating func insertHardwareBreakpoint(at address: UInt64) -> Bool {
        // Without "load debug controls" VM entry leaves DR7 as the host has it (400H after
        // every VM exit, SDM 28.5.1): the guest's DR7 in the VMCS would have no effect.
        guard vcpu.read(.vmEntryControls) & UInt64(VMEntryControls.loadDebugControls.rawValue) != 0 else {
            return false
        }
        let dr7 = self.dr7
        guard let slot = (0..<4).first(where: { dr7 & DebugRegister7.localEnable(UInt64($0)) == 0 }) else {
            return false
        }
        host.writeDebugRegister(slot, address)
        let fields: UInt64 = 0xF << (16 + 4 * UInt64(slot))  // R/W and LEN: 00, 00
        vcpu.write(.guestDR7, (dr7 & ~fields) | DebugRegister7.localEnable(UInt64(slot)) | DebugRegister7.alwaysOne)
        slots[slot] = address
        return true
    }

    public mutating func removeHardwareBreakpoint(at address: UInt64) -> Bool {
        guard let slot = (0..<4).first(where: { slots[$0] == address }) else { return false }
        slots[slot] = nil
        vcpu.write(.guestDR7, dr7 & ~DebugRegister7.localEnable(UInt64(slot)))
        return true
    }

    /// The addresses this target put in DR0-DR3 (the debug registers themselves cannot be read
    /// back through the hypervisor's seam).
    public private(set) var slots: [UInt64?] = [nil, nil, nil, nil]

    /// Puts the debugger's breakpoints back into DR0-DR3 and the guest's DR7, which a guest
    /// without MOV-DR exiting writes itself: Linux clears all of them in cpu_init (so a
    /// breakpoint set before Linux's first instruction would be gone). Called before the guest
    /// resumes; the guest's own use of a slot the debugger holds is overridden, and a write of
    /// the guest's takes effect until its next VM exit.
    public func reassertHardwareBreakpoints() {
        guard slots.contains(where: { $0 != nil }) else { return }
        let dr7 = self.dr7
        var wanted = dr7
        for slot in 0..<4 {
            guard let address = slots[slot] else { continue }
            host.writeDebugRegister(slot, address)
            wanted = (wanted & ~(0xF << (16 + 4 * UInt64(slot)))) | DebugRegister7.localEnable(UInt64(slot))
        }
        if wanted != dr7 { vcpu.write(.guestDR7, wanted | DebugRegister7.alwaysOne) }
    }
}
