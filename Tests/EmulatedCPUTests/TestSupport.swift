// Shared set-up for the emulated CPU's tests: profiles (every captured fixture, the synthetic
// one, and variants of it with one capability changed), CPUs that expect faults, and the steps
// into VMX root operation and to a current VMCS.
import Testing
import VMX
import EmulatedCPU

enum Profiles {
    /// Every fixture present whose CPU has VMX: tests run against each.
    static let vmxNames: [String] = CapabilityProfile.availableNames().filter {
        (try? CapabilityProfile.load(named: $0))?.hasVMX ?? false
    }

    static func named(_ name: String) throws -> CapabilityProfile {
        try CapabilityProfile.load(named: name)
    }

    static func synthetic() throws -> CapabilityProfile { try named("synthetic-full") }

    /// The synthetic profile with capability MSR `address` replaced by `value`.
    static func synthetic(msr address: UInt32, _ value: UInt64) throws -> CapabilityProfile {
        var profile = try synthetic()
        profile.msrs[address] = value
        profile.name = "synthetic-full with MSR \(hex(address)) = \(hex(value))"
        return profile
    }

    /// The synthetic profile with bits cleared in a capability MSR.
    static func synthetic(msr address: UInt32, clearing bits: UInt64) throws -> CapabilityProfile {
        let profile = try synthetic()
        return try synthetic(msr: address, profile.msrs[address]! & ~bits)
    }
}

/// Physical addresses the tests use.
enum Address {
    static let vmxonRegion: UInt64 = 0x1000
    static let vmcs: UInt64 = 0x2000
    static let otherVMCS: UInt64 = 0x3000
}

/// A CPU for tests of the emulated CPU itself: faults are expected and only recorded.
/// The fault reporter of tests that expect no fault: a fault fails the running test.
func recordIssue(_ message: String) {
    Issue.record(Comment(rawValue: message))
}

func makeCPU(_ profile: CapabilityProfile, memorySize: Int = 1 << 20) -> EmulatedCPU {
    let cpu = EmulatedCPU(profile: profile, memorySize: memorySize)
    cpu.faultPolicy = .expect
    return cpu
}

/// For tests of the instructions' own semantics (launch state, error order, VM exits): the
/// chapter-27 checks pass whatever the VMCS holds. The checks themselves are tested on real
/// VMCS contents in Tests/VMXTests/EntryCheck*Tests.swift and by the scenario corpus.
func skipEntryChecks(_ cpu: EmulatedCPU) {
    cpu.entryCheckOverride = { _ in .passed }
}

/// What firmware and the enable code do before VMXON (SDM 24.7, 24.8): CR0 and CR4 within their
/// fixed bits with CR4.VMXE = 1, IA32_FEATURE_CONTROL locked with VMXON enabled outside SMX, and
/// the revision identifier at the start of the VMXON region.
func prepareVMXON(_ cpu: EmulatedCPU, region: UInt64 = Address.vmxonRegion) {
    let caps = cpu.capabilities!
    cpu.cr0 = caps.cr0Fixed.apply(to: cpu.cr0)
    cpu.cr4 = caps.cr4Fixed.apply(to: cpu.cr4 | ControlRegister4.vmxe.rawValue)
    cpu.ia32FeatureControl = FeatureControl.lock.rawValue | FeatureControl.enableVMXOutsideSMX.rawValue
    cpu.writePhysical32(region, caps.basic.revisionIdentifier)
}

/// Prepares and executes VMXON; the CPU is then in VMX root operation.
func enterVMXRoot(_ cpu: EmulatedCPU) throws {
    prepareVMXON(cpu)
    try cpu.vmxon(Address.vmxonRegion)
    #expect(cpu.vmxOperation == .root)
}

/// Writes the revision identifier to a VMCS region, VMCLEARs it and makes it current.
func loadVMCS(_ cpu: EmulatedCPU, at address: UInt64 = Address.vmcs) throws {
    cpu.writePhysical32(address, cpu.capabilities!.basic.revisionIdentifier)
    try cpu.vmclear(address)
    try cpu.vmptrld(address)
}

/// A CPU of `profile` in VMX root operation with a clear, current VMCS at `Address.vmcs`.
func cpuWithCurrentVMCS(_ profile: CapabilityProfile) throws -> EmulatedCPU {
    let cpu = makeCPU(profile)
    try enterVMXRoot(cpu)
    try loadVMCS(cpu)
    return cpu
}

typealias Flags = VMX.RFLAGS

/// The arithmetic flags as VMsucceed leaves them: all clear. Other RFLAGS bits are untouched.
func expectVMsucceed(_ cpu: EmulatedCPU, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(cpu.rflags & Flags.arithmetic.rawValue == 0, comment, sourceLocation: sourceLocation)
    #expect(cpu.lastFault == nil, comment, sourceLocation: sourceLocation)
}

/// VMfailInvalid: CF alone among the arithmetic flags.
func expectVMfailInvalid(
    _ cpu: EmulatedCPU, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(cpu.rflags & Flags.arithmetic.rawValue == Flags.cf.rawValue, comment, sourceLocation: sourceLocation)
}

/// VMfailValid(error): ZF alone, and the VM-instruction error field of the current VMCS holds
/// the number (read without VMREAD, which would overwrite RFLAGS).
func expectVMfailValid(
    _ cpu: EmulatedCPU, _ error: VMInstructionError, _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(cpu.rflags & Flags.arithmetic.rawValue == Flags.zf.rawValue, comment, sourceLocation: sourceLocation)
    #expect(
        cpu.currentVMCSFieldValue(.vmInstructionError) == UInt64(error.rawValue), comment,
        sourceLocation: sourceLocation)
}

/// Sets every arithmetic flag, so a test sees VMsucceed clear them.
func dirtyFlags(_ cpu: EmulatedCPU) { cpu.rflags |= Flags.arithmetic.rawValue }
