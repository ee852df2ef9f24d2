// The VMX capability report printed at boot, in the spirit of QEMU's scripts/kvm/vmxcap: for
// each capability MSR its raw value, then every field and every named bit, decoded as SDM
// Appendix A describes. Lines go to a sink one at a time, so the kernel prints them without
// building one large String.
//
// Layout: a title line per section, then lines of two columns, "  label" padded to a fixed
// width and the value. Control bits read "allowed", "not allowed" or "forced to 1"; a
// default1 control that only the TRUE MSR lets be 0 reads "allowed (default 1)". Flags read
// "yes" or "no". Unnamed bits appear only when set, as "bit N (reserved)"; the reserved
// default1 bits (SDM A.2) share one line while they are all forced to 1.

/// Column where values start: labels are padded to this many characters after the indent.
let reportLabelWidth = 48

/// Emits the whole capability report, line by line.
public func capabilityReport(_ caps: VMXCapabilities, emit: (String) -> Void) {
    reportBasic(caps, emit: emit)
    reportControls(
        caps.pinBasedControls, plain: caps.ia32VMXPinbasedCtls, plainAddress: MSR.ia32VMXPinbasedCtls,
        true: caps.ia32VMXTruePinbasedCtls, trueAddress: MSR.ia32VMXTruePinbasedCtls, emit: emit)
    reportControls(
        caps.primaryProcessorBasedControls, plain: caps.ia32VMXProcbasedCtls,
        plainAddress: MSR.ia32VMXProcbasedCtls,
        true: caps.ia32VMXTrueProcbasedCtls, trueAddress: MSR.ia32VMXTrueProcbasedCtls, emit: emit)
    reportOptionalControls(
        caps.secondaryProcessorBasedControls, raw: caps.ia32VMXProcbasedCtls2,
        address: MSR.ia32VMXProcbasedCtls2, emit: emit)
    reportOptionalControls(
        caps.tertiaryProcessorBasedControls, raw: caps.ia32VMXProcbasedCtls3,
        address: MSR.ia32VMXProcbasedCtls3, emit: emit)
    reportControls(
        caps.exitControls, plain: caps.ia32VMXExitCtls, plainAddress: MSR.ia32VMXExitCtls,
        true: caps.ia32VMXTrueExitCtls, trueAddress: MSR.ia32VMXTrueExitCtls, emit: emit)
    reportOptionalControls(
        caps.secondaryExitControls, raw: caps.ia32VMXExitCtls2, address: MSR.ia32VMXExitCtls2, emit: emit)
    reportControls(
        caps.entryControls, plain: caps.ia32VMXEntryCtls, plainAddress: MSR.ia32VMXEntryCtls,
        true: caps.ia32VMXTrueEntryCtls, trueAddress: MSR.ia32VMXTrueEntryCtls, emit: emit)
    reportMisc(caps, emit: emit)
    reportFixedBits(
        caps.cr0Fixed, register: "CR0", names: ControlRegister0.naming,
        fixed0Address: MSR.ia32VMXCR0Fixed0, fixed1Address: MSR.ia32VMXCR0Fixed1, emit: emit)
    reportFixedBits(
        caps.cr4Fixed, register: "CR4", names: ControlRegister4.naming,
        fixed0Address: MSR.ia32VMXCR4Fixed0, fixed1Address: MSR.ia32VMXCR4Fixed1, emit: emit)
    reportVMCSEnum(caps, emit: emit)
    reportEPTVPID(caps, emit: emit)
    reportOptionalControls(
        caps.vmFunctionControls, raw: caps.ia32VMXVMFunc, address: MSR.ia32VMXVMFunc, emit: emit)
}

/// "  label" padded to the value column, then `value`.
@inline(never)
func reportLine(_ label: String, _ value: String) -> String {
    let length = label.utf8.count
    let padding = length < reportLabelWidth ? reportLabelWidth - length : 1
    return "  " + label + String(decoding: [UInt8](repeating: UInt8(ascii: " "), count: padding), as: UTF8.self) + value
}

/// "IA32_VMX_BASIC (0x480)".
@inline(never)
func msrLabel(_ address: MSR) -> String {
    String(text: "\(VMXCapabilities.name(ofMSR: address) ?? "MSR") (\(hex: address.rawValue))")
}

@inline(never)
func yesNo(_ flag: Bool) -> String { flag ? "yes" : "no" }

/// A 64-bit MSR value in 16 hex digits.
@inline(never)
func msrValue(_ value: UInt64) -> String { hex(value, digits: 16) }

