// The real processor runs guests: VM entry and exit through the nasm stub (boot/vmx.asm),
// INVEPT/INVVPID, the TSC (VMX.GuestProcessor); and the machine around it (Hypervisor.Host):
// the local APIC timer as the host timer, COM1 as the console, the benchmark's baseline.
import Hypervisor
import Intrinsics
import VMX

extension RealProcessor: GuestProcessor, Host {
    public func enterGuest(_ registers: inout GuestRegisters, launch: Bool) throws(VMFailure) {
        let code = withUnsafeMutablePointer(to: &registers) {
            vmx_enter_guest(UnsafeMutableRawPointer($0), launch ? 1 : 0)
        }
        try outcome(code)
    }

    public func enterGuestBaseline(_ registers: inout GuestRegisters, launch: Bool, statistics: UInt64)
        throws(VMFailure) -> Bool
    {
        let code = withUnsafeMutablePointer(to: &registers) {
            vmx_baseline_run(UnsafeMutableRawPointer($0), launch ? 1 : 0, statistics)
        }
        try outcome(code)
        return true
    }

    public func invept(type: INVEPTType, eptp: UInt64) throws(VMFailure) {
        var descriptor: (UInt64, UInt64) = (eptp, 0)
        let code = withUnsafePointer(to: &descriptor) { x86_invept(type.rawValue, UnsafeRawPointer($0)) }
        try outcome(code)
    }

    public func invvpid(type: INVVPIDType, vpid: UInt16, address: UInt64) throws(VMFailure) {
        var descriptor: (UInt64, UInt64) = (UInt64(vpid), address)
        let code = withUnsafePointer(to: &descriptor) { x86_invvpid(type.rawValue, UnsafeRawPointer($0)) }
        try outcome(code)
    }

    public func readTimestampCounter() -> UInt64 { x86_rdtsc() }

    public func readDebugRegister(_ number: Int) -> UInt64 {
        switch number {
        case 0: return x86_read_dr0()
        case 1: return x86_read_dr1()
        case 2: return x86_read_dr2()
        default: return x86_read_dr3()
        }
    }

    @inline(__always)
    public func vmreadField(_ field: VMCSField) -> UInt64 {
        #if DEBUG
            do { return try vmread(field) } catch { reportFieldAccessFailure("VMREAD", field, error); return 0 }
        #else
            return x86_vmread_field(UInt64(field.rawValue))
        #endif
    }

    @inline(__always)
    public func vmwriteField(_ field: VMCSField, _ value: UInt64) {
        #if DEBUG
            do { try vmwrite(field, value) } catch { reportFieldAccessFailure("VMWRITE", field, error) }
        #else
            x86_vmwrite_field(UInt64(field.rawValue), value)
        #endif
    }

    #if DEBUG
        /// The debug kernel's report of an exit-path VMREAD or VMWRITE that failed.
        @inline(never)
        func reportFieldAccessFailure(_ instruction: StaticString, _ field: VMCSField, _ failure: VMFailure) {
            log(
                """
                \(instruction) of \(field.name ?? "an undefined field") [\(hex: field.rawValue, digits: 4)] on the \
                exit path failed: \(describe(failure))
                """
            )
        }
    #endif

    /// The local APIC timer (HostTimer.swift).
    public func armHostTimer(cycles: UInt64) -> UInt8? {
        HostTimer.arm(cycles: cycles)
        return HostTimer.vector
    }

    public func disarmHostTimer() { HostTimer.disarm() }
    public func hostTimerExpired() -> Bool { HostTimer.expired }

    /// NMI: IRET to lift the NMI blocking the VM exit left; an external interrupt: EOI.
    public func endHostInterrupt(vector: UInt8) {
        if vector == 2 { x86_iret_to_self() } else { HostTimer.endOfInterrupt() }
    }

    public func readPort(_ port: UInt16, size: Int) -> UInt32 {
        switch size {
        case 1: return UInt32(x86_inb(port))
        case 2: return UInt32(x86_inw(port))
        default: return x86_inl(port)
        }
    }

    public func writePort(_ port: UInt16, size: Int, _ value: UInt32) {
        switch size {
        case 1: x86_outb(port, UInt8(truncatingIfNeeded: value))
        case 2: x86_outw(port, UInt16(truncatingIfNeeded: value))
        default: x86_outl(port, value)
        }
    }

    public func readMMIO32(_ address: UInt64) -> UInt32 { x86_mmio_read32(address) }
    public func writeMMIO32(_ address: UInt64, _ value: UInt32) { x86_mmio_write32(address, value) }

    /// Identity-mapped memory: one memmove.
    public func copyPhysical(from source: UInt64, to destination: UInt64, count: UInt64) {
        guard count > 0 else { return }
        UnsafeMutableRawPointer(bitPattern: UInt(destination)).unsafelyUnwrapped.copyMemory(
            from: UnsafeRawPointer(bitPattern: UInt(source)).unsafelyUnwrapped, byteCount: Int(count))
    }

    /// One line; on an AP it begins with "cpu N: " (the console takes whole lines, Serial.swift).
    public func writeConsoleLine(_ bytes: UnsafeRawBufferPointer) {
        if let me = PerCPU.current, me.index != 0 { logText("cpu \(me.index): ") }
        for byte in bytes { Serial.write(byte) }
        Serial.write(UInt8(ascii: "\n"))
    }

    public func announceExitStatistics(at address: UInt64) {
        kernel_exit_statistics_symbol().pointee = address
    }
}

// The other processors: the local APIC as the machine's firmware or the guest left it.
extension RealProcessor {
    /// The rate measured at start-up (Processors.swift), 0 on a machine with one processor.
    public var timestampTicksPerMillisecond: UInt64 { TSCClock.ticksPerMillisecond }

    public var localAPICID: UInt32 {
        if let me = PerCPU.current { return me.apicID }
        return x86_cpuid(1, 0).ebx >> 24
    }

    /// Through the local APIC in the mode it is in now (a pass-through guest may have switched
    /// it to x2APIC mode, or disabled it: it is enabled again first, SDM Vol. 3A 12.4.3).
    @discardableResult
    public func sendInterProcessorInterrupt(_ ipi: InterProcessorInterrupt, to apicID: UInt32) -> Bool {
        var base = x86_rdmsr(MSR.ia32APICBase)
        if base & LocalAPIC.globalEnable == 0 {
            base |= LocalAPIC.globalEnable
            x86_wrmsr(MSR.ia32APICBase, base)
        }
        let apic = LocalAPICSender(base: base & LocalAPIC.baseMask, x2APIC: base & LocalAPIC.x2APICMode != 0)
        apic.softwareEnable()
        return apic.send(to: apicID, command: ipi.commandLow)
    }

    public func compareExchangePhysical32(_ address: UInt64, expected: UInt32, desired: UInt32) -> UInt32 {
        x86_atomic_cmpxchg32(
            UnsafeMutablePointer<UInt32>(bitPattern: UInt(address)).unsafelyUnwrapped, expected, desired)
    }

    public func loadPhysical32Atomic(_ address: UInt64) -> UInt32 {
        x86_atomic_load32(UnsafeMutablePointer<UInt32>(bitPattern: UInt(address)).unsafelyUnwrapped)
    }

    public func storePhysical32Atomic(_ address: UInt64, _ value: UInt32) {
        x86_atomic_store32(UnsafeMutablePointer<UInt32>(bitPattern: UInt(address)).unsafelyUnwrapped, value)
    }
}
