// INVEPT and INVVPID (SDM 31.3): error 28 for a type IA32_VMX_EPT_VPID_CAP does not report and
// for each operand check; #UD where the CPU lacks the instruction.
import Testing
import VMX
import EmulatedCPU

@Suite("INVEPT and INVVPID")
struct InvalidationTests {
    typealias EPTType = EmulatedCPU.INVEPTType
    typealias VPIDType = EmulatedCPU.INVVPIDType

    /// A valid EPTP for a CPU with WB and 4-level walks: WB (6), walk length 4 (3 << 3), PML4 at 0x5000.
    static let eptp: UInt64 = 0x5000 | 3 << 3 | 6

    @Test("INVEPT accepts exactly the types the capability MSR reports", arguments: Profiles.vmxNames)
    func inveptTypes(profileName: String) throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.named(profileName))
        guard let caps = cpu.capabilities?.eptVPIDCapabilities, caps.contains(.invept) else { return }
        for type in UInt64(0)...5 {
            let supported =
                (type == EPTType.singleContext && caps.contains(.singleContextINVEPT))
                || (type == EPTType.allContext && caps.contains(.allContextINVEPT))
            dirtyFlags(cpu)
            if supported {
                try cpu.invept(type: type, eptPointer: Self.eptp)
                expectVMsucceed(cpu, "type \(type)")
            } else {
                #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID), "type \(type)") {
                    try cpu.invept(type: type, eptPointer: Self.eptp)
                }
                expectVMfailValid(cpu, .invalidOperandToINVEPTOrINVVPID)
            }
        }
        #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
            try cpu.invept(type: 1 << 32 | 1, eptPointer: Self.eptp)
        }
    }

    @Test("single-context INVEPT fails with error 28 for an EPTP VM entry would refuse")
    func inveptEPTPChecks() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        let width = UInt64(cpu.physicalAddressWidth)
        let invalid: [(String, UInt64)] = [
            ("memory type 1", Self.eptp & ~7 | 1),
            ("memory type 7", Self.eptp | 7),
            ("page-walk length 2", Self.eptp & ~0x38 | 1 << 3),
            ("page-walk length 8", Self.eptp | 7 << 3),
            ("reserved bit 8", Self.eptp | 1 << 8),
            ("reserved bit 11", Self.eptp | 1 << 11),
            ("beyond the physical-address width", Self.eptp | 1 << width)
        ]
        for (what, eptp) in invalid {
            #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID), "\(what)") {
                try cpu.invept(type: EPTType.singleContext, eptPointer: eptp)
            }
            // All-context INVEPT ignores the descriptor.
            try cpu.invept(type: EPTType.allContext, eptPointer: eptp)
        }
        // The synthetic CPU supports UC, 5-level walks, A/D flags and supervisor shadow-stack control.
        for eptp in [Self.eptp & ~7, Self.eptp & ~0x38 | 4 << 3, Self.eptp | 1 << 6, Self.eptp | 1 << 7] {
            try cpu.invept(type: EPTType.singleContext, eptPointer: eptp)
        }
        // A CPU without UC for EPT refuses memory type 0 (IA32_VMX_EPT_VPID_CAP[8] = 0).
        let noUC = try cpuWithCurrentVMCS(try Profiles.synthetic(msr: MSR.ia32VMXEPTVPIDCap.rawValue, clearing: 1 << 8))
        #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
            try noUC.invept(type: EPTType.singleContext, eptPointer: Self.eptp & ~7)
        }
        // Nor A/D without bit 21.
        let noAD = try cpuWithCurrentVMCS(
            try Profiles.synthetic(msr: MSR.ia32VMXEPTVPIDCap.rawValue, clearing: 1 << 21))
        #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
            try noAD.invept(type: EPTType.singleContext, eptPointer: Self.eptp | 1 << 6)
        }
    }

    @Test(
        "INVVPID accepts exactly the types the capability MSR reports and checks its descriptor",
        arguments: Profiles.vmxNames)
    func invvpid(profileName: String) throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.named(profileName))
        guard let caps = cpu.capabilities?.eptVPIDCapabilities, caps.contains(.invvpid) else { return }
        let bits: [UInt64: EPTVPIDCapabilities] = [
            VPIDType.individualAddress: .individualAddressINVVPID, VPIDType.singleContext: .singleContextINVVPID,
            VPIDType.allContext: .allContextINVVPID,
            VPIDType.singleContextRetainingGlobals: .singleContextRetainingGlobalsINVVPID
        ]
        for type in UInt64(0)...7 {
            if let bit = bits[type], caps.contains(bit) {
                try cpu.invvpid(type: type, vpidQuadword: 1, linearAddress: 0x40_0000)
                expectVMsucceed(cpu, "type \(type)")
                // Bits 63:16 of the descriptor must be 0.
                #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
                    try cpu.invvpid(type: type, vpidQuadword: 1 << 16 | 1, linearAddress: 0)
                }
                // VPID 0 is refused by every type but all-context.
                if type == VPIDType.allContext {
                    try cpu.invvpid(type: type, vpidQuadword: 0, linearAddress: 0)
                } else {
                    #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID), "type \(type), VPID 0") {
                        try cpu.invvpid(type: type, vpidQuadword: 0, linearAddress: 0)
                    }
                }
            } else {
                #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID), "type \(type)") {
                    try cpu.invvpid(type: type, vpidQuadword: 1, linearAddress: 0)
                }
            }
        }
        if caps.contains(.individualAddressINVVPID) {
            // Individual-address invalidation needs a canonical address.
            #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
                try cpu.invvpid(type: VPIDType.individualAddress, vpidQuadword: 1, linearAddress: 0x0000_8000_0000_0000)
            }
            try cpu.invvpid(type: VPIDType.individualAddress, vpidQuadword: 1, linearAddress: 0xFFFF_8000_0000_0000)
        }
    }

    @Test("a type the capability MSR does not report fails with error 28")
    func unreportedTypes() throws {
        let onlyAllContext = try Profiles.synthetic(
            msr: MSR.ia32VMXEPTVPIDCap.rawValue, clearing: 1 << 25 | 1 << 40 | 1 << 41 | 1 << 43)
        let cpu = try cpuWithCurrentVMCS(onlyAllContext)
        #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
            try cpu.invept(type: EPTType.singleContext, eptPointer: Self.eptp)
        }
        try cpu.invept(type: EPTType.allContext, eptPointer: 0)
        for type in [VPIDType.individualAddress, VPIDType.singleContext, VPIDType.singleContextRetainingGlobals] {
            #expect(throws: VMFailure.valid(.invalidOperandToINVEPTOrINVVPID)) {
                try cpu.invvpid(type: type, vpidQuadword: 1, linearAddress: 0)
            }
        }
        try cpu.invvpid(type: VPIDType.allContext, vpidQuadword: 0, linearAddress: 0)
        // Without a current VMCS the same failure is VMfailInvalid.
        try cpu.vmclear(Address.vmcs)
        #expect(throws: VMFailure.invalid) { try cpu.invept(type: EPTType.singleContext, eptPointer: Self.eptp) }
        expectVMfailInvalid(cpu)
    }

    @Test("INVEPT is #UD without EPT or without the INVEPT capability; INVVPID likewise for VPID")
    func undefinedWithoutSupport() throws {
        let noEPT = try cpuWithCurrentVMCS(
            try Profiles.synthetic(msr: MSR.ia32VMXProcbasedCtls2.rawValue, clearing: UInt64(1) << (32 + 1)))
        try noEPT.invept(type: EPTType.allContext, eptPointer: 0)
        #expect(noEPT.lastFault == .invalidOpcode)
        let noINVEPT = try cpuWithCurrentVMCS(
            try Profiles.synthetic(msr: MSR.ia32VMXEPTVPIDCap.rawValue, clearing: 1 << 20))
        try noINVEPT.invept(type: EPTType.allContext, eptPointer: 0)
        #expect(noINVEPT.lastFault == .invalidOpcode)
        let noVPID = try cpuWithCurrentVMCS(
            try Profiles.synthetic(msr: MSR.ia32VMXProcbasedCtls2.rawValue, clearing: UInt64(1) << (32 + 5)))
        try noVPID.invvpid(type: VPIDType.allContext, vpidQuadword: 0, linearAddress: 0)
        #expect(noVPID.lastFault == .invalidOpcode)
        let noINVVPID = try cpuWithCurrentVMCS(
            try Profiles.synthetic(msr: MSR.ia32VMXEPTVPIDCap.rawValue, clearing: 1 << 32))
        try noINVVPID.invvpid(type: VPIDType.allContext, vpidQuadword: 0, linearAddress: 0)
        #expect(noINVVPID.lastFault == .invalidOpcode)
    }
}
