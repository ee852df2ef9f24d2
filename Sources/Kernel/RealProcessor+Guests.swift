// The real processor runs guests: VM entry and exit through the nasm stub (boot/vmx.asm),
// INVEPT/INVVPID, the TSC, the local APIC timer as the host timer, COM1 as the console.
import Intrinsics
import VMX

extension RealProcessor: GuestProcessor {
    public func enterGuest(_ registers: inout GuestRegisters, launch: Bool) throws(VMFailure) {
        let code = withUnsafeMutablePointer(to: &registers) { vmx_enter_guest(UnsafeMutableRawPointer($0), launch ? 1 : 0) }
        try outcome(code)
    }

    public func enterGuestBaseline(_ registers: inout GuestRegisters, launch: Bool, statistics: UInt64) throws(VMFailure) -> Bool {
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

    @inline(__always)
    public func vmreadField(_ encoding: UInt32) -> UInt64 { x86_vmread_field(UInt64(encoding)) }

    @inline(__always)
    public func vmwriteField(_ encoding: UInt32, _ value: UInt64) { x86_vmwrite_field(UInt64(encoding), value) }

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

    public func writeConsoleLine(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { Serial.write(byte) }
        Serial.write(UInt8(ascii: "\n"))
    }

    public func announceExitStatistics(at address: UInt64) {
        kernel_exit_statistics_symbol().pointee = address
    }
}
