// Each VM-instruction error number the emulated CPU can produce without the VM-entry checks,
// reached once more in one place (kvm-unit-tests style), with the number read back by VMREAD
// from the current VMCS (SDM 31.4).
import Testing
import VMX
import EmulatedCPU

@Suite("VM-instruction error numbers")
struct ErrorNumberTests {
    /// The scenario that produces each error on a CPU with a current, clear VMCS at `Address.vmcs`.
    static var scenarios: [(VMInstructionError, (EmulatedCPU) throws -> Void)] {
        [
            (.vmclearInvalidAddress, { try $0.vmclear(0x2001) }),
            (.vmclearWithVMXONPointer, { try $0.vmclear(Address.vmxonRegion) }),
            (
                .vmlaunchWithNonClearVMCS,
                { cpu in
                    _ = cpu.vmlaunch()
                    cpu.performVMExit(reason: .hlt, qualification: 0)
                    if case .vmFail(let failure) = cpu.vmlaunch() { throw failure }
                }
            ),
            (.vmresumeWithNonLaunchedVMCS, { cpu in if case .vmFail(let failure) = cpu.vmresume() { throw failure } }),
            (.vmptrldInvalidAddress, { try $0.vmptrld(UInt64(1) << 63) }),
            (.vmptrldWithVMXONPointer, { try $0.vmptrld(Address.vmxonRegion) }),
            (.vmptrldIncorrectRevision, { try $0.vmptrld(Address.otherVMCS) }),  // region holds 0
            (.unsupportedVMCSComponent, { _ = try $0.vmread(VMCSField(rawValue: 0x0000_8000)) }),
            (.vmwriteToReadOnlyComponent, { try $0.vmwrite(VMCSField.exitReason, 0) }),
            (.vmxonInVMXRoot, { try $0.vmxon(Address.vmxonRegion) }),
            (
                .entryWithEventsBlockedByMovSS,
                { cpu in
                    cpu.blockingByMovSS = true
                    if case .vmFail(let failure) = cpu.vmlaunch() { throw failure }
                }
            ),
            (.invalidOperandToINVEPTOrINVVPID, { try $0.invvpid(type: 1, vpidQuadword: 0, linearAddress: 0) })
        ]
    }

    @Test("errors 2, 3, 4, 5, 9, 10, 11, 12, 13, 15, 26 and 28 are reached and read back")
    func everyReachableError() throws {
        // MISC[29] cleared so that error 13 is reachable.
        let profile = try Profiles.synthetic(msr: MSR.ia32VMXMisc.rawValue, clearing: 1 << 29)
        #expect(Self.scenarios.map(\.0.rawValue) == [2, 3, 4, 5, 9, 10, 11, 12, 13, 15, 26, 28])
        for (error, scenario) in Self.scenarios {
            let cpu = try cpuWithCurrentVMCS(profile)
            skipEntryChecks(cpu)
            #expect(throws: VMFailure.valid(error), "\(error.description)") { try scenario(cpu) }
            expectVMfailValid(cpu, error, "\(error.description)")
            #expect(try cpu.vmread(VMCSField.vmInstructionError) == UInt64(error.rawValue))
            #expect(cpu.lastFault == nil)
        }
    }
}
