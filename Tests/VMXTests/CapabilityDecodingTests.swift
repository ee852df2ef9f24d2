// Decoding IA32_VMX_BASIC, IA32_VMX_MISC, IA32_VMX_VMCS_ENUM and IA32_VMX_EPT_VPID_CAP
// (SDM A.1, A.6, A.9, A.10) from exact values.
import Testing
@testable import VMX

@Suite("Capability MSR field decoding")
struct CapabilityDecodingTests {
    @Test("IA32_VMX_BASIC with every flag set")
    func basicAllFlags() {
        let basic = VMXBasic(rawValue: 0x01DA_1000_0000_0004)
        #expect(basic.revisionIdentifier == 4)
        #expect(basic.vmcsRegionSize == 4096)
        #expect(!basic.physicalAddressesLimitedTo32Bits)
        #expect(basic.supportsDualMonitorTreatment)
        #expect(basic.memoryType == .writeBack)
        #expect(basic.memoryType.name == "WB")
        #expect(basic.reportsINSOUTSInformation)
        #expect(basic.hasTrueControls)
        #expect(basic.allowsErrorCodeLessInjection)
    }

    @Test("IA32_VMX_BASIC field boundaries")
    func basicBoundaries() {
        // Bit 31 of the MSR is not part of the revision identifier (always 0 architecturally).
        let basic = VMXBasic(rawValue: 0x0001_0400_FFFF_FFFF)
        #expect(basic.revisionIdentifier == 0x7FFF_FFFF)
        #expect(basic.vmcsRegionSize == 0x400)
        #expect(basic.physicalAddressesLimitedTo32Bits)  // bit 48
        #expect(!basic.supportsDualMonitorTreatment)
        #expect(basic.memoryType == .uncacheable)
        #expect(basic.memoryType.name == "UC")
        #expect(!basic.hasTrueControls)
        #expect(!basic.allowsErrorCodeLessInjection)
        // Bits 47:45 are not part of the size (44:32 is 13 bits).
        #expect(VMXBasic(rawValue: 0x0000_F000_0000_0000).vmcsRegionSize == 0x1000)
        #expect(VMXBasic(rawValue: 0x0000_E000_0000_0000).vmcsRegionSize == 0)
        #expect(VMXBasic(rawValue: UInt64(3) << 50).memoryType.name == "reserved")
        #expect(VMXBasic(rawValue: UInt64(0xF) << 50).memoryType.rawValue == 15)
    }

    @Test("IA32_VMX_MISC")
    func misc() {
        let misc = VMXMisc(rawValue: 0x0000_0000_6004_01E5)
        #expect(misc.preemptionTimerRate == 5)
        #expect(misc.storesEFERLMA)
        #expect(misc.supportsHLTActivityState)
        #expect(misc.supportsShutdownActivityState)
        #expect(misc.supportsWaitForSIPIActivityState)
        #expect(!misc.supportsIntelPTInVMX)
        #expect(!misc.allowsRDMSRofSMBASEInSMM)
        #expect(misc.cr3TargetCount == 4)
        #expect(misc.maxMSRListEntries == 512)
        #expect(!misc.allowsSMMMonitorControlBit2)
        #expect(misc.allowsVMWRITEToAnyField)
        #expect(misc.allowsZeroLengthInstructionInjection)
        #expect(misc.msegRevisionIdentifier == 0)

        // The other flags, the largest field values, and the MSEG revision.
        let other = VMXMisc(rawValue: 0x1234_5678_1F01_C01F)
        #expect(other.preemptionTimerRate == 31)
        #expect(!other.storesEFERLMA)
        #expect(!other.supportsHLTActivityState)
        #expect(other.supportsIntelPTInVMX)  // bit 14
        #expect(other.allowsRDMSRofSMBASEInSMM)  // bit 15
        #expect(other.cr3TargetCount == 0x101)  // bits 24:16 = 0x101 (the SDM caps it at 256)
        #expect(other.maxMSRListEntries == 512 * 8)  // bits 27:25 = 7
        #expect(other.allowsSMMMonitorControlBit2)  // bit 28
        #expect(!other.allowsVMWRITEToAnyField)
        #expect(other.msegRevisionIdentifier == 0x1234_5678)
        #expect(VMXMisc(rawValue: UInt64(1) << 24).cr3TargetCount == 256)
        #expect(VMXMisc(rawValue: UInt64(2) << 25).maxMSRListEntries == 1536)
    }

    @Test("IA32_VMX_VMCS_ENUM: highest index in bits 9:1")
    func vmcsEnum() {
        #expect(VMCSEnum(rawValue: 0x2C).highestIndex == 22)
        #expect(VMCSEnum(rawValue: 0x34).highestIndex == 26)
        #expect(VMCSEnum(rawValue: 0x3FF).highestIndex == 511)
        #expect(VMCSEnum(rawValue: 0x401).highestIndex == 0)
    }

    @Test("IA32_VMX_EPT_VPID_CAP")
    func eptVPID() {
        let caps = EPTVPIDCapabilities(rawValue: 0x0000_0F01_0633_4141)
        #expect(
            caps == [
                .executeOnlyTranslations, .pageWalkLength4, .uncacheableMemoryType, .writeBackMemoryType,
                .pages2MB, .pages1GB, .invept, .accessedAndDirtyFlags, .singleContextINVEPT, .allContextINVEPT,
                .invvpid, .individualAddressINVVPID, .singleContextINVVPID, .allContextINVVPID,
                .singleContextRetainingGlobalsINVVPID
            ])
        #expect(!caps.contains(.pageWalkLength5))
        #expect(!caps.contains(.advancedEPTViolationInformation))
        #expect(caps.hlatPrefixSize == 0)
        let hlat = EPTVPIDCapabilities(rawValue: UInt64(0x2A) << 48 | 1 << 23 | 1 << 22 | 1 << 7)
        #expect(hlat.hlatPrefixSize == 42)
        #expect(hlat.contains([.supervisorShadowStackControl, .advancedEPTViolationInformation, .pageWalkLength5]))
        #expect(EPTVPIDCapabilities.name(ofBit: 43) == "Single-context-retaining-globals INVVPID")
        #expect(EPTVPIDCapabilities.namedBits.count == 18)
    }

    @Test("Decoded views of a whole profile")
    func profileViews() {
        let caps = HandProfiles.full
        #expect(caps.basic.revisionIdentifier == 4)
        #expect(caps.misc.preemptionTimerRate == 5)
        #expect(caps.vmcsEnum.highestIndex == 26)
        #expect(caps.cr0Fixed == FixedBits(fixed0: 0x8000_0021, fixed1: 0xFFFF_FFFF))
        #expect(caps.cr4Fixed == FixedBits(fixed0: 0x2000, fixed1: 0x0037_67FF))
        #expect(caps.eptVPIDCapabilities?.contains(.accessedAndDirtyFlags) == true)
        #expect(HandProfiles.penryn.eptVPIDCapabilities == nil)
    }
}
