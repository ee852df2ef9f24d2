// The exit-reason field (SDM 25.9.1, Table 25-18) and the basic exit reasons of SDM Appendix C.
import Testing
import VMX

@Suite("Exit reasons")
struct ExitReasonTests {
    static let named: [(ExitReason, UInt32)] = [
        (.exceptionOrNMI, 0), (.externalInterrupt, 1), (.tripleFault, 2), (.initSignal, 3), (.startupIPI, 4),
        (.ioSMI, 5), (.otherSMI, 6), (.interruptWindow, 7), (.nmiWindow, 8), (.taskSwitch, 9), (.cpuid, 10),
        (.getsec, 11), (.hlt, 12), (.invd, 13), (.invlpg, 14), (.rdpmc, 15), (.rdtsc, 16), (.rsm, 17),
        (.vmcall, 18), (.vmclear, 19), (.vmlaunch, 20), (.vmptrld, 21), (.vmptrst, 22), (.vmread, 23),
        (.vmresume, 24), (.vmwrite, 25), (.vmxoff, 26), (.vmxon, 27), (.controlRegisterAccess, 28),
        (.movDR, 29), (.ioInstruction, 30), (.rdmsr, 31), (.wrmsr, 32), (.entryFailureGuestState, 33),
        (.entryFailureMSRLoading, 34), (.mwait, 36), (.monitorTrapFlag, 37), (.monitor, 39), (.pause, 40),
        (.entryFailureMachineCheck, 41), (.tprBelowThreshold, 43), (.apicAccess, 44), (.virtualizedEOI, 45),
        (.gdtrOrIDTRAccess, 46), (.ldtrOrTRAccess, 47), (.eptViolation, 48), (.eptMisconfiguration, 49),
        (.invept, 50), (.rdtscp, 51), (.preemptionTimerExpired, 52), (.invvpid, 53), (.wbinvd, 54),
        (.xsetbv, 55), (.apicWrite, 56), (.rdrand, 57), (.invpcid, 58), (.vmfunc, 59), (.encls, 60),
        (.rdseed, 61), (.pageModificationLogFull, 62), (.xsaves, 63), (.xrstors, 64), (.pconfig, 65),
        (.sppRelatedEvent, 66), (.umwait, 67), (.tpause, 68), (.loadiwkey, 69), (.enclv, 70),
        (.enqcmdPASIDTranslationFailure, 72), (.enqcmdsPASIDTranslationFailure, 73), (.busLock, 74),
        (.instructionTimeout, 75), (.seamcall, 76), (.tdcall, 77)
    ]

    @Test("every basic exit reason 0-77 of Appendix C has its number and a name; 35, 38, 42 and 71 are unused")
    func basicReasons() {
        for (reason, number) in Self.named {
            #expect(reason.rawValue == number)
            #expect(reason.name != nil, "\(number)")
        }
        let numbers = Set(Self.named.map(\.1))
        for number in UInt32(0)...80 {
            let unused = [35, 38, 42, 71].contains(number) || number > 77
            #expect(numbers.contains(number) == !unused, "\(number)")
            #expect((ExitReason(rawValue: number).name == nil) == unused, "\(number)")
        }
        #expect(Set(Self.named.compactMap(\.0.name)).count == Self.named.count, "names are unique")
        #expect(ExitReason.cpuid.name == "CPUID")
        #expect(ExitReason.entryFailureGuestState.name == "VM-entry failure due to invalid guest state")
        #expect(ExitReason.preemptionTimerExpired.name == "VMX-preemption timer expired")
        #expect(ExitReason.highestKnownBasicReason == 77)
    }

    @Test("the basic reason is bits 15:0 and bit 31 marks a VM-entry failure")
    func fields() {
        let failure = ExitReason(rawValue: 0x8000_0021)
        #expect(failure.isEntryFailure)
        #expect(failure.basicReason == 33)
        #expect(failure.basic == .entryFailureGuestState)
        #expect(ExitReason.entryFailureMSRLoading.asEntryFailure.rawValue == 0x8000_0022)
        #expect(!ExitReason.hlt.isEntryFailure)
        let flagged = ExitReason(rawValue: 1 << 26 | 1 << 27 | 1 << 28 | 1 << 29 | 12)
        #expect(
            flagged.busLockDetected && flagged.isFromEnclaveMode && flagged.hasPendingMTFVMExit
                && flagged.isFromVMXRootOperation)
        #expect(flagged.basic == .hlt && !flagged.isEntryFailure)
        #expect(!ExitReason.hlt.busLockDetected && !ExitReason.hlt.isFromEnclaveMode)
    }

    @Test("descriptions name the reason and its flags")
    func descriptions() {
        #expect(ExitReason.hlt.description == "12 (HLT)")
        #expect(
            ExitReason(rawValue: 0x8000_0021).description
                == "33 (VM-entry failure due to invalid guest state), VM-entry failure")
        #expect(ExitReason(rawValue: 35).description == "35 (reason not defined by the SDM)")
        #expect(ExitReason(rawValue: 1 << 20 | 10).description == "10 (CPUID), undefined bits 0x100000")
        #expect(ExitReason(rawValue: 1 << 26 | 48).description == "48 (EPT violation), bus lock detected")
    }
}
