// VMCLEAR, VMPTRLD and VMPTRST (SDM 31.3), and the opening checks every VMX instruction other
// than VMXON shares: #UD outside VMX operation, with CR0.PE = 0, RFLAGS.VM = 1 or in
// compatibility mode, #GP(0) at CPL > 0.
import Testing
import VMX
import EmulatedCPU

@Suite("VMCLEAR, VMPTRLD, VMPTRST and the shared #UD/#GP checks")
struct VMCSPointerTests {
    /// Every VMX instruction but VMXON, executed once with harmless operands.
    static var instructions: [(String, (EmulatedCPU) -> Void)] {
        [
            ("VMXOFF", { try? $0.vmxoff() }),
            ("VMCLEAR", { try? $0.vmclear(Address.vmcs) }),
            ("VMPTRLD", { try? $0.vmptrld(Address.vmcs) }),
            ("VMPTRST", { _ = try? $0.vmptrst() }),
            ("VMREAD", { _ = try? $0.vmread(VMCSField.guestRIP) }),
            ("VMWRITE", { try? $0.vmwrite(VMCSField.guestRIP, 0) }),
            ("VMLAUNCH", { _ = $0.vmlaunch() }),
            ("VMRESUME", { _ = $0.vmresume() }),
            ("INVEPT", { try? $0.invept(type: 2, eptPointer: 0) }),
            ("INVVPID", { try? $0.invvpid(type: 2, vpidQuadword: 0, linearAddress: 0) })
        ]
    }

    @Test("outside VMX operation every VMX instruction but VMXON is #UD")
    func undefinedOutsideVMX() throws {
        for (name, execute) in Self.instructions {
            let cpu = makeCPU(try Profiles.synthetic())
            cpu.cr4 |= ControlRegister4.vmxe.rawValue
            execute(cpu)
            #expect(cpu.lastFault == .invalidOpcode, "\(name)")
        }
    }

    @Test("in VMX root operation the instructions are #UD with CR0.PE = 0, RFLAGS.VM = 1 or in compatibility mode")
    func undefinedModes() throws {
        let changes: [(String, (EmulatedCPU) -> Void)] = [
            ("CR0.PE = 0", { $0.cr0 &= ~ControlRegister0.pe.rawValue }),
            ("RFLAGS.VM = 1", { $0.rflags |= Flags.vm.rawValue }),
            ("compatibility mode", { $0.codeSegmentLongMode = false })
        ]
        for (condition, change) in changes {
            for (name, execute) in Self.instructions {
                let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
                change(cpu)
                execute(cpu)
                #expect(cpu.lastFault == .invalidOpcode, "\(name) with \(condition)")
            }
        }
    }

