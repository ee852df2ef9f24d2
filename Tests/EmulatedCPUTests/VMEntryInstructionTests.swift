// VMLAUNCH and VMRESUME up to the VM-entry checks (SDM 31.3, 27.1): VMfailInvalid without a
// current VMCS, error 26 with blocking by MOV SS, 4 for VMLAUNCH of a launched VMCS, 5 for
// VMRESUME of a clear one; the launch state, the VM exit back to the host, and VMX instructions
// executed in VMX non-root operation.
import Testing
import VMX
import EmulatedCPU

@Suite("VMLAUNCH and VMRESUME")
struct VMEntryInstructionTests {
    @Test("VMLAUNCH and VMRESUME without a current VMCS fail with VMfailInvalid")
    func noCurrentVMCS() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        try enterVMXRoot(cpu)
        #expect(cpu.vmlaunch() == .vmFail(.invalid))
        expectVMfailInvalid(cpu)
        #expect(cpu.vmresume() == .vmFail(.invalid))
        expectVMfailInvalid(cpu)
    }

    @Test(
        "the launch state goes clear -> launched -> clear, with errors 4 and 5 on the way", arguments: Profiles.vmxNames
    )
    func launchState(profileName: String) throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.named(profileName))
        skipEntryChecks(cpu)
        #expect(cpu.vmresume() == .vmFail(.valid(.vmresumeWithNonLaunchedVMCS)))
        expectVMfailValid(cpu, .vmresumeWithNonLaunchedVMCS)

        dirtyFlags(cpu)
        #expect(cpu.vmlaunch() == .entered)
        #expect(cpu.vmxOperation == .nonRoot)
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .launched)

        cpu.performVMExit(reason: .hlt, qualification: 0)
        #expect(cpu.vmxOperation == .root)
        #expect(try cpu.vmread(VMCSField.exitReason) == 12)
        #expect(cpu.rflags == Flags.alwaysOne.rawValue, "a VM exit clears RFLAGS but bit 1")

        #expect(cpu.vmlaunch() == .vmFail(.valid(.vmlaunchWithNonClearVMCS)))
        expectVMfailValid(cpu, .vmlaunchWithNonClearVMCS)
        #expect(cpu.vmresume() == .entered)
        cpu.performVMExit(reason: .cpuid, qualification: 0)

        try cpu.vmclear(Address.vmcs)
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
        try cpu.vmptrld(Address.vmcs)
        #expect(cpu.vmresume() == .vmFail(.valid(.vmresumeWithNonLaunchedVMCS)))
        #expect(cpu.vmlaunch() == .entered)
    }

    @Test("blocking by MOV SS fails VM entry with error 26, before the launch-state checks")
    func movSSBlocking() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        skipEntryChecks(cpu)
        cpu.blockingByMovSS = true
        #expect(cpu.vmlaunch() == .vmFail(.valid(.entryWithEventsBlockedByMovSS)))
        expectVMfailValid(cpu, .entryWithEventsBlockedByMovSS)
        // VMRESUME of a clear VMCS would be error 5; MOV-SS blocking is checked first.
        #expect(cpu.vmresume() == .vmFail(.valid(.entryWithEventsBlockedByMovSS)))
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
        cpu.blockingByMovSS = false
        #expect(cpu.vmlaunch() == .entered)
    }

    @Test("VMX instructions executed in VMX non-root operation cause VM exits with their own reasons")
    func nonRootOperation() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        skipEntryChecks(cpu)
        let cases: [(ExitReason, (EmulatedCPU) -> Void)] = [
            (.vmptrst, { _ = try? $0.vmptrst() }),
            (.vmread, { _ = try? $0.vmread(VMCSField.guestRIP) }),
            (.vmwrite, { try? $0.vmwrite(VMCSField.guestRIP, 0) }),
            (.vmclear, { try? $0.vmclear(Address.vmcs) }),
            (.vmptrld, { try? $0.vmptrld(Address.vmcs) }),
            (.vmxoff, { try? $0.vmxoff() }),
            (.vmxon, { try? $0.vmxon(Address.vmxonRegion) }),
            (.invept, { try? $0.invept(type: 2, eptPointer: 0) }),
            (.invvpid, { try? $0.invvpid(type: 2, vpidQuadword: 0, linearAddress: 0) })
        ]
        #expect(cpu.vmlaunch() == .entered)
        for (reason, execute) in cases {
            execute(cpu)
            #expect(cpu.vmxOperation == .root, "\(reason.description)")
            #expect(cpu.currentVMCSFieldValue(.exitReason) == UInt64(reason.rawValue), "\(reason.description)")
            #expect(cpu.vmresume() == .entered)
        }
        #expect(cpu.vmlaunch() == .causedVMExit(.vmlaunch))
        #expect(cpu.vmresume() == .entered)
        #expect(cpu.vmresume() == .causedVMExit(.vmresume))
    }

    @Test("a VM exit loads the host's CR0, CR3, CR4 and IA32_EFER, keeping the VMX-fixed bits")
    func hostStateOnVMExit() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        skipEntryChecks(cpu)
        let vmxe = ControlRegister4.vmxe.rawValue
        try cpu.vmwrite(VMCSField.hostCR0, 0x8000_0031)
        try cpu.vmwrite(VMCSField.hostCR3, 0x7000)
        try cpu.vmwrite(VMCSField.hostCR4, 0x20)  // VMXE clear: a fixed bit, not loaded
        try cpu.vmwrite(VMCSField.primaryVMExitControls, UInt64(VMExitControls.hostAddressSpaceSize.rawValue))
        #expect(cpu.vmlaunch() == .entered)
        cpu.cr3 = 0x9000
        cpu.cpl = 3
        cpu.performVMExit(reason: .externalInterrupt, qualification: 0)
        #expect(cpu.cr0 == 0x8000_0031)
        #expect(cpu.cr3 == 0x7000)
        #expect(cpu.cr4 & vmxe != 0)
        #expect(cpu.cr4 & ControlRegister4.pae.rawValue != 0)
        #expect(
            cpu.efer & (ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue)
                == ExtendedFeatureEnable.lma.rawValue | ExtendedFeatureEnable.lme.rawValue)
        #expect(cpu.cpl == 0)
        #expect(cpu.in64BitMode)
    }

    @Test("VMLAUNCH raises #UD and #GP(0) like the other VMX instructions and reports it")
    func faults() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        cpu.cpl = 3
        #expect(cpu.vmlaunch() == .faulted(.generalProtection0))
        cpu.cpl = 0
        cpu.codeSegmentLongMode = false
        #expect(cpu.vmresume() == .faulted(.invalidOpcode))
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
    }
}

