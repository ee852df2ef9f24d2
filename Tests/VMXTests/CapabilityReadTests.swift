// Which capability MSRs `VMXCapabilities.read` reads: only those the SDM says exist
// (Appendix A). A fake processor serves a profile and records an issue for any other read,
// as a real processor would raise #GP.
import Testing
@testable import VMX

/// Two capability profiles derived by hand (not captured from a CPU; captured Bochs fixtures
/// replace them once they exist). Each value is built from the SDM's bit layout:
enum HandProfiles {
    /// Shaped like Bochs `core2_penryn_t9600` as FACTS.md describes it: no TRUE MSRs, no
    /// preemption timer (pin-based allowed-1 = 0x3F), no monitor trap flag (primary allowed-1
    /// 0xF7F9FFFE), secondary controls without EPT, VPID or VM functions (allowed-1 0x41:
    /// virtualize APIC accesses, WBINVD exiting), so neither IA32_VMX_EPT_VPID_CAP nor
    /// IA32_VMX_VMFUNC exists; no tertiary or secondary exit controls.
    static let penryn = VMXCapabilities(
        // revision 1; bits 44:32 = 0x1000 (4096 bytes); 53:50 = 6 (WB); 54 INS/OUTS; 55 = 0.
        ia32VMXBasic: 0x0058_1000_0000_0001,
        ia32VMXPinbasedCtls: 0x0000_003F_0000_0016,
        ia32VMXProcbasedCtls: 0xF7F9_FFFE_0401_E172,
        // allowed-1: the default1 bits, 9 (host address-space size), 15 (acknowledge interrupt).
        ia32VMXExitCtls: 0x0003_EFFF_0003_6DFF,
        // allowed-1: the default1 bits, 9, 10, 11.
        ia32VMXEntryCtls: 0x0000_1FFF_0000_11FF,
        // HLT activity state (6); 4 CR3-target values (24:16).
        ia32VMXMisc: 0x0000_0000_0004_0040,
        ia32VMXCR0Fixed0: 0x8000_0021, ia32VMXCR0Fixed1: 0xFFFF_FFFF,
        // CR4 may hold bits 10:0 and VMXE (13).
        ia32VMXCR4Fixed0: 0x2000, ia32VMXCR4Fixed1: 0x27FF,
        // highest index 22 in bits 9:1.
        ia32VMXVMCSEnum: 0x2C,
        ia32VMXProcbasedCtls2: 0x0000_0041_0000_0000)

    /// Every optional MSR present: TRUE controls, tertiary and secondary exit controls, EPT
    /// and VPID, VM functions; plus unnamed bits that may be 1 (secondary bit 29, tertiary bit
    /// 40) so the report shows them.
    static let full = VMXCapabilities(
        // revision 4; 4096 bytes; 49 dual monitor; WB; 54; 55 TRUE; 56 error-code-less.
        ia32VMXBasic: 0x01DA_1000_0000_0004,
        ia32VMXPinbasedCtls: 0x0000_007F_0000_0016,
        // allowed-1 0xFFFBFFFE: all but bits 0 and 18; 17 (tertiary) and 27 (MTF) may be 1.
        ia32VMXProcbasedCtls: 0xFFFB_FFFE_0401_E172,
        // allowed-1: default1 bits, 9, 12, 15, 18-22, 31 (activate secondary controls).
        ia32VMXExitCtls: 0x807F_FFFF_0003_6DFF,
        // allowed-1: default1 bits, 9-11, 13-15.
        ia32VMXEntryCtls: 0x0000_FFFF_0000_11FF,
        // rate 5; 5 (EFER.LMA); 6-8 activity states; 4 CR3 targets; 29 VMWRITE; 30 zero-length.
        ia32VMXMisc: 0x0000_0000_6004_01E5,
        ia32VMXCR0Fixed0: 0x8000_0021, ia32VMXCR0Fixed1: 0xFFFF_FFFF,
        // CR4 may hold 10:0, 13, 14, 16-18, 20, 21.
        ia32VMXCR4Fixed0: 0x2000, ia32VMXCR4Fixed1: 0x0037_67FF,
        ia32VMXVMCSEnum: 0x34,
        // allowed-1: bits 19:0 (EPT 1, VPID 5, unrestricted guest 7, VM functions 13) and 29.
        ia32VMXProcbasedCtls2: 0x200F_FFFF_0000_0000,
        // 0, 6, 8, 14, 16, 17, 20, 21, 25, 26; INVVPID 32, 40-43 (Bochs's value plus A/D).
        ia32VMXEPTVPIDCap: 0x0000_0F01_0633_4141,
        // TRUE MSRs: CR3-load/-store exiting (15, 16) and save/load debug controls (2) may be 0.
        ia32VMXTruePinbasedCtls: 0x0000_007F_0000_0016,
        ia32VMXTrueProcbasedCtls: 0xFFFB_FFFE_0400_6172,
        ia32VMXTrueExitCtls: 0x807F_FFFF_0003_6DFB,
        ia32VMXTrueEntryCtls: 0x0000_FFFF_0000_11FB,
        ia32VMXVMFunc: 0x1,
        // LOADIWKEY exiting (0), IPI virtualization (4), unnamed bit 40.
        ia32VMXProcbasedCtls3: 0x0000_0100_0000_0011,
        // save FRED (0), load FRED (1).
        ia32VMXExitCtls2: 0x3)
}

