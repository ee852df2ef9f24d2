// The exit-qualification decoders of SDM 28.2.1 (Tables 28-1, 28-3, 28-4, 28-5, 28-7), the
// interruption-information format (Tables 25-19, 25-20) and the INS/OUTS instruction
// information (Table 28-8), each bit checked against a value built by hand from the tables;
// the encoding initializers the emulated CPU writes them with, against the same hand-built
// values and back through the decoders.
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

    @Test func encodedMOVFromCR8ToRAX() {
        // CR 8 (bits 3:0), access type 1 (bits 5:4), RAX = 0 (bits 11:8)
        let q = ControlRegisterAccessQualification(movFromCR: 8, generalPurposeRegister: 0)
        #expect(q.rawValue == 0x18)
        #expect(q.controlRegister == 8 && q.accessType == .movFromCR && q.generalPurposeRegister == 0)
        #expect(ControlRegisterAccessQualification(movFromCR: 3, generalPurposeRegister: 15).rawValue == 0xF13)
    }

    @Test func encodedMOVToCR() {
        // MOV CR4, RDX as in movToCR4FromRDX; MOV CR3, R12: CR 3, type 0, register 12
        #expect(ControlRegisterAccessQualification(movToCR: 4, generalPurposeRegister: 2).rawValue == 0x204)
        let q = ControlRegisterAccessQualification(movToCR: 3, generalPurposeRegister: 12)
        #expect(q.rawValue == 0xC03)
        #expect(q.controlRegister == 3 && q.accessType == .movToCR && q.generalPurposeRegister == 12)
        #expect(q.rawValue & ControlRegisterAccessQualification.reservedBits == 0)
    }

    @Test func encodedCLTS() {
        // Access type 2, every other bit 0
        let q = ControlRegisterAccessQualification.clts
        #expect(q.rawValue == 0x20)
        #expect(q.accessType == .clts && q.controlRegister == 0 && q.generalPurposeRegister == 0)
    }

    @Test func encodedLMSW() {
        // Access type 3 (0x30), bit 6 = memory operand, source data in bits 31:16
        let memory = ControlRegisterAccessQualification(lmswSourceData: 0x000B, operandIsMemory: true)
        #expect(memory.rawValue == 0x000B_0070)
        #expect(memory.accessType == .lmsw && memory.lmswOperandIsMemory && memory.lmswSourceData == 0x000B)
        let register = ControlRegisterAccessQualification(lmswSourceData: 0xFFFF, operandIsMemory: false)
        #expect(register.rawValue == 0xFFFF_0030)
        #expect(register.accessType == .lmsw && !register.lmswOperandIsMemory && register.lmswSourceData == 0xFFFF)
        #expect(register.controlRegister == 0 && register.generalPurposeRegister == 0)
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

    @Test func encoded() {
        // MOV RCX, DR7: DR 7 (bits 2:0), from DR (bit 4), RCX = 1 (bits 11:8)
        let from = MOVDRQualification(debugRegister: 7, isMoveFromDR: true, generalPurposeRegister: 1)
        #expect(from.rawValue == 0x117)
        #expect(from.debugRegister == 7 && from.isMoveFromDR && from.generalPurposeRegister == 1)
        // MOV DR0, R9
        let to = MOVDRQualification(debugRegister: 0, isMoveFromDR: false, generalPurposeRegister: 9)
        #expect(to.rawValue == 0x900)
        #expect(to.debugRegister == 0 && !to.isMoveFromDR && to.generalPurposeRegister == 9)
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
        let q = IOInstructionQualification(
            port: 0x8900, size: 2, isIn: false, isString: true, isRepeated: true,
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
        #expect(
            q
                == EPTViolationQualification(
                    write: true, readable: true, executable: true,
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

    @Test func encodedWithGuestPagingRights() {
        // Fetch (bit 2), readable (3), linear address valid (7), translated address (8), user
        // (9), read/write (10): 0x4 + 0x8 + 0x80 + 0x100 + 0x200 + 0x400
        let q = EPTViolationQualification(
            fetch: true, readable: true, linearAddressValid: true,
            translatedAddress: true, userModeLinearAddress: true,
            readWriteLinearAddress: true)
        #expect(q.rawValue == 0x78C)
        #expect(q.isInstructionFetch && q.wasReadable && !q.wasExecutable)
        #expect(q.isUserModeLinearAddress && q.isReadWriteLinearAddress && !q.isExecuteDisableLinearAddress)
        let executeDisable = EPTViolationQualification(
            read: true, linearAddressValid: true, translatedAddress: true,
            executeDisableLinearAddress: true)
        #expect(executeDisable.rawValue == 0x981)
        #expect(executeDisable.isExecuteDisableLinearAddress && !executeDisable.isUserModeLinearAddress)
        #expect(!executeDisable.isReadWriteLinearAddress)
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

    @Test func encoded() {
        // BS (bit 14) alone: the single-step trap the emulated CPU reports
        let step = DebugExceptionQualification(singleStep: true)
        #expect(step.rawValue == 0x4000)
        #expect(step.isSingleStep && step.breakpointsHit == 0)
        // B3-B0 (3:0), BLD (11), BD (13), BS (14), RTM (16)
        let all = DebugExceptionQualification(
            breakpointsHit: 0xF, busLockDetected: true, debugRegisterAccessDetected: true,
            singleStep: true, inRTMRegion: true)
        #expect(all.rawValue == 0x1_680F)
        #expect(all.breakpointsHit == 0xF && all.isBusLockDetected && all.isDebugRegisterAccessDetected)
        #expect(all.isSingleStep && all.isInRTMRegion)
        #expect(DebugExceptionQualification(breakpointsHit: 0b0101).rawValue == 0b0101)
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
            .privilegedSoftwareException, .softwareException, .otherEvent
        ]
        for (number, type) in types.enumerated() {
            #expect(InterruptionInformation(rawValue: UInt32(number) << 8).type == type)
        }
        #expect(!InterruptionInformation(rawValue: 0x30).isValid)
    }

    @Test func encoded() {
        // #GP: vector 13, type 3, error code (bit 11), valid (bit 31)
        let gp = InterruptionInformation(vector: 13, type: .hardwareException, hasErrorCode: true)
        #expect(gp.rawValue == 0x8000_0B0D)
        #expect(gp.isValid && gp.hasErrorCode && gp.vector == 13 && gp.type == .hardwareException)
        #expect(!gp.isNMIUnblockingDueToIRET)
        // An external interrupt, vector 20H: type 0, no error code
        let external = InterruptionInformation(vector: 0x20, type: .externalInterrupt)
        #expect(external.rawValue == 0x8000_0020)
        #expect(external.isValid && !external.hasErrorCode && external.type == .externalInterrupt)
        #expect(InterruptionInformation(vector: 2, type: .nonMaskableInterrupt).rawValue == 0x8000_0202)
        #expect(InterruptionInformation(vector: 0x80, type: .softwareInterrupt).rawValue == 0x8000_0480)
        #expect(InterruptionInformation(vector: 1, type: .privilegedSoftwareException).rawValue == 0x8000_0501)
        #expect(InterruptionInformation(vector: 3, type: .softwareException).rawValue == 0x8000_0603)
        // The same event as VM entry would inject it.
        #expect(
            gp.asVMEntryInterruptionInformation
                == VMEntryInterruptionInformation(vector: 13, type: .hardwareException, deliverErrorCode: true).rawValue
        )
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
