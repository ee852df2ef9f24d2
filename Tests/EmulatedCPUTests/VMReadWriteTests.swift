// VMREAD and VMWRITE (SDM 31.3, 25.11.2): support decided field by field from each profile's
// captured field set, error 12 for unsupported and malformed encodings, error 13 for the
// read-only fields unless IA32_VMX_MISC[29], widths and the high halves of 64-bit fields.
import Testing
import VMX
import EmulatedCPU

@Suite("VMREAD and VMWRITE")
struct VMReadWriteTests {
    static let pattern: UInt64 = 0x1122_3344_5566_7788

    @Test(
        "every SDM field reads back what was written, exactly where the profile supports it",
        arguments: Profiles.vmxNames)
    func everyField(profileName: String) throws {
        let profile = try Profiles.named(profileName)
        let cpu = try cpuWithCurrentVMCS(profile)
        let captured = Set(profile.vmcsFields.map(\.rawValue))
        let canWriteReadOnly = cpu.capabilities!.misc.allowsVMWRITEToAnyField
        for definition in VMCSField.all {
            let field = definition.field
            let name = definition.name
            #expect(cpu.supports(field) == captured.contains(field.rawValue), "\(name)")
            guard cpu.supports(field) else {
                #expect(throws: VMFailure.valid(.unsupportedVMCSComponent), "\(name)") { _ = try cpu.vmread(field) }
                expectVMfailValid(cpu, .unsupportedVMCSComponent, "\(name)")
                #expect(throws: VMFailure.valid(.unsupportedVMCSComponent), "\(name)") { try cpu.vmwrite(field, 1) }
                if let high = field.high {
                    #expect(throws: VMFailure.valid(.unsupportedVMCSComponent), "\(name) (high)") {
                        _ = try cpu.vmread(high)
                    }
                }
                continue
            }
            if field.isReadOnly && !canWriteReadOnly {
                #expect(throws: VMFailure.valid(.vmwriteToReadOnlyComponent), "\(name)") {
                    try cpu.vmwrite(field, Self.pattern)
                }
                expectVMfailValid(cpu, .vmwriteToReadOnlyComponent, "\(name)")
                continue
            }
            dirtyFlags(cpu)
            try cpu.vmwrite(field, Self.pattern)
            expectVMsucceed(cpu, "\(name)")
            let expected: UInt64
            switch field.width {
            case .sixteenBit: expected = 0x7788
            case .thirtyTwoBit: expected = 0x5566_7788
            case .sixtyFourBit, .naturalWidth: expected = Self.pattern
            }
            dirtyFlags(cpu)
            #expect(try cpu.vmread(field) == expected, "\(name)")
            expectVMsucceed(cpu, "\(name)")
            if let high = field.high {
                #expect(try cpu.vmread(high) == 0x1122_3344, "\(name) (high)")
            }
        }
    }

    @Test("the high half of a 64-bit field reads and writes bits 63:32 only")
    func highHalves() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        let full = VMCSField.ioBitmapAAddress
        let high = full.high!
        try cpu.vmwrite(full, Self.pattern)
        try cpu.vmwrite(high, 0xFFFF_FFFF_AABB_CCDD)  // bits 63:32 of the operand are ignored
        #expect(try cpu.vmread(full) == 0xAABB_CCDD_5566_7788)
        #expect(try cpu.vmread(high) == 0xAABB_CCDD)
        try cpu.vmwrite(full, 0x42)
        #expect(try cpu.vmread(high) == 0)
    }

    @Test("outside 64-bit mode the operand is 32 bits: reads return bits 31:0, full writes clear bits 63:32")
    func thirtyTwoBitOperands() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        try cpu.vmwrite(VMCSField.guestRIP, Self.pattern)
        try cpu.vmwrite(VMCSField.tscOffset, Self.pattern)
        // Legacy protected mode: IA32_EFER.LMA = 0.
        cpu.efer &= ~ExtendedFeatureEnable.lma.rawValue
        #expect(try cpu.vmread(VMCSField.guestRIP) == 0x5566_7788)
        #expect(try cpu.vmread(VMCSField.tscOffset) == 0x5566_7788)
        #expect(try cpu.vmread(VMCSField.tscOffset.high!) == 0x1122_3344)
        try cpu.vmwrite(VMCSField.guestRIP, Self.pattern)
        try cpu.vmwrite(VMCSField.tscOffset, 0x9999_0000_1234_5678)
        cpu.efer |= ExtendedFeatureEnable.lma.rawValue
        #expect(try cpu.vmread(VMCSField.guestRIP) == 0x5566_7788)
        #expect(try cpu.vmread(VMCSField.tscOffset) == 0x1234_5678)
    }

    @Test("VMWRITE to a VM-exit information field fails with error 13 unless IA32_VMX_MISC[29] = 1")
    func readOnlyFields() throws {
        let writable = try Profiles.synthetic()
        let readOnly = try Profiles.synthetic(msr: MSR.ia32VMXMisc.rawValue, clearing: 1 << 29)
        let exitInformation = VMCSField.all.map(\.field).filter(\.isReadOnly)
        #expect(exitInformation.count == 15)
        let refusing = try cpuWithCurrentVMCS(readOnly)
        let accepting = try cpuWithCurrentVMCS(writable)
        for field in exitInformation {
            #expect(throws: VMFailure.valid(.vmwriteToReadOnlyComponent), "\(field.name!)") {
                try refusing.vmwrite(field, 7)
            }
            expectVMfailValid(refusing, .vmwriteToReadOnlyComponent)
            try accepting.vmwrite(field, 7)
            #expect(try accepting.vmread(field) == 7, "\(field.name!)")
        }
        // The high half of the one 64-bit read-only field is read-only too.
        #expect(throws: VMFailure.valid(.vmwriteToReadOnlyComponent)) {
            try refusing.vmwrite(VMCSField.guestPhysicalAddress.high!, 1)
        }
        // Error 13 does not overwrite the VM-instruction error field's other uses: reading it is fine.
        #expect(try refusing.vmread(VMCSField.vmInstructionError) == 13)
    }

    @Test("malformed encodings fail with error 12: reserved bits 31:15 and 12, high access to a field not 64 bits wide")
    func malformedEncodings() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        var malformed: [UInt32] = []
        for bit in 15..<32 { malformed.append(VMCSField.guestRIP.rawValue | UInt32(1) << UInt32(bit)) }
        malformed.append(VMCSField.guestRIP.rawValue | 1 << 12)
        malformed.append(VMCSField.guestCSSelector.rawValue | 1)  // 16-bit
        malformed.append(VMCSField.exitReason.rawValue | 1)  // 32-bit
        malformed.append(VMCSField.guestCR0.rawValue | 1)  // natural-width
        malformed.append(0xFFFF_FFFF)
        for encoding in malformed {
            #expect(throws: VMFailure.valid(.unsupportedVMCSComponent), "\(hex(encoding))") {
                _ = try cpu.vmread(VMCSField(rawValue: encoding))
            }
            #expect(throws: VMFailure.valid(.unsupportedVMCSComponent), "\(hex(encoding))") {
                try cpu.vmwrite(VMCSField(rawValue: encoding), 1)
            }
            expectVMfailValid(cpu, .unsupportedVMCSComponent)
        }
        // Well formed, but no field has that index.
        let undefined = VMCSField(width: .naturalWidth, type: .guestState, index: 0x1FF)
        #expect(throws: VMFailure.valid(.unsupportedVMCSComponent)) { _ = try cpu.vmread(undefined) }
    }

    @Test("any 32-bit encoding gets an architectural outcome, never a crash", arguments: Profiles.vmxNames)
    func everyEncodingShape(profileName: String) throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.named(profileName))
        // Every encoding with bits 31:15 clear, then a spread of the rest.
        var encodings = Array(UInt32(0)..<0x8000)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4096 { encodings.append(UInt32.random(in: .min ... .max, using: &generator)) }
        for encoding in encodings {
            let field = VMCSField(rawValue: encoding)
            do {
                _ = try cpu.vmread(field)
                #expect(field.isWellFormed && field.isDefined && cpu.supports(field), "\(hex(encoding)) was accepted")
            } catch {
                #expect(error == .valid(.unsupportedVMCSComponent), "\(hex(encoding))")
                #expect(!cpu.supports(field))
            }
        }
    }

    @Test("VMCLEAR keeps the field values and VMPTRLD brings them back")
    func valuesSurviveVMCLEAR() throws {
        let cpu = try cpuWithCurrentVMCS(try Profiles.synthetic())
        try cpu.vmwrite(VMCSField.hostRIP, 0xFFFF_8000_0010_0000)
        try cpu.vmclear(Address.vmcs)
        #expect(cpu.fieldValue(.hostRIP, ofVMCS: Address.vmcs) == 0xFFFF_8000_0010_0000)
        try cpu.vmptrld(Address.vmcs)
        #expect(try cpu.vmread(VMCSField.hostRIP) == 0xFFFF_8000_0010_0000)
        // Each VMCS has its own values.
        try loadVMCS(cpu, at: Address.otherVMCS)
        #expect(try cpu.vmread(VMCSField.hostRIP) == 0)
    }
}

