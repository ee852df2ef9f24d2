// Why VMX could not be enabled, each case named after the SDM condition that failed.
import VMX

public enum VMXEnableError: Error, Equatable {
    /// CPUID.1:ECX.VMX[bit 5] = 0 (SDM 24.6).
    case vmxNotSupported
    /// IA32_FEATURE_CONTROL is locked with "enable VMX outside SMX" clear (SDM 24.7).
    case disabledByFirmware(featureControl: UInt64)
    /// WRMSR to IA32_FEATURE_CONTROL did not stick (the MSR stays unlocked or without the bits).
    case featureControlNotWritable(wrote: UInt64, readBack: UInt64)
    /// A bit of CR0 or CR4 that VMX operation requires (IA32_VMX_CRn_FIXED0/1, SDM 24.8) could
    /// not be given to the running kernel: it read back differently after the write.
    case controlRegisterBitNotAccepted(register: ControlRegister, bit: Int, required: Bool)
    /// No 4-KiB-aligned memory of the size IA32_VMX_BASIC reports within the limit.
    case noMemoryForVMXONRegion(size: UInt64, limit: UInt64)
    /// VMXON reported VMfailInvalid (CF = 1) or VMfailValid (ZF = 1) (SDM 31.3 VMXON).
    case vmxonFailed(VMFailure)
    /// VMXOFF reported a failure (SDM 31.3 VMXOFF).
    case vmxoffFailed(VMFailure)

    /// One line that names the failed condition.
    public var description: String {
        switch self {
        case .vmxNotSupported:
            return "VMX not supported: CPUID.1:ECX.VMX[bit 5] = 0"
        case .disabledByFirmware(let value):
            return String(text: "VMX disabled by firmware: IA32_FEATURE_CONTROL = \(hex: value) is locked (bit 0) ")
                + "with \"enable VMX outside SMX\" (bit 2) clear"
        case .featureControlNotWritable(let wrote, let readBack):
            return String(text: "IA32_FEATURE_CONTROL did not accept \(hex: wrote): reads \(hex: readBack)")
        case .controlRegisterBitNotAccepted(let register, let bit, let required):
            // Names compared as enums, not Strings: String equality needs Unicode tables in the kernel.
            let name =
                register == .cr0
                ? "CR0." + ControlRegister0.name(ofBit: bit)
                : "CR4." + ControlRegister4.name(ofBit: bit)
            let fixed = register == .cr0 ? "IA32_VMX_CR0_FIXED" : "IA32_VMX_CR4_FIXED"
            return required
                ? name + " must be 1 in VMX operation (" + fixed + "0) but the kernel cannot set it"
                : name + " must be 0 in VMX operation (" + fixed + "1) but the kernel cannot clear it"
        case .noMemoryForVMXONRegion(let size, let limit):
            return String(text: "no memory for the VMXON region: \(size) bytes, 4-KiB aligned, below \(hex: limit)")
        case .vmxonFailed(let failure):
            return "VMXON failed: " + describe(failure)
        case .vmxoffFailed(let failure):
            return "VMXOFF failed: " + describe(failure)
        }
    }
}

/// "VMfailInvalid (CF = 1)" or "VMfailValid (ZF = 1), error N: description".
public func describe(_ failure: VMFailure) -> String {
    switch failure {
    case .invalid:
        return "VMfailInvalid (CF = 1)"
    case .valid(let error):
        return String(text: "VMfailValid (ZF = 1), VM-instruction error \(error.rawValue): \(error.description)")
    }
}
