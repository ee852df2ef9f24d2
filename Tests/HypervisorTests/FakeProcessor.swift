// A scripted processor for the enable sequence's failure paths: it serves captured MSR and
// CPUID values, keeps CR0/CR4 and memory, can refuse control-register bits, and records every
// MSR read so a test can prove that no MSR was read where the architecture says it is absent.
// As a Host it keeps the console's lines (`consoleLines`); it runs no guest.
import Testing
import VMX
import Hypervisor

final class FakeProcessor: Processor {
    var msrs: [UInt32: UInt64]
    var leaves: [UInt64: CPUIDResult]
    var cr0: UInt64 = 0x8000_0011  // PG, ET, PE: what the boot stub leaves
    var cr3: UInt64 = 0x1000
    var cr4: UInt64 = 0x20  // PAE
    /// Bits of CR0/CR4 that keep their old value whatever is written (a kernel that cannot take them).
    var stuckCR0: UInt64 = 0
    var stuckCR4: UInt64 = 0
    /// Whether WRMSR to IA32_FEATURE_CONTROL is ignored.
    var featureControlReadOnly = false
    var memory: [UInt64: UInt32] = [:]
    var vmxonOutcome: VMFailure? = nil
    var vmxonCalls: [UInt64] = []
    var vmxoffCalls = 0
    var msrReads: [UInt32] = []
    /// The lines written to the console, in order.
    var consoleLines: [String] = []

    init(msrs: [UInt32: UInt64], leaves: [UInt64: CPUIDResult]) {
        self.msrs = msrs
        self.leaves = leaves
    }

