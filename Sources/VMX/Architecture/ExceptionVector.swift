// The architectural exception vectors 0-21 (SDM Vol. 3A 6.3.1, Table 6-1 "Protected-Mode
// Exceptions and Interrupts"), and vector 2, NMI.

public struct ExceptionVector: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// #DE, divide error.
    public static let divideError = Self(rawValue: 0)
    /// #DB, debug exception.
    public static let debug = Self(rawValue: 1)
    /// NMI, non-maskable interrupt.
    public static let nmi = Self(rawValue: 2)
    /// #BP, breakpoint (INT3).
    public static let breakpoint = Self(rawValue: 3)
    /// #OF, overflow (INTO).
    public static let overflow = Self(rawValue: 4)
    /// #BR, BOUND range exceeded.
    public static let boundRangeExceeded = Self(rawValue: 5)
    /// #UD, invalid opcode (undefined opcode).
    public static let invalidOpcode = Self(rawValue: 6)
    /// #NM, device not available (no math coprocessor).
    public static let deviceNotAvailable = Self(rawValue: 7)
    /// #DF, double fault.
    public static let doubleFault = Self(rawValue: 8)
    /// #TS, invalid TSS.
    public static let invalidTSS = Self(rawValue: 10)
    /// #NP, segment not present.
    public static let segmentNotPresent = Self(rawValue: 11)
    /// #SS, stack-segment fault.
    public static let stackSegmentFault = Self(rawValue: 12)
    /// #GP, general protection.
    public static let generalProtection = Self(rawValue: 13)
    /// #PF, page fault.
    public static let pageFault = Self(rawValue: 14)
    /// #MF, x87 FPU floating-point error (math fault).
    public static let x87FloatingPointError = Self(rawValue: 16)
    /// #AC, alignment check.
    public static let alignmentCheck = Self(rawValue: 17)
    /// #MC, machine check.
    public static let machineCheck = Self(rawValue: 18)
    /// #XM, SIMD floating-point exception.
    public static let simdFloatingPointException = Self(rawValue: 19)
    /// #VE, virtualization exception.
    public static let virtualizationException = Self(rawValue: 20)
    /// #CP, control protection exception.
    public static let controlProtection = Self(rawValue: 21)

    /// The vector's bit in the exception bitmap (SDM 25.6.3): an exception with this vector
    /// causes a VM exit when the bit is 1.
    @inline(__always)
    public var exceptionBitmapBit: UInt32 { 1 << UInt32(rawValue) }
}