/// "Pin-based VM-execution controls" from "pin-based VM-execution controls".
@inline(never)
func sentenceCase(_ text: String) -> String {
    var bytes = Array(text.utf8)
    if let first = bytes.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") { bytes[0] = first - 32 }
    return String(decoding: bytes, as: UTF8.self)
}

// MARK: Sections

func reportBasic(_ caps: VMXCapabilities, emit: (String) -> Void) {
    let basic = caps.basic
    emit("Basic VMX information")
    emit(reportLine(msrLabel(MSR.ia32VMXBasic), msrValue(caps.ia32VMXBasic)))
    emit(reportLine("VMCS revision identifier", hex(basic.revisionIdentifier)))
    emit(reportLine("VMCS region size", String(text: "\(basic.vmcsRegionSize) bytes")))
    emit(reportLine("Physical addresses limited to 32 bits", yesNo(basic.physicalAddressesLimitedTo32Bits)))
    emit(reportLine("Dual-monitor treatment of SMIs and SMM", yesNo(basic.supportsDualMonitorTreatment)))
    emit(reportLine("VMCS memory type", String(text: "\(basic.memoryType.rawValue) (\(basic.memoryType.name))")))
    emit(reportLine("INS/OUTS instruction information on exit", yesNo(basic.reportsINSOUTSInformation)))
    emit(reportLine("TRUE capability MSRs (default1 may be 0)", yesNo(basic.hasTrueControls)))
    emit(reportLine("Exception injection without error-code check", yesNo(basic.allowsErrorCodeLessInjection)))
}

/// A control field with a plain capability MSR and, when IA32_VMX_BASIC[55] = 1, a TRUE one.
/// `settings` are the effective ones (TRUE when present).
func reportControls<C: VMXControlField>(
    _ settings: AllowedSettings<C>, plain: UInt64, plainAddress: MSR,
    true trueValue: UInt64?, trueAddress: MSR, emit: (String) -> Void
) {
    emit(sentenceCase(C.fieldName))
    emit(reportLine(msrLabel(plainAddress), msrValue(plain)))
    if let trueValue { emit(reportLine(msrLabel(trueAddress), msrValue(trueValue))) }
    reportControlBits(
        mustBeOne: settings.mustBeOne.mask, mayBeOne: settings.mayBeOne.mask,
        plainMustBeOne: plain & 0xFFFF_FFFF, naming: C.naming, emit: emit)
}

/// A control field whose capability MSR exists only under a condition (SDM A.3.3, A.3.4,
/// A.4.2, A.11).
func reportOptionalControls<C: VMXControlField>(
    _ settings: AllowedSettings<C>, raw: UInt64?, address: MSR, emit: (String) -> Void
) {
    emit(sentenceCase(C.fieldName))
    guard let raw else {
        emit(reportLine(msrLabel(address), "not present"))
        return
    }
    emit(reportLine(msrLabel(address), msrValue(raw)))
    reportControlBits(
        mustBeOne: settings.mustBeOne.mask, mayBeOne: settings.mayBeOne.mask,
        plainMustBeOne: settings.mustBeOne.mask, naming: C.naming, emit: emit)
}

/// Every named bit, and every unnamed bit that may be 1, in ascending order. `plainMustBeOne`
/// is the non-TRUE MSR's allowed 0-settings, to mark default1 controls only the TRUE MSR frees.
/// The reserved default1 bits share one line while all of them are forced to 1, as the SDM
/// lets a processor do (SDM A.2); one that is not is listed on its own.
func reportControlBits(
    mustBeOne: UInt64, mayBeOne: UInt64, plainMustBeOne: UInt64, naming: BitNaming,
    emit: (String) -> Void
) {
    let reservedDefaultOne = naming.defaultOneBits & ~naming.namedMask
    var shown = naming.namedMask | mayBeOne | mustBeOne
    if reservedDefaultOne != 0 && mustBeOne & reservedDefaultOne == reservedDefaultOne {
        emit(reportLine("Reserved bits of the default1 class", ControlBitState.forcedToOne.description))
        shown &= ~reservedDefaultOne
    }
    for bit in 0..<naming.bitWidth where shown & (UInt64(1) << UInt64(bit)) != 0 {
        let state = ControlBitState(bit: bit, mustBeOne: mustBeOne, mayBeOne: mayBeOne)
        var value = state.description
        if state == .allowed && plainMustBeOne & (UInt64(1) << UInt64(bit)) != 0 { value = "allowed (default 1)" }
        emit(reportLine(controlBitLabel(naming, bit: bit), value))
    }
}

func controlBitLabel(_ naming: BitNaming, bit: Int) -> String {
    if let name = naming.sdmName(ofBit: bit) { return name }
    let isDefaultOne = naming.defaultOneBits & (UInt64(1) << UInt64(bit)) != 0
    return isDefaultOne ? String(text: "bit \(bit) (reserved, default1)") : String(text: "bit \(bit) (reserved)")
}