    func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        leaves[UInt64(leaf) << 32 | UInt64(subleaf)] ?? CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
    }
    func readMSR(_ msr: MSR) -> UInt64 {
        msrReads.append(msr.rawValue)
        guard let value = msrs[msr.rawValue] else {
            Issue.record("RDMSR \(hex(msr.rawValue)) would raise #GP: the MSR does not exist on this CPU")
            return 0
        }
        return value
    }
    func writeMSR(_ msr: MSR, _ value: UInt64) {
        if msr == MSR.ia32FeatureControl && featureControlReadOnly { return }
        msrs[msr.rawValue] = value
    }
    func readControlRegister(_ register: ControlRegister) -> UInt64 {
        switch register {
        case .cr0: return cr0
        case .cr3: return cr3
        case .cr4: return cr4
        }
    }
    func writeControlRegister(_ register: ControlRegister, _ value: UInt64) {
        switch register {
        case .cr0: cr0 = (value & ~stuckCR0) | (cr0 & stuckCR0)
        case .cr3: cr3 = value
        case .cr4: cr4 = (value & ~stuckCR4) | (cr4 & stuckCR4)
        }
    }
    func readPhysical32(_ address: UInt64) -> UInt32 { memory[address] ?? 0 }
    func writePhysical32(_ address: UInt64, _ value: UInt32) { memory[address] = value }
    func readPhysical64(_ address: UInt64) -> UInt64 {
        UInt64(readPhysical32(address)) | UInt64(readPhysical32(address + 4)) << 32
    }
    func writePhysical64(_ address: UInt64, _ value: UInt64) {
        writePhysical32(address, UInt32(truncatingIfNeeded: value))
        writePhysical32(address + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
    func zeroPhysical(_ address: UInt64, count: Int) {
        for offset in stride(from: 0, to: UInt64(count), by: 4) { memory[address + offset] = nil }
    }
    func vmxon(_ region: UInt64) throws(VMFailure) {
        vmxonCalls.append(region)
        if let failure = vmxonOutcome { throw failure }
    }
    func vmxoff() throws(VMFailure) { vmxoffCalls += 1 }
    func vmclear(_ vmcs: UInt64) throws(VMFailure) {}
    func vmptrld(_ vmcs: UInt64) throws(VMFailure) {}
    func vmptrst() throws(VMFailure) -> UInt64 { 0 }
    func vmread(_ field: VMCSField) throws(VMFailure) -> UInt64 { throw .invalid }
    func vmwrite(_ field: VMCSField, _ value: UInt64) throws(VMFailure) { throw .invalid }
}

extension FakeProcessor {
    /// A Skylake-like VMX CPU as Bochs' corei7_skylake_x reports it (see Tests/fixtures).
    static func vmxCapable() -> FakeProcessor {
        FakeProcessor(
            msrs: [
                MSR.ia32FeatureControl.rawValue: 0x5,
                MSR.ia32VMXBasic.rawValue: 0x00DA_0400_0000_0001,
                MSR.ia32VMXCR0Fixed0.rawValue: 0x8000_0021,
                MSR.ia32VMXCR0Fixed1.rawValue: 0xFFFF_FFFF,
                MSR.ia32VMXCR4Fixed0.rawValue: 0x2000,
                MSR.ia32VMXCR4Fixed1.rawValue: 0x0037_27FF
            ],
            leaves: [
                1 << 32: CPUIDResult(eax: 0x50654, ebx: 0, ecx: 1 << 5, edx: 0),
                0x8000_0000 << 32: CPUIDResult(eax: 0x8000_0008, ebx: 0, ecx: 0, edx: 0),
                0x8000_0008 << 32: CPUIDResult(eax: 0x3028, ebx: 0, ecx: 0, edx: 0)
            ])
    }
}

/// The console keeps its lines; the guest-side operations are outside what this processor
/// scripts, so any use of them fails the test.
extension FakeProcessor: Host {
    func writeConsoleLine(_ bytes: UnsafeRawBufferPointer) {
        consoleLines.append(String(decoding: bytes, as: UTF8.self))
    }
    func enterGuest(_ registers: inout GuestRegisters, launch: Bool) throws(VMFailure) {
        Issue.record("FakeProcessor runs no guest")
        throw .invalid
    }
    func vmreadField(_ field: VMCSField) -> UInt64 {
        Issue.record("FakeProcessor has no current VMCS (VMREAD \(hex(field.rawValue)))")
        return 0
    }
    func vmwriteField(_ field: VMCSField, _ value: UInt64) {
        Issue.record("FakeProcessor has no current VMCS (VMWRITE \(hex(field.rawValue)))")
    }
    func invept(type: INVEPTType, eptp: UInt64) throws(VMFailure) { Issue.record("FakeProcessor: INVEPT") }
    func invvpid(type: INVVPIDType, vpid: UInt16, address: UInt64) throws(VMFailure) {
        Issue.record("FakeProcessor: INVVPID")
    }
    func readTimestampCounter() -> UInt64 { 0 }
    func readPort(_ port: UInt16, size: Int) -> UInt32 {
        Issue.record("FakeProcessor has no ports (IN \(hex(port)))")
        return 0
    }
    func writePort(_ port: UInt16, size: Int, _ value: UInt32) {
        Issue.record("FakeProcessor has no ports (OUT \(hex(port)))")
    }
    func armHostTimer(cycles: UInt64) -> UInt8? { nil }
    func disarmHostTimer() {}
    func hostTimerExpired() -> Bool { false }
    func endHostInterrupt(vector: UInt8) {}
    var localAPICID: UInt32 { 0 }
    func sendInterProcessorInterrupt(_ ipi: InterProcessorInterrupt, to apicID: UInt32) -> Bool {
        Issue.record("FakeProcessor has no other processors (IPI \(ipi) to \(apicID))")
        return false
    }
    func compareExchangePhysical32(_ address: UInt64, expected: UInt32, desired: UInt32) -> UInt32 {
        let found = readPhysical32(address)
        if found == expected { writePhysical32(address, desired) }
        return found
    }
    func loadPhysical32Atomic(_ address: UInt64) -> UInt32 { readPhysical32(address) }
    func storePhysical32Atomic(_ address: UInt64, _ value: UInt32) { writePhysical32(address, value) }
}
