// IA32_VMX_VMCS_ENUM (48AH): VMCS enumeration (SDM A.9).

public struct VMCSEnum: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 9:1: the highest index value in any VMCS field encoding the processor supports
    /// (the index is bits 9:1 of an encoding, SDM Appendix B).
    public var highestIndex: Int { Int((rawValue >> 1) & 0x1FF) }
}
