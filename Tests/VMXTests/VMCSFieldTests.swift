// VMCS component encodings (SDM 25.11.2, Table 25-21) and the table of every field of SDM
// Appendix B: built from their parts, decoded back, named, and malformed ones recognised.
import Testing
import VMX

@Suite("VMCS field encodings")
struct VMCSFieldTests {
    @Test("static members encode to the SDM's values (one or more per table B-1 to B-15)")
    func knownEncodings() {
        let expected: [(VMCSField, UInt32)] = [
            (.virtualProcessorIdentifier, 0x0000), (.lastPIDPointerIndex, 0x0008),
            (.guestESSelector, 0x0800), (.guestTRSelector, 0x080E), (.guestUINV, 0x0814),
            (.hostESSelector, 0x0C00), (.hostTRSelector, 0x0C0C),
            (.ioBitmapAAddress, 0x2000), (.eptPointer, 0x201A), (.tscMultiplier, 0x2032),
            (.tertiaryProcessorBasedVMExecutionControls, 0x2034), (.secondaryVMExitControls, 0x2044),
            (.guestPhysicalAddress, 0x2400),
            (.vmcsLinkPointer, 0x2800), (.guestIA32EFER, 0x2806), (.guestPDPTE3, 0x2810), (.guestIA32PKRS, 0x2818),
            (.hostIA32PAT, 0x2C00), (.hostIA32PKRS, 0x2C06),
            (.pinBasedVMExecutionControls, 0x4000), (.primaryProcessorBasedVMExecutionControls, 0x4002),
            (.secondaryProcessorBasedVMExecutionControls, 0x401E), (.instructionTimeoutControl, 0x4024),
            (.vmInstructionError, 0x4400), (.exitReason, 0x4402), (.vmExitInstructionInformation, 0x440E),
            (.guestESLimit, 0x4800), (.guestIDTRLimit, 0x4812), (.guestESAccessRights, 0x4814),
            (.guestTRAccessRights, 0x4822), (.guestSMBASE, 0x4828), (.vmxPreemptionTimerValue, 0x482E),
            (.hostIA32SysenterCS, 0x4C00),
            (.cr0GuestHostMask, 0x6000), (.cr3TargetValue3, 0x600E),
            (.exitQualification, 0x6400), (.guestLinearAddress, 0x640A),
            (.guestCR0, 0x6800), (.guestRIP, 0x681E), (.guestRFLAGS, 0x6820), (.guestIA32InterruptSSPTableAddr, 0x682C),
            (.hostCR0, 0x6C00), (.hostRSP, 0x6C14), (.hostRIP, 0x6C16), (.hostIA32InterruptSSPTableAddr, 0x6C1C)
        ]
        for (field, value) in expected {
            #expect(field.rawValue == value, "\(field.name ?? "?")")
        }
    }

    @Test("the table lists 179 fields, sorted, unique, full encodings, with unique names")
    func table() {
        let all = VMCSField.all
        #expect(all.count == 179)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.field.rawValue < $1.field.rawValue })
        #expect(all.allSatisfy { $0.field.isWellFormed && $0.field.accessType == .full })
        #expect(Set(all.map(\.name)).count == all.count)
        #expect(all.allSatisfy { $0.field.isReadOnly == ($0.field.type == .vmExitInformation) })
    }

