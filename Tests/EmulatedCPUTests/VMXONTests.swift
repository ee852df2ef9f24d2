// VMXON as SDM 31.3 orders its checks, in the style of kvm-unit-tests x86/vmx.c test_vmxon:
// #UD, then #GP(0) for every condition outside VMX operation (each CR0/CR4 bit that breaks the
// fixed bits, feature control, A20M, CPL), then VMfailInvalid for the pointer and the revision
// identifier, then VMfail(15) in VMX root operation.
import Testing
import VMX
import EmulatedCPU

@Suite("VMXON")
struct VMXONTests {
    @Test("VMXON enters VMX root operation with VMsucceed", arguments: Profiles.vmxNames)
    func succeeds(profileName: String) throws {
        let cpu = makeCPU(try Profiles.named(profileName))
        prepareVMXON(cpu)
        dirtyFlags(cpu)
        try cpu.vmxon(Address.vmxonRegion)
        expectVMsucceed(cpu)
        #expect(cpu.vmxOperation == .root)
        #expect(cpu.vmxonPointer == Address.vmxonRegion)
        #expect(try cpu.vmptrst() == EmulatedCPU.invalidVMCSPointer)
    }

    /// One VMXON attempt after `change`, expected to fault with `fault` and leave the CPU outside
    /// VMX operation with RFLAGS untouched.
    private func expectFault(
        _ fault: Fault, _ cpu: EmulatedCPU, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        dirtyFlags(cpu)
        try cpu.vmxon(Address.vmxonRegion)
        #expect(cpu.lastFault == fault, "\(what)", sourceLocation: sourceLocation)
        #expect(cpu.lastFaultInstruction == .vmxon, sourceLocation: sourceLocation)
        #expect(cpu.vmxOperation == .outside, "\(what)", sourceLocation: sourceLocation)
        #expect(
            cpu.rflags & Flags.arithmetic.rawValue == Flags.arithmetic.rawValue, "a fault leaves RFLAGS alone: \(what)",
            sourceLocation: sourceLocation)
    }

    @Test("every CR0 bit that breaks IA32_VMX_CR0_FIXED0/1 makes VMXON fault", arguments: Profiles.vmxNames)
    func cr0FixedBits(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        var tested = 0
        for bit in 0..<64 {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            let fixed = cpu.capabilities!.cr0Fixed
            let mask = UInt64(1) << UInt64(bit)
            if fixed.fixed0 & mask != 0 {
                cpu.cr0 &= ~mask
                // CR0.PE = 0 is a #UD condition, checked before the fixed bits (SDM 31.3).
                try expectFault(bit == 0 ? .invalidOpcode : .generalProtection0, cpu, "CR0 bit \(bit) cleared")
                tested += 1
            } else if fixed.fixed1 & mask == 0 {
                cpu.cr0 |= mask
                try expectFault(.generalProtection0, cpu, "CR0 bit \(bit) set")
                tested += 1
            }
        }
        // PE, NE and PG must be 1 and bits 63:32 must be 0 on every VMX processor (SDM A.7).
        #expect(tested >= 35)
    }

    @Test("every CR4 bit that breaks IA32_VMX_CR4_FIXED0/1 makes VMXON fault", arguments: Profiles.vmxNames)
    func cr4FixedBits(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        var tested = 0
        for bit in 0..<64 {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            let fixed = cpu.capabilities!.cr4Fixed
            let mask = UInt64(1) << UInt64(bit)
            if fixed.fixed0 & mask != 0 {
                cpu.cr4 &= ~mask
                // CR4.VMXE = 0 is a #UD condition (SDM 31.3).
                try expectFault(bit == 13 ? .invalidOpcode : .generalProtection0, cpu, "CR4 bit \(bit) cleared")
                tested += 1
            } else if fixed.fixed1 & mask == 0 {
                cpu.cr4 |= mask
                try expectFault(.generalProtection0, cpu, "CR4 bit \(bit) set")
                tested += 1
            }
        }
        #expect(tested >= 39)
    }

    @Test("VMXON raises #UD for CR0.PE = 0, CR4.VMXE = 0, RFLAGS.VM = 1, compatibility mode, no VMX")
    func invalidOpcode() throws {
        let profile = try Profiles.synthetic()
        let cases: [(String, (EmulatedCPU) -> Void)] = [
            ("CR0.PE = 0", { $0.cr0 &= ~ControlRegister0.pe.rawValue }),
            ("CR4.VMXE = 0", { $0.cr4 &= ~ControlRegister4.vmxe.rawValue }),
            ("RFLAGS.VM = 1", { $0.rflags |= Flags.vm.rawValue }),
            ("compatibility mode", { $0.codeSegmentLongMode = false })
        ]
        for (what, change) in cases {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            change(cpu)
            try expectFault(.invalidOpcode, cpu, what)
        }
        // A CPU without VMX: CPUID.1:ECX.VMX = 0 and no capability MSRs.
        var noVMX = profile
        noVMX.cpuidLeaves = profile.cpuidLeaves.map { leaf in
            var leaf = leaf
            if leaf.leaf == 1 { leaf.result.ecx &= ~(1 << 5) }
            return leaf
        }
        noVMX.msrs = [MSR.ia32FeatureControl.rawValue: 0x5]
        let cpu = makeCPU(noVMX)
        #expect(!cpu.supportsVMX)
        cpu.cr4 |= ControlRegister4.vmxe.rawValue
        try expectFault(.invalidOpcode, cpu, "no VMX")
    }

    @Test("VMXON raises #GP(0) at CPL > 0, under A20M, and for each IA32_FEATURE_CONTROL that forbids it")
    func generalProtection() throws {
        let profile = try Profiles.synthetic()
        let lock = FeatureControl.lock.rawValue
        let inside = FeatureControl.enableVMXInsideSMX.rawValue
        let outside = FeatureControl.enableVMXOutsideSMX.rawValue
        var cases: [(String, (EmulatedCPU) -> Void)] = [
            ("A20M", { $0.a20Masked = true }),
            ("unlocked, VMXON enabled outside SMX", { $0.ia32FeatureControl = outside }),
            ("locked, VMXON disabled", { $0.ia32FeatureControl = lock }),
            ("locked, VMXON enabled only inside SMX, outside SMX", { $0.ia32FeatureControl = lock | inside }),
            (
                "locked, VMXON enabled only outside SMX, in SMX",
                {
                    $0.ia32FeatureControl = lock | outside; $0.inSMXOperation = true
                }
            ),
            (
                "unlocked, in SMX",
                {
                    $0.ia32FeatureControl = inside | outside; $0.inSMXOperation = true
                }
            )
        ]
        for cpl in UInt8(1)...3 { cases.append(("CPL \(cpl)", { $0.cpl = cpl })) }
        for (what, change) in cases {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            change(cpu)
            try expectFault(.generalProtection0, cpu, what)
        }
    }

    @Test("VMXON in SMX operation needs IA32_FEATURE_CONTROL bit 1, outside SMX bit 2")
    func smxEnableBits() throws {
        let profile = try Profiles.synthetic()
        let lock = FeatureControl.lock.rawValue
        for (inSMX, bits) in [
            (true, FeatureControl.enableVMXInsideSMX.rawValue), (false, FeatureControl.enableVMXOutsideSMX.rawValue)
        ] {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            cpu.inSMXOperation = inSMX
            cpu.ia32FeatureControl = lock | bits
            try cpu.vmxon(Address.vmxonRegion)
            #expect(cpu.vmxOperation == .root, "in SMX: \(inSMX)")
        }
    }

    @Test(
        "VMXON fails with VMfailInvalid for a pointer not 4-KByte aligned or beyond the physical-address width",
        arguments: Profiles.vmxNames)
    func invalidPointer(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let width = makeCPU(profile).physicalAddressWidth
        var pointers: [UInt64] = (0..<12).map { Address.vmxonRegion | UInt64(1) << UInt64($0) }
        pointers += (width..<64).map { Address.vmxonRegion | UInt64(1) << UInt64($0) }
        for pointer in pointers {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            dirtyFlags(cpu)
            #expect(throws: VMFailure.invalid, "pointer \(hex(pointer))") { try cpu.vmxon(pointer) }
            expectVMfailInvalid(cpu)
            #expect(cpu.vmxOperation == .outside)
        }
    }

    @Test("with IA32_VMX_BASIC[48] = 1 a VMXON pointer above 4 GiB fails")
    func thirtyTwoBitAddressLimit() throws {
        let synthetic = try Profiles.synthetic()
        let limited = try Profiles.synthetic(
            msr: MSR.ia32VMXBasic.rawValue, synthetic.msrs[MSR.ia32VMXBasic.rawValue]! | 1 << 48)
        let high: UInt64 = 1 << 32
        let cpu = makeCPU(limited, memorySize: Int(high) + 0x2000)
        prepareVMXON(cpu, region: high)
        #expect(throws: VMFailure.invalid) { try cpu.vmxon(high) }
        // The same address is fine without the limit.
        let unlimited = makeCPU(synthetic, memorySize: Int(high) + 0x2000)
        prepareVMXON(unlimited, region: high)
        try unlimited.vmxon(high)
        #expect(unlimited.vmxOperation == .root)
    }

    @Test(
        "VMXON fails with VMfailInvalid when the region's revision identifier is wrong or has bit 31 set",
        arguments: Profiles.vmxNames)
    func revisionIdentifier(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let revision = makeCPU(profile).capabilities!.basic.revisionIdentifier
        for word in [revision ^ 1, revision | 0x8000_0000, 0, 0xFFFF_FFFF] where word != revision {
            let cpu = makeCPU(profile)
            prepareVMXON(cpu)
            cpu.writePhysical32(Address.vmxonRegion, word)
            #expect(throws: VMFailure.invalid, "revision word \(hex(word))") { try cpu.vmxon(Address.vmxonRegion) }
            expectVMfailInvalid(cpu)
            #expect(cpu.vmxOperation == .outside)
        }
        // A region beyond installed memory reads as all ones: bit 31 set.
        let cpu = makeCPU(profile, memorySize: 1 << 20)
        prepareVMXON(cpu)
        #expect(throws: VMFailure.invalid) { try cpu.vmxon(1 << 24) }
    }

    @Test("VMXON in VMX root operation: VMfailInvalid without a current VMCS, VMfailValid(15) with one")
    func inRootOperation() throws {
        let profile = try Profiles.synthetic()
        let cpu = makeCPU(profile)
        try enterVMXRoot(cpu)
        #expect(throws: VMFailure.invalid) { try cpu.vmxon(Address.vmxonRegion) }
        expectVMfailInvalid(cpu)
        try loadVMCS(cpu)
        #expect(throws: VMFailure.valid(.vmxonInVMXRoot)) { try cpu.vmxon(Address.vmxonRegion) }
        expectVMfailValid(cpu, .vmxonInVMXRoot)
        #expect(try cpu.vmread(VMCSField.vmInstructionError) == 15)
        cpu.cpl = 3
        try cpu.vmxon(Address.vmxonRegion)
        #expect(cpu.lastFault == .generalProtection0)
    }

    @Test("VMXOFF leaves VMX operation; it is #UD outside and #GP(0) at CPL > 0")
    func vmxoff() throws {
        let cpu = makeCPU(try Profiles.synthetic())
        try cpu.vmxoff()
        #expect(cpu.lastFault == .invalidOpcode)
        try enterVMXRoot(cpu)
        try loadVMCS(cpu)
        cpu.cpl = 3
        try cpu.vmxoff()
        #expect(cpu.lastFault == .generalProtection0)
        cpu.cpl = 0
        dirtyFlags(cpu)
        try cpu.vmxoff()
        expectVMsucceed(cpu)
        #expect(cpu.vmxOperation == .outside)
        #expect(cpu.vmxonPointer == nil)
        #expect(cpu.currentVMCSPointer == EmulatedCPU.invalidVMCSPointer)
        // Out of VMX operation again: VMX instructions other than VMXON are #UD.
        try cpu.vmclear(Address.vmcs)
        #expect(cpu.lastFault == .invalidOpcode)
        // And VMXON works again.
        try cpu.vmxon(Address.vmxonRegion)
        #expect(cpu.vmxOperation == .root)
    }
}
