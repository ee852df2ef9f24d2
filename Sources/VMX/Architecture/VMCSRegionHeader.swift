// The first 4 bytes of a VMCS or VMXON region (SDM 25.2, Table 25-1; 25.11.5): the VMCS revision
// identifier in bits 30:0 and the shadow-VMCS indicator in bit 31.

public enum VMCSRegionHeader {
    /// Bits 30:0: the VMCS revision identifier (IA32_VMX_BASIC[30:0]).
    public static let revisionIdentifierMask: UInt32 = 0x7FFF_FFFF
    /// Bit 31: the shadow-VMCS indicator (must be 0 in a VMXON region).
    public static let shadowVMCSIndicator: UInt32 = 1 << 31
}