@Suite("VMREAD and VMWRITE of undocumented components")
struct UndocumentedComponentTests {
    @Test("a well-formed encoding the SDM does not define, accepted by the captured CPU, is stored like any field")
    func undocumented() throws {
        var profile = try Profiles.synthetic()
        let undocumented = VMCSField(width: .sixtyFourBit, type: .control, index: 0x30)  // 2060H
        #expect(!undocumented.isDefined)
        profile.vmcsFields.append(undocumented)
        let cpu = try cpuWithCurrentVMCS(profile)
        #expect(cpu.supports(undocumented) && cpu.supports(undocumented.high!))
        try cpu.vmwrite(undocumented, 0x1122_3344_5566_7788)
        #expect(try cpu.vmread(undocumented.high!) == 0x1122_3344)
        // Its neighbour stays unsupported.
        #expect(throws: VMFailure.valid(.unsupportedVMCSComponent)) {
            _ = try cpu.vmread(VMCSField(rawValue: undocumented.rawValue + 2))
        }
    }
}

@Suite("VMREAD and VMWRITE on the exit path (vmreadField, vmwriteField)")
struct ExitPathFieldAccessTests {
    @Test("a failing access reads 0 and is reported, never silent")
    func failureIsReported() throws {
        var profile = try Profiles.synthetic()
        profile.vmcsFields.removeAll { $0 == .guestPDPTE0 }
        let cpu = try cpuWithCurrentVMCS(profile)
        final class Reports { var lines: [String] = [] }
        let reports = Reports()
        cpu.faultPolicy = .report
        cpu.faultReporter = { reports.lines.append($0) }
        try cpu.vmwrite(.guestRIP, 0x1234)
        #expect(cpu.vmreadField(.guestRIP) == 0x1234)
        #expect(reports.lines.isEmpty)
        #expect(cpu.vmreadField(.guestPDPTE0) == 0)
        cpu.vmwriteField(.guestPDPTE0, 1)
        #expect(
            reports.lines == [
                """
                VMREAD of Guest PDPTE0 [0x280a] without an outcome to check failed: VMfailValid, VM-instruction \
                error 12
                """,
                """
                VMWRITE of Guest PDPTE0 [0x280a] without an outcome to check failed: VMfailValid, VM-instruction \
                error 12
                """
            ])
    }
}