    @Test("in VMX root operation every VMX instruction raises #GP(0) at CPL 1, 2 and 3")
    func generalProtectionAboveCPL0() throws {
        for cpl in UInt8(1)...3 {
            for (name, execute) in Self.instructions {
                let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
                cpu.cpl = cpl
                dirtyFlags(cpu)
                execute(cpu)
                #expect(cpu.lastFault == .generalProtection0, "\(name) at CPL \(cpl)")
                #expect(
                    cpu.rflags & Flags.arithmetic.rawValue == Flags.arithmetic.rawValue,
                    "\(name): a fault leaves RFLAGS alone")
                #expect(cpu.vmxOperation == .root)
            }
        }
    }

    @Test("VMPTRLD makes a VMCS current, VMPTRST returns it, VMCLEAR of it leaves none", arguments: Profiles.vmxNames)
    func currentVMCS(profileName: String) throws {
        let cpu = makeCPU(try Profiles.named(profileName))
        try enterVMXRoot(cpu)
        let revision = cpu.capabilities!.basic.revisionIdentifier
        cpu.writePhysical32(Address.vmcs, revision)
        dirtyFlags(cpu)
        try cpu.vmclear(Address.vmcs)
        expectVMsucceed(cpu)
        #expect(cpu.launchState(ofVMCS: Address.vmcs) == .clear)
        try cpu.vmptrld(Address.vmcs)
        #expect(try cpu.vmptrst() == Address.vmcs)
        // A second VMCS replaces the first as current; the first stays active.
        cpu.writePhysical32(Address.otherVMCS, revision)
        try cpu.vmptrld(Address.otherVMCS)
        #expect(try cpu.vmptrst() == Address.otherVMCS)
        // VMCLEAR of a VMCS that is not current leaves the current one alone.
        try cpu.vmclear(Address.vmcs)
        #expect(try cpu.vmptrst() == Address.otherVMCS)
        dirtyFlags(cpu)
        try cpu.vmclear(Address.otherVMCS)
        expectVMsucceed(cpu)
        #expect(try cpu.vmptrst() == EmulatedCPU.invalidVMCSPointer)
        // Without a current VMCS, VMREAD fails with VMfailInvalid.
        #expect(throws: VMFailure.invalid) { _ = try cpu.vmread(VMCSField.guestRIP) }
    }

    @Test("VMCLEAR fails with error 2 for an invalid address and 3 for the VMXON pointer", arguments: Profiles.vmxNames)
    func vmclearErrors(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let width = makeCPU(profile).physicalAddressWidth
        let invalid: [UInt64] = [
            Address.otherVMCS | 0x8, Address.otherVMCS | 0x800, UInt64(1) << UInt64(width), UInt64(1) << 63
        ]
        for address in invalid {
            // Without a current VMCS the error has nowhere to go: VMfailInvalid.
            let bare = makeCPU(profile)
            try enterVMXRoot(bare)
            #expect(throws: VMFailure.invalid, "\(hex(address))") { try bare.vmclear(address) }
            expectVMfailInvalid(bare)
            // With one, VMfailValid(2).
            let cpu = try cpuWithCurrentVMCS(profile)
            #expect(throws: VMFailure.valid(.vmclearInvalidAddress), "\(hex(address))") { try cpu.vmclear(address) }
            expectVMfailValid(cpu, .vmclearInvalidAddress)
        }
        let cpu = try cpuWithCurrentVMCS(profile)
        #expect(throws: VMFailure.valid(.vmclearWithVMXONPointer)) { try cpu.vmclear(Address.vmxonRegion) }
        expectVMfailValid(cpu, .vmclearWithVMXONPointer)
        #expect(try cpu.vmptrst() == Address.vmcs, "a failed VMCLEAR changes nothing")
    }

    @Test(
        "VMPTRLD fails with error 9 for an invalid address, 10 for the VMXON pointer, 11 for a wrong revision",
        arguments: Profiles.vmxNames)
    func vmptrldErrors(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let cpu = try cpuWithCurrentVMCS(profile)
        for address in [Address.otherVMCS | 1, Address.otherVMCS | 0x100, UInt64(1) << UInt64(cpu.physicalAddressWidth)]
        {
            #expect(throws: VMFailure.valid(.vmptrldInvalidAddress), "\(hex(address))") { try cpu.vmptrld(address) }
            expectVMfailValid(cpu, .vmptrldInvalidAddress)
        }
        #expect(throws: VMFailure.valid(.vmptrldWithVMXONPointer)) { try cpu.vmptrld(Address.vmxonRegion) }
        expectVMfailValid(cpu, .vmptrldWithVMXONPointer)
        let revision = cpu.capabilities!.basic.revisionIdentifier
        cpu.writePhysical32(Address.otherVMCS, revision ^ 0x40)
        #expect(throws: VMFailure.valid(.vmptrldIncorrectRevision)) { try cpu.vmptrld(Address.otherVMCS) }
        expectVMfailValid(cpu, .vmptrldIncorrectRevision)
        // Beyond installed memory the revision reads as FFFFFFFFH.
        #expect(throws: VMFailure.valid(.vmptrldIncorrectRevision)) { try cpu.vmptrld(1 << 30) }
        #expect(try cpu.vmptrst() == Address.vmcs, "failed VMPTRLDs leave the current VMCS")
        // The revision is read from memory at each VMPTRLD: the VMCS region really lives there.
        try cpu.vmclear(Address.vmcs)
        cpu.writePhysical32(Address.vmcs, revision ^ 1)
        #expect(throws: VMFailure.invalid) { try cpu.vmptrld(Address.vmcs) }
    }

    @Test("a shadow VMCS (revision bit 31) loads only when VMCS shadowing is supported, and cannot be entered")
    func shadowVMCS() throws {
        let withShadowing = try Profiles.synthetic()
        let withoutShadowing = try Profiles.synthetic(
            msr: MSR.ia32VMXProcbasedCtls2.rawValue, clearing: UInt64(1) << (32 + 14))
        #expect(makeCPU(withShadowing).supportsVMCSShadowing)
        #expect(!makeCPU(withoutShadowing).supportsVMCSShadowing)

        let refused = try cpuWithCurrentVMCS(withoutShadowing)
        refused.writePhysical32(Address.otherVMCS, refused.capabilities!.basic.revisionIdentifier | 0x8000_0000)
        #expect(throws: VMFailure.valid(.vmptrldIncorrectRevision)) { try refused.vmptrld(Address.otherVMCS) }

        let cpu = try cpuWithCurrentVMCS(withShadowing)
        cpu.writePhysical32(Address.otherVMCS, cpu.capabilities!.basic.revisionIdentifier | 0x8000_0000)
        try cpu.vmclear(Address.otherVMCS)
        try cpu.vmptrld(Address.otherVMCS)
        #expect(cpu.currentVMCSIsShadow)
        // VMREAD/VMWRITE work on a current shadow VMCS; VM entry fails with VMfailInvalid (SDM 25.10).
        try cpu.vmwrite(VMCSField.guestRIP, 0x1234)
        #expect(try cpu.vmread(VMCSField.guestRIP) == 0x1234)
        #expect(cpu.vmlaunch() == .vmFail(.invalid))
        expectVMfailInvalid(cpu)
        // VMXON never accepts a shadow region.
        let fresh = makeCPU(withShadowing)
        prepareVMXON(fresh)
        fresh.writePhysical32(Address.vmxonRegion, fresh.capabilities!.basic.revisionIdentifier | 0x8000_0000)
        #expect(throws: VMFailure.invalid) { try fresh.vmxon(Address.vmxonRegion) }
    }
}
