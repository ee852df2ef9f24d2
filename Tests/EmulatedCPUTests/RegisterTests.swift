// CPUID, MSRs and control registers as the hypervisor's enable code meets them: the profile's
// leaves and capability MSRs, #GP for MSRs the CPU lacks, the lock of IA32_FEATURE_CONTROL
// (SDM 24.7), and the restrictions on CR0/CR4 in VMX operation (SDM 24.8).
import Testing
import VMX
import EmulatedCPU

@Suite("CPUID, MSRs and control registers")
struct RegisterTests {
    @Test(
        "CPUID returns the profile's leaves; above the highest leaf, the highest basic leaf",
        arguments: Profiles.vmxNames)
    func cpuid(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let cpu = makeCPU(profile)
        for leaf in profile.cpuidLeaves {
            #expect(cpu.cpuid(leaf: leaf.leaf, subleaf: leaf.subleaf) == leaf.result)
        }
        let maxBasic = try #require(profile.cpuid(leaf: 0, subleaf: 0)).eax
        let highest = cpu.cpuid(leaf: maxBasic, subleaf: 0)
        #expect(cpu.cpuid(leaf: maxBasic + 1, subleaf: 0) == highest)
        #expect(cpu.cpuid(leaf: 0x8000_00FF, subleaf: 0) == highest)
        #expect(cpu.cpuid(leaf: 1, subleaf: 0).ecx & (1 << 5) != 0, "VMX")
    }

    @Test(
        "RDMSR serves every capability MSR that exists and raises #GP(0) for the others", arguments: Profiles.vmxNames)
    func capabilityMSRs(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let cpu = makeCPU(profile)
        for address in VMXCapabilities.msrAddresses {
            let value = cpu.readMSR(address)
            if let captured = profile.msrs[address.rawValue] {
                #expect(value == captured && cpu.lastFault == nil, "\(VMXCapabilities.name(ofMSR: address)!)")
            } else {
                #expect(cpu.lastFault == .generalProtection0, "\(VMXCapabilities.name(ofMSR: address)!) does not exist")
            }
            cpu.writeMSR(address, value)
            #expect(cpu.lastFault == .generalProtection0, "capability MSRs are read-only")
        }
        // VMXCapabilities.read asks only for MSRs that exist: no fault on any profile.
        cpu.faultPolicy = .report
        cpu.faultReporter = recordIssue
        #expect(VMXCapabilities.read(from: cpu) == profile.vmxCapabilities)
    }

    @Test("an unexpected fault fails the running test under the default policy")
    func recordIssuePolicy() throws {
        let cpu = EmulatedCPU(profile: try Profiles.synthetic(), memorySize: 4096, faultReporter: recordIssue)
        #expect(cpu.faultPolicy == .report)
        withKnownIssue("RDMSR of an MSR that does not exist") {
            _ = cpu.readMSR(0x1234_5678)
        }
        #expect(cpu.lastFault == .generalProtection0)
        #expect(cpu.lastFaultInstruction == .rdmsr)
    }

    @Test("the report policy hands the fault's one-line description to the injected reporter")
    func reporterReceivesTheDescription() throws {
        final class Reports { var lines: [String] = [] }
        let reports = Reports()
        let cpu = EmulatedCPU(
            profile: try Profiles.synthetic(), memorySize: 4096,
            faultReporter: { reports.lines.append($0) })
        _ = cpu.readMSR(0x1234_5678)
        #expect(reports.lines == ["RDMSR raised #GP(0) on the emulated CPU (\(cpu.profile.name))"])
    }