func reportMisc(_ caps: VMXCapabilities, emit: (String) -> Void) {
    let misc = caps.misc
    emit("Miscellaneous data")
    emit(reportLine(msrLabel(MSR.ia32VMXMisc), msrValue(caps.ia32VMXMisc)))
    emit(reportLine("VMX-preemption timer rate (TSC bit)", decimal(misc.preemptionTimerRate)))
    emit(reportLine("Store EFER.LMA into IA-32e mode guest control", yesNo(misc.storesEFERLMA)))
    emit(reportLine("HLT activity state", yesNo(misc.supportsHLTActivityState)))
    emit(reportLine("Shutdown activity state", yesNo(misc.supportsShutdownActivityState)))
    emit(reportLine("Wait-for-SIPI activity state", yesNo(misc.supportsWaitForSIPIActivityState)))
    emit(reportLine("Intel PT in VMX operation", yesNo(misc.supportsIntelPTInVMX)))
    emit(reportLine("RDMSR of IA32_SMBASE in SMM", yesNo(misc.allowsRDMSRofSMBASEInSMM)))
    emit(reportLine("Number of CR3-target values", decimal(misc.cr3TargetCount)))
    emit(reportLine("Recommended maximum MSR-list entries", decimal(misc.maxMSRListEntries)))
    emit(reportLine("IA32_SMM_MONITOR_CTL[2] may be 1", yesNo(misc.allowsSMMMonitorControlBit2)))
    emit(reportLine("VMWRITE to any field (exit information too)", yesNo(misc.allowsVMWRITEToAnyField)))
    emit(reportLine("Zero-length instruction injection", yesNo(misc.allowsZeroLengthInstructionInjection)))
    emit(reportLine("MSEG revision identifier", hex(misc.msegRevisionIdentifier)))
}

func reportFixedBits(
    _ fixed: FixedBits, register: String, names: BitNaming,
    fixed0Address: MSR, fixed1Address: MSR, emit: (String) -> Void
) {
    emit("VMX-fixed bits in " + register)
    emit(reportLine(msrLabel(fixed0Address), msrValue(fixed.fixed0)))
    emit(reportLine(msrLabel(fixed1Address), msrValue(fixed.fixed1)))
    for entry in names.namedBits {
        let value: String
        if fixed.mustBeOne & entry.mask != 0 {
            value = "must be 1"
        } else if fixed.mustBeZero & entry.mask != 0 {
            value = "must be 0"
        } else {
            value = "free"
        }
        emit(reportLine(register + "." + entry.name, value))
    }
    // Unnamed bits: only the unusual cases, as masks (all other unnamed bits must be 0).
    let unnamedMustBeOne = fixed.mustBeOne & ~names.namedMask
    let unnamedFree = fixed.free & ~names.namedMask
    if unnamedMustBeOne != 0 { emit(reportLine("Reserved bits that must be 1", msrValue(unnamedMustBeOne))) }
    if unnamedFree != 0 { emit(reportLine("Reserved bits that may be 1", msrValue(unnamedFree))) }
}

func reportVMCSEnum(_ caps: VMXCapabilities, emit: (String) -> Void) {
    emit("VMCS enumeration")
    emit(reportLine(msrLabel(MSR.ia32VMXVMCSEnum), msrValue(caps.ia32VMXVMCSEnum)))
    let index = caps.vmcsEnum.highestIndex
    emit(reportLine("Highest index in VMCS field encodings", String(text: "\(index) (\(hex: index))")))
}

func reportEPTVPID(_ caps: VMXCapabilities, emit: (String) -> Void) {
    emit("EPT and VPID capabilities")
    guard let capabilities = caps.eptVPIDCapabilities else {
        emit(reportLine(msrLabel(MSR.ia32VMXEPTVPIDCap), "not present"))
        return
    }
    emit(reportLine(msrLabel(MSR.ia32VMXEPTVPIDCap), msrValue(capabilities.rawValue)))
    let flags = capabilities.rawValue & ~EPTVPIDCapabilities.hlatPrefixSizeMask
    let naming = EPTVPIDCapabilities.naming  // built once, not per bit
    let shown = naming.namedMask | flags
    for bit in 0..<64 where shown & (UInt64(1) << UInt64(bit)) != 0 {
        let set = flags & (UInt64(1) << UInt64(bit)) != 0
        emit(reportLine(controlBitLabel(naming, bit: bit), yesNo(set)))
    }
    emit(reportLine("HLAT prefix size", decimal(capabilities.hlatPrefixSize)))
}