/// Serves capability MSRs from a table; any other MSR read is a test failure (#GP on a CPU).
final class MSRTableProcessor: Processor {
    let msrs: [MSR: UInt64]
    private(set) var reads: [MSR] = []

    init(_ caps: VMXCapabilities) {
        var table: [MSR: UInt64] = [:]
        for address in VMXCapabilities.msrAddresses {
            if let value = caps.value(ofMSR: address) { table[address] = value }
        }
        msrs = table
    }

    func readMSR(_ msr: MSR) -> UInt64 {
        reads.append(msr)
        guard let value = msrs[msr] else {
            Issue.record("RDMSR of MSR \(hex(msr.rawValue)), which does not exist on this CPU (#GP)")
            return 0
        }
        return value
    }

    func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        unexpected("CPUID"); return .init(eax: 0, ebx: 0, ecx: 0, edx: 0)
    }
    func writeMSR(_ msr: MSR, _ value: UInt64) { unexpected("WRMSR") }
    func readControlRegister(_ register: ControlRegister) -> UInt64 { unexpected("MOV from CR"); return 0 }
    func writeControlRegister(_ register: ControlRegister, _ value: UInt64) { unexpected("MOV to CR") }
    func readPhysical32(_ address: UInt64) -> UInt32 { unexpected("memory read"); return 0 }
    func writePhysical32(_ address: UInt64, _ value: UInt32) { unexpected("memory write") }
    func readPhysical64(_ address: UInt64) -> UInt64 { unexpected("memory read"); return 0 }
    func writePhysical64(_ address: UInt64, _ value: UInt64) { unexpected("memory write") }
    func zeroPhysical(_ address: UInt64, count: Int) { unexpected("memory write") }
    func vmxon(_ region: UInt64) throws(VMFailure) { unexpected("VMXON") }
    func vmxoff() throws(VMFailure) { unexpected("VMXOFF") }
    func vmclear(_ vmcs: UInt64) throws(VMFailure) { unexpected("VMCLEAR") }
    func vmptrld(_ vmcs: UInt64) throws(VMFailure) { unexpected("VMPTRLD") }
    func vmptrst() throws(VMFailure) -> UInt64 { unexpected("VMPTRST"); return 0 }
    func vmread(_ field: VMCSField) throws(VMFailure) -> UInt64 { unexpected("VMREAD"); return 0 }
    func vmwrite(_ field: VMCSField, _ value: UInt64) throws(VMFailure) { unexpected("VMWRITE") }

    private func unexpected(_ what: String) { Issue.record("reading capabilities must not use \(what)") }
}

@Suite("Reading the capability MSRs only where they exist (SDM Appendix A)")
struct CapabilityReadTests {
    @Test("Penryn-like: no TRUE MSRs, no EPT_VPID_CAP, no VMFUNC, no CTLS3, no EXIT_CTLS2")
    func penrynReadsOnlyExistingMSRs() {
        let cpu = MSRTableProcessor(HandProfiles.penryn)
        let caps = VMXCapabilities.read(from: cpu)
        #expect(caps == HandProfiles.penryn)
        #expect(cpu.reads == [0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488, 0x489, 0x48A, 0x48B])
        #expect(!caps.hasTrueControls)
        #expect(caps.hasProcbasedCtls2)
        #expect(!caps.hasEPTVPIDCap)
        #expect(!caps.hasVMFunc)
        #expect(!caps.hasProcbasedCtls3)
        #expect(!caps.hasExitCtls2)
        #expect(caps.isConsistent)
    }