    @Test("IA32_FEATURE_CONTROL: writable until locked, then WRMSR raises #GP(0)")
    func featureControlLock() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        cpu.ia32FeatureControl = 0
        cpu.writeMSR(MSR.ia32FeatureControl, 1 << 3)  // reserved bit
        #expect(cpu.lastFault == .generalProtection0)
        cpu.writeMSR(MSR.ia32FeatureControl, 0x4)
        #expect(cpu.lastFault == nil)
        cpu.writeMSR(MSR.ia32FeatureControl, 0x5)
        #expect(cpu.readMSR(MSR.ia32FeatureControl) == 0x5)
        cpu.writeMSR(MSR.ia32FeatureControl, 0x5)
        #expect(cpu.lastFault == .generalProtection0, "locked: even the same value faults")
        #expect(cpu.readMSR(MSR.ia32FeatureControl) == 0x5)
        cpu.cpl = 3
        _ = cpu.readMSR(MSR.ia32FeatureControl)
        #expect(cpu.lastFault == .generalProtection0, "RDMSR at CPL 3")
    }

    @Test("IA32_EFER: reserved bits fault, LMA is read-only, LME cannot change with paging on")
    func efer() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        let lma = ExtendedFeatureEnable.lma.rawValue, lme = ExtendedFeatureEnable.lme.rawValue,
            nxe = ExtendedFeatureEnable.nxe.rawValue
        cpu.writeMSR(MSR.ia32EFER, lme | lma | 1 << 12)
        #expect(cpu.lastFault == .generalProtection0)
        cpu.writeMSR(MSR.ia32EFER, lme | nxe)
        #expect(cpu.lastFault == nil)
        #expect(cpu.readMSR(MSR.ia32EFER) == lme | lma | nxe, "LMA keeps its value")
        cpu.writeMSR(MSR.ia32EFER, nxe | lma)
        #expect(cpu.lastFault == .generalProtection0, "clearing LME with CR0.PG = 1")
    }

    @Test("the MSRs the hypervisor uses exist and keep what is written")
    func otherMSRs() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        for msr in [
            MSR.ia32SysenterCS, MSR.ia32SysenterESP, MSR.ia32SysenterEIP, MSR.ia32DebugCtl, MSR.ia32PAT,
            MSR.ia32PerfGlobalCtrl, MSR.ia32FSBase, MSR.ia32GSBase, MSR.ia32KernelGSBase
        ] {
            cpu.writeMSR(msr, 0x1234)
            #expect(cpu.readMSR(msr) == 0x1234 && cpu.lastFault == nil, "\(hex(msr.rawValue))")
        }
        #expect(makeCPU(try Profiles.synthetic()).readMSR(MSR.ia32PAT) == 0x0007_0406_0007_0406)
    }

    @Test("in VMX operation MOV to CR0/CR4 keeps the fixed bits and CR4.VMXE (SDM 24.8)", arguments: Profiles.vmxNames)
    func controlRegistersInVMXOperation(profileName: String) throws {
        let cpu = makeCPU(try Profiles.named(profileName))
        let vmxe = ControlRegister4.vmxe.rawValue
        // Outside VMX operation CR4.VMXE can be set and cleared, and CR0.NE cleared.
        cpu.writeControlRegister(.cr4, cpu.cr4 | vmxe)
        #expect(cpu.lastFault == nil)
        cpu.writeControlRegister(.cr4, cpu.cr4 & ~vmxe)
        #expect(cpu.lastFault == nil)
        try enterVMXRoot(cpu)
        cpu.writeControlRegister(.cr4, cpu.cr4 & ~vmxe)
        #expect(cpu.lastFault == .generalProtection0, "clearing CR4.VMXE in VMX operation")
        cpu.writeControlRegister(.cr0, cpu.cr0 & ~ControlRegister0.ne.rawValue)
        #expect(cpu.lastFault == .generalProtection0, "clearing CR0.NE in VMX operation")
        cpu.writeControlRegister(.cr0, cpu.cr0 | ControlRegister0.mp.rawValue)
        #expect(cpu.lastFault == nil, "a free bit")
        #expect(cpu.readControlRegister(.cr0) & ControlRegister0.mp.rawValue != 0)
        // Bits the CPU does not implement fault anywhere.
        cpu.writeControlRegister(.cr4, cpu.cr4 | 1 << 31)
        #expect(cpu.lastFault == .generalProtection0)
        cpu.writeControlRegister(.cr0, cpu.cr0 | 1 << 32)
        #expect(cpu.lastFault == .generalProtection0)
    }

    @Test("physical memory beyond the installed bytes reads as all ones and ignores writes")
    func memoryBounds() throws {
        let cpu = makeCPU(try Profiles.synthetic(), memorySize: 0x2000)
        cpu.writePhysical64(0x1FFC, 0x1122_3344_5566_7788)
        #expect(cpu.readPhysical32(0x1FFC) == 0x5566_7788)
        #expect(cpu.readPhysical64(0x1FFC) == 0xFFFF_FFFF_5566_7788)
        #expect(cpu.readPhysical32(UInt64.max - 1) == 0xFFFF_FFFF, "the address space does not wrap to 0")
        #expect(cpu.readPhysical64(UInt64.max - 5) == .max)
        cpu.writePhysical64(UInt64.max - 3, 0x1234)
        #expect(cpu.readPhysical32(0) == 0)
        cpu.zeroPhysical(0x1000, count: 0x10_0000)
        #expect(cpu.readPhysical32(0x1FFC) == 0)
    }
}