@Suite("VM-entry failures after the basic checks")
struct VMEntryFailureTests {
    @Test("a failure of the controls or host state is VMfailValid(7) or (8); the launch state stays clear")
    func vmFailValid() throws {
        for error in [VMInstructionError.entryWithInvalidControlFields, .entryWithInvalidHostStateFields] {
            let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
            cpu.entryCheckOverride = { _ in .vmFailValid(error) }
            #expect(cpu.vmlaunch() == .vmFail(.valid(error)))
            expectVMfailValid(cpu, error)
            #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
            #expect(cpu.vmxOperation == .root)
        }
    }

    @Test(
        """
        a guest-state failure is a VM exit with reason 33 and bit 31, its qualification, and host state loaded \
        (SDM 27.8)
        """
    )
    func guestStateFailure() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        try cpu.vmwrite(VMCSField.hostCR3, 0x8000)
        try cpu.vmwrite(VMCSField.primaryVMExitControls, UInt64(VMExitControls.hostAddressSpaceSize.rawValue))
        var launches: [Bool] = []
        cpu.entryCheckOverride = { launch in
            launches.append(launch)
            return .entryFailure(.entryFailureGuestState, qualification: 4)
        }
        dirtyFlags(cpu)
        #expect(cpu.vmlaunch() == .entryFailure(exitReason: ExitReason(rawValue: 0x8000_0021), qualification: 4))
        #expect(launches == [true])
        #expect(cpu.vmxOperation == .root)
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
        #expect(cpu.rflags == Flags.alwaysOne.rawValue)
        #expect(cpu.cr3 == 0x8000)
        #expect(try cpu.vmread(VMCSField.exitReason) == 0x8000_0021)
        #expect(try cpu.vmread(VMCSField.exitQualification) == 4)
        // An MSR-loading failure reports the failing entry's number (1-based).
        cpu.entryCheckOverride = { _ in .entryFailure(.entryFailureMSRLoading, qualification: 3) }
        #expect(
            cpu.vmlaunch()
                == .entryFailure(exitReason: ExitReason.entryFailureMSRLoading.asEntryFailure, qualification: 3))
        skipEntryChecks(cpu)
        #expect(cpu.vmlaunch() == .entered)
    }
}