    @Test("All optional MSRs present: each read once, in dependency order")
    func fullReadsEveryMSR() {
        let cpu = MSRTableProcessor(HandProfiles.full)
        let caps = VMXCapabilities.read(from: cpu)
        #expect(caps == HandProfiles.full)
        #expect(
            cpu.reads == [
                0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488, 0x489, 0x48A,
                0x48D, 0x48E, 0x48F, 0x490, 0x48B, 0x492, 0x493, 0x48C, 0x491
            ])
        #expect(caps.isConsistent)
    }

    @Test("Without \"activate secondary controls\" neither CTLS2 nor the MSRs it gates are read")
    func noSecondaryControls() {
        var profile = HandProfiles.full
        profile.ia32VMXProcbasedCtls &= ~(UInt64(1) << 63)
        profile.ia32VMXTrueProcbasedCtls! &= ~(UInt64(1) << 63)
        profile.ia32VMXProcbasedCtls2 = nil
        profile.ia32VMXEPTVPIDCap = nil
        profile.ia32VMXVMFunc = nil
        let cpu = MSRTableProcessor(profile)
        let caps = VMXCapabilities.read(from: cpu)
        #expect(caps == profile)
        #expect(!cpu.reads.contains(0x48B) && !cpu.reads.contains(0x48C) && !cpu.reads.contains(0x491))
        #expect(caps.secondaryProcessorBasedControls == .none)
        #expect(caps.eptVPIDCapabilities == nil)
    }

    @Test("EPT_VPID_CAP exists with VPID alone, VMFUNC only with \"enable VM functions\"")
    func vpidWithoutEPT() {
        var profile = HandProfiles.penryn
        profile.ia32VMXProcbasedCtls2 = UInt64(0x21) << 32  // virtualize APIC accesses, enable VPID
        profile.ia32VMXEPTVPIDCap = 0x0000_0F01_0000_0000
        let cpu = MSRTableProcessor(profile)
        let caps = VMXCapabilities.read(from: cpu)
        #expect(caps == profile)
        #expect(cpu.reads.last == 0x48C)
        #expect(
            caps.eptVPIDCapabilities == [
                .invvpid, .individualAddressINVVPID, .singleContextINVVPID,
                .allContextINVVPID, .singleContextRetainingGlobalsINVVPID
            ])
    }

    @Test("The existence rules read the allowed-1 half of the non-TRUE MSRs")
    func existenceBits() {
        var caps = HandProfiles.penryn
        caps.ia32VMXProcbasedCtls = 0x0002_0000_0000_0000  // only bit 49: activate tertiary controls
        #expect(caps.hasProcbasedCtls3)
        #expect(!caps.hasProcbasedCtls2)
        caps.ia32VMXProcbasedCtls = 0x0000_0000_8002_0000  // the bits in allowed-0 do not count
        #expect(!caps.hasProcbasedCtls3)
        #expect(!caps.hasProcbasedCtls2)
        caps.ia32VMXExitCtls = 0x8000_0000_0000_0000
        #expect(caps.hasExitCtls2)
        #expect(!caps.isConsistent)  // EXIT_CTLS2 should then be present
    }

    @Test("value(ofMSR:) serves exactly the present MSRs, and names them")
    func servingValues() {
        let caps = HandProfiles.penryn
        #expect(caps.value(ofMSR: MSR.ia32VMXBasic) == 0x0058_1000_0000_0001)
        #expect(caps.value(ofMSR: MSR.ia32VMXTruePinbasedCtls) == nil)
        #expect(caps.value(ofMSR: MSR.ia32VMXEPTVPIDCap) == nil)
        #expect(caps.value(ofMSR: MSR.ia32FeatureControl) == nil)
        #expect(VMXCapabilities.msrAddresses.count == 20)
        #expect(VMXCapabilities.msrAddresses == (UInt32(0x480)...UInt32(0x493)).map { MSR(rawValue: $0) })
        #expect(VMXCapabilities.name(ofMSR: MSR(rawValue: 0x48E)) == "IA32_VMX_TRUE_PROCBASED_CTLS")
        #expect(VMXCapabilities.name(ofMSR: MSR(rawValue: 0x493)) == "IA32_VMX_EXIT_CTLS2")
        #expect(VMXCapabilities.msrAddresses.allSatisfy { VMXCapabilities.name(ofMSR: $0) != nil })
    }

    @Test("Effective settings come from the TRUE MSRs when they exist")
    func effectiveSettings() {
        let full = HandProfiles.full
        #expect(full.primaryProcessorBasedControls.mustBeOne.rawValue == 0x0400_6172)
        #expect(full.exitControls.mustBeOne.rawValue == 0x0003_6DFB)
        #expect(full.entryControls.mustBeOne.rawValue == 0x0000_11FB)
        #expect(full.tertiaryProcessorBasedControls.mayBeOne.rawValue == 0x0000_0100_0000_0011)
        #expect(full.tertiaryProcessorBasedControls.mustBeOne.isEmpty)
        #expect(full.secondaryExitControls.mayBeOne == [.saveFRED, .loadFRED])
        #expect(full.vmFunctionControls.mayBeOne == .eptpSwitching)
        let penryn = HandProfiles.penryn
        #expect(penryn.primaryProcessorBasedControls.mustBeOne.rawValue == 0x0401_E172)
        #expect(penryn.tertiaryProcessorBasedControls == .none)
        #expect(penryn.vmFunctionControls == .none)
        #expect(penryn.secondaryProcessorBasedControls.mayBeOne == [.virtualizeAPICAccesses, .wbinvdExiting])
        // A TRUE value is ignored unless IA32_VMX_BASIC[55] says the TRUE MSRs exist.
        var inconsistent = full
        inconsistent.ia32VMXBasic &= ~(UInt64(1) << 55)
        #expect(inconsistent.primaryProcessorBasedControls.mustBeOne.rawValue == 0x0401_E172)
        #expect(!inconsistent.isConsistent)
    }
}