    @Test("each Appendix B table has the SDM's number of fields")
    func fieldsPerTable() {
        let counts: [(VMCSField.Width, VMCSField.FieldType, Int)] = [
            (.sixteenBit, .control, 5), (.sixteenBit, .vmExitInformation, 0), (.sixteenBit, .guestState, 11),
            (.sixteenBit, .hostState, 7),
            (.sixtyFourBit, .control, 35), (.sixtyFourBit, .vmExitInformation, 1), (.sixtyFourBit, .guestState, 13),
            (.sixtyFourBit, .hostState, 4),
            (.thirtyTwoBit, .control, 19), (.thirtyTwoBit, .vmExitInformation, 8), (.thirtyTwoBit, .guestState, 23),
            (.thirtyTwoBit, .hostState, 1),
            (.naturalWidth, .control, 8), (.naturalWidth, .vmExitInformation, 6), (.naturalWidth, .guestState, 23),
            (.naturalWidth, .hostState, 15)
        ]
        for (width, type, count) in counts {
            #expect(
                VMCSField.all.filter { $0.field.width == width && $0.field.type == type }.count == count,
                "\(width.name) \(type.name)")
        }
    }

    @Test("building from parts and decoding are inverse for every width, type, index and access type")
    func roundTrip() {
        for width in [VMCSField.Width.sixteenBit, .sixtyFourBit, .thirtyTwoBit, .naturalWidth] {
            for type in [VMCSField.FieldType.control, .vmExitInformation, .guestState, .hostState] {
                for index in UInt32(0)..<512 {
                    for access in [VMCSField.AccessType.full, .high] {
                        let field = VMCSField(width: width, type: type, index: index, access: access)
                        #expect(
                            field.width == width && field.type == type && field.index == index
                                && field.accessType == access)
                        #expect(field.isHigh == (access == .high))
                        #expect(field.isWellFormed == (access == .full || width == .sixtyFourBit))
                        #expect(field.rawValue & VMCSField.reservedBits == 0)
                    }
                }
            }
        }
        #expect(VMCSField(width: .naturalWidth, type: .guestState, index: 0x200 | 15).index == 15, "index is 9 bits")
    }

    @Test("decoders on known fields")
    func decoders() {
        let rip = VMCSField.guestRIP
        #expect(
            rip.width == .naturalWidth && rip.type == .guestState && rip.index == 15 && !rip.isHigh && !rip.isReadOnly)
        let reason = VMCSField.exitReason
        #expect(
            reason.width == .thirtyTwoBit && reason.type == .vmExitInformation && reason.index == 1 && reason.isReadOnly
        )
        let eptpHigh = VMCSField.eptPointer.high!
        #expect(
            eptpHigh.rawValue == 0x201B && eptpHigh.isHigh && eptpHigh.width == .sixtyFourBit && eptpHigh.index == 13)
        #expect(eptpHigh.full == .eptPointer)
        #expect(VMCSField.guestCR0.high == nil)
        #expect(VMCSField.guestCSSelector.high == nil)
        #expect(VMCSField.exitReason.high == nil)
    }

    @Test("names: the SDM's, with \" (high)\" for the upper half of a 64-bit field, nil for anything undefined")
    func names() {
        #expect(VMCSField.guestCR0.name == "Guest CR0")
        #expect(VMCSField.pinBasedVMExecutionControls.name == "Pin-based VM-execution controls")
        #expect(VMCSField.ioBitmapAAddress.name == "Address of I/O bitmap A")
        #expect(VMCSField(rawValue: 0x2001).name == "Address of I/O bitmap A (high)")
        #expect(VMCSField(rawValue: 0x2801).name == "VMCS link pointer (high)")
        #expect(VMCSField(rawValue: 0x6801).name == nil, "high access to a natural-width field")
        #expect(VMCSField(rawValue: 0x0001).name == nil, "high access to a 16-bit field")
        #expect(VMCSField(rawValue: 0x4401).name == nil, "high access to a 32-bit field")
        #expect(VMCSField(rawValue: 0x0040).name == nil, "16-bit control index 32 is not defined")
        #expect(VMCSField(rawValue: 0x2046).name == nil)
        for definition in VMCSField.all {
            #expect(definition.field.name == definition.name)
            #expect(definition.field.isDefined)
            if let high = definition.field.high {
                #expect(high.name == definition.name + " (high)")
                #expect(high.isDefined)
            }
        }
    }

    @Test("a reserved bit (31:15 or 12) makes any encoding malformed and undefined")
    func reservedBits() {
        for definition in VMCSField.all {
            for bit in [12] + Array(15..<32) {
                let field = VMCSField(rawValue: definition.field.rawValue | UInt32(1) << UInt32(bit))
                #expect(!field.isWellFormed && !field.isDefined && field.name == nil, "\(definition.name), bit \(bit)")
            }
        }
        #expect(!VMCSField(rawValue: 0xFFFF_FFFF).isWellFormed)
        #expect(VMCSField(rawValue: 0xFFFF_FFFF).definition == nil)
    }

    @Test("names of width and type")
    func partNames() {
        #expect(VMCSField.Width.naturalWidth.name == "natural-width")
        #expect(VMCSField.Width.sixtyFourBit.name == "64-bit")
        #expect(VMCSField.FieldType.vmExitInformation.name == "VM-exit information")
        #expect(VMCSField.FieldType.hostState.name == "host-state")
    }
}
