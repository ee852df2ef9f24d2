// The exit-qualification decoders of SDM 28.2.1 (Tables 28-1, 28-3, 28-4, 28-5, 28-7), the
// interruption-information format (Tables 25-19, 25-20) and the INS/OUTS instruction
// information (Table 28-8), each bit checked against a value built by hand from the tables.
import Testing
import VMX

@Suite struct ControlRegisterAccessQualificationTests {
    @Test func movToCR4FromRDX() {
        // Given MOV CR4, RDX: CR 4 (bits 3:0), access type 0 (bits 5:4), register 2 (bits 11:8)
        let q = ControlRegisterAccessQualification(rawValue: 0x204)
        #expect(q.controlRegister == 4)
        #expect(q.accessType == .movToCR)
        #expect(q.generalPurposeRegister == 2)
        #expect(q.accessType.name.description == "MOV to CR")
    }

    @Test func movFromCR8ToR15() {
        let q = ControlRegisterAccessQualification(rawValue: 0xF18)
        #expect(q.controlRegister == 8)
        #expect(q.accessType == .movFromCR)
        #expect(q.generalPurposeRegister == 15)
    }

    @Test func lmswFromMemoryWithSourceData() {
        // LMSW: type 3, bit 6 = memory operand, source data in bits 31:16
        let q = ControlRegisterAccessQualification(rawValue: 0x000B_0070)
        #expect(q.accessType == .lmsw)
        #expect(q.lmswOperandIsMemory)
        #expect(q.lmswSourceData == 0x000B)
        #expect(ControlRegisterAccessQualification(rawValue: 0x20).accessType == .clts)
    }

    @Test func reservedBitsAreBit7Bits15To12And63To32() {
        #expect(ControlRegisterAccessQualification.reservedBits == 0xFFFF_FFFF_0000_F080)
    }
}

@Suite struct MOVDRQualificationTests {
    @Test func movFromDR7ToRCX() {
        let q = MOVDRQualification(rawValue: 0x117)
        #expect(q.debugRegister == 7)
        #expect(q.isMoveFromDR)
        #expect(q.generalPurposeRegister == 1)
        #expect(!MOVDRQualification(rawValue: 0x3).isMoveFromDR)
    }
}

@Suite struct IOInstructionQualificationTests {
    @Test func outByteToPortF4WithImmediate() {
        // OUT 0F4H, AL: size 0 (1 byte), direction 0, immediate operand (bit 6), port in 31:16
        let q = IOInstructionQualification(rawValue: 0x00F4_0040)
        #expect(q.size == 1)
        #expect(!q.isIn)
        #expect(!q.isString)
        #expect(!q.isRepeated)
        #expect(q.hasImmediatePort)
        #expect(q.port == 0xF4)
    }

    @Test func repInsdFromDX() {
        // REP INSD: size 3 (4 bytes), IN, string, REP, DX
        let q = IOInstructionQualification(rawValue: 0x03F8_0000 | 0x3 | 1 << 3 | 1 << 4 | 1 << 5)
        #expect(q.size == 4)
        #expect(q.isIn && q.isString && q.isRepeated && !q.hasImmediatePort)
        #expect(q.port == 0x3F8)
    }

    @Test func builtFromPartsRoundTrips() {
        let q = IOInstructionQualification(port: 0x8900, size: 2, isIn: false, isString: true, isRepeated: true,
                                           hasImmediatePort: false)
        #expect(q.rawValue == 0x8900_0031)
        #expect(q.size == 2 && q.isString && q.isRepeated && q.port == 0x8900)
        #expect(IOInstructionQualification.reservedBits == 0xFFFF_FFFF_0000_FF80)
    }

    @Test func stringInstructionInformation() {
        // Address size bits 9:7 (2 = 64-bit), segment bits 17:15 (5 = GS)
        let i = StringIOInstructionInformation(rawValue: 2 << 7 | 5 << 15)
        #expect(i.addressSizeInBytes == 8)
        #expect(i.segmentRegister == 5)
        #expect(StringIOInstructionInformation(rawValue: 0).addressSizeInBytes == 2)
        #expect(StringIOInstructionInformation(rawValue: 1 << 7).addressSizeInBytes == 4)
        #expect(StringIOInstructionInformation(rawValue: 3 << 7).addressSizeInBytes == nil)
    }
}

@Suite struct EPTViolationQualificationTests {
    @Test func writeToReadExecutePageThroughLinearAddress() {
        // Data write (bit 1); readable and executable (bits 3, 5); linear address valid (7),
        // translated address (8)
        let q = EPTViolationQualification(rawValue: 0x1AA)
        #expect(!q.isDataRead && q.isDataWrite && !q.isInstructionFetch)
        #expect(q.wasReadable && !q.wasWritable && q.wasExecutable && !q.wasUserExecutable)
        #expect(!q.wasNotPresent)
        #expect(q.isGuestLinearAddressValid && q.isAccessToTranslatedAddress)
        #expect(q == EPTViolationQualification(write: true, readable: true, executable: true,
                                               linearAddressValid: true, translatedAddress: true))
    }

    @Test func readOfNotPresentPage() {
        let q = EPTViolationQualification(rawValue: 0x181)
        #expect(q.isDataRead && q.wasNotPresent)
        #expect(!q.wasReadable && !q.wasWritable && !q.wasExecutable)
    }

    @Test func pagingStructureAccessAndUpperBits() {
        // Bit 7 without bit 8: the access was to a guest paging-structure entry.
        let walk = EPTViolationQualification(rawValue: 0x81)
        #expect(walk.isGuestLinearAddressValid && !walk.isAccessToTranslatedAddress)
        let all = EPTViolationQualification(rawValue: 0x1_FE00)
        #expect(all.isUserModeLinearAddress && all.isReadWriteLinearAddress && all.isExecuteDisableLinearAddress)
        #expect(all.isNMIUnblockingDueToIRET && all.isShadowStackAccess && all.isSupervisorShadowStackPage)
        #expect(all.isGuestPagingVerification && all.isAsynchronousToInstruction)
        #expect(EPTViolationQualification.reservedBits == 0xFFFF_FFFF_FFFE_0000)
        #expect(EPTViolationQualification(rawValue: 0x40).wasUserExecutable)
    }
}

@Suite struct DebugExceptionQualificationTests {
    @Test func singleStepAndBreakpoints() {
        let q = DebugExceptionQualification(rawValue: 1 << 14 | 0b0101)
        #expect(q.isSingleStep)
        #expect(q.breakpointsHit == 0b0101)
        #expect(!q.isDebugRegisterAccessDetected && !q.isInRTMRegion && !q.isBusLockDetected)
        let other = DebugExceptionQualification(rawValue: 1 << 13 | 1 << 16 | 1 << 11)
        #expect(other.isDebugRegisterAccessDetected && other.isInRTMRegion && other.isBusLockDetected)
        #expect(!other.isSingleStep)
    }
}

@Suite struct InterruptionInformationTests {
    @Test func generalProtectionWithErrorCode() {
        // Vector 13, type 3 (hardware exception), error code valid (11), valid (31)
        let i = InterruptionInformation(rawValue: 0x8000_0B0D)
        #expect(i.isValid && i.hasErrorCode)
        #expect(i.vector == 13)
        #expect(i.type == .hardwareException)
        #expect(i.type.name.description == "hardware exception")
        #expect(!i.isNMIUnblockingDueToIRET)
        #expect(i.asVMEntryInterruptionInformation == 0x8000_0B0D)
    }

    @Test func nmiWithUnblockingDropsBit12ForReinjection() {
        let i = InterruptionInformation(rawValue: 0x8000_1202)
        #expect(i.type == .nonMaskableInterrupt && i.vector == 2)
        #expect(i.isNMIUnblockingDueToIRET)
        #expect(i.asVMEntryInterruptionInformation == 0x8000_0202)
    }

    @Test func everyType() {
        let types: [InterruptionType] = [
            .externalInterrupt, .reserved, .nonMaskableInterrupt, .hardwareException, .softwareInterrupt,
            .privilegedSoftwareException, .softwareException, .otherEvent,
        ]
        for (number, type) in types.enumerated() {
            #expect(InterruptionInformation(rawValue: UInt32(number) << 8).type == type)
        }
        #expect(!InterruptionInformation(rawValue: 0x30).isValid)
    }
}

@Suite struct GuestRegistersTests {
    @Test func numberedAccessFollowsTheX86Encoding() {
        var registers = GuestRegisters()
        for number in 0..<16 { registers[number] = UInt64(number) * 0x1111 }
        #expect(registers.rax == 0 && registers.rcx == 0x1111 && registers.rdx == 0x2222 && registers.rbx == 0x3333)
        #expect(registers.unusedRSPSlot == 0x4444 && registers.rbp == 0x5555 && registers.rsi == 0x6666)
        #expect(registers.rdi == 0x7777 && registers.r8 == 0x8888 && registers.r15 == 0xFFFF)
        #expect(MemoryLayout<GuestRegisters>.size == GuestRegisters.byteCount)
        #expect(MemoryLayout<GuestRegisters>.offset(of: \.r15) == 120)
        #expect(MemoryLayout<GuestRegisters>.offset(of: \.rdi) == 56)
    }
}
