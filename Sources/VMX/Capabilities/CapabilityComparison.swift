// Whether two processors report the same VMX capabilities (SDM Appendix A): the MSRs
// `VMXCapabilities.read` reads, in the order it reads them, on the bootstrap processor and on
// another. A processor whose capabilities differ cannot share a VMCS set-up computed for the
// bootstrap processor, so the kernel leaves it out and names the first MSR that differs.

/// The capability MSRs one processor read, in order, with their values.
public struct CapabilityReadings: Sendable, Equatable {
    public var values: [(msr: UInt32, value: UInt64)] = []

    public init() {}

    /// Reads them on the processor `readMSR` reaches.
    public static func read(using readMSR: (MSR) -> UInt64) -> CapabilityReadings {
        var readings = CapabilityReadings()
        _ = VMXCapabilities.read(using: { msr in
            let value = readMSR(msr)
            readings.values.append((msr.rawValue, value))
            return value
        })
        return readings
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.values.count == b.values.count
            && zip(a.values, b.values).allSatisfy { $0.msr == $1.msr && $0.value == $1.value }
    }

    /// The first MSR whose value differs from `reference`'s, or that only one of them read;
    /// nil when they agree.
    public func firstDifference(from reference: CapabilityReadings) -> CapabilityDifference? {
        for index in 0..<max(values.count, reference.values.count) {
            let here = index < values.count ? values[index] : nil
            let there = index < reference.values.count ? reference.values[index] : nil
            guard let here, let there, here.msr == there.msr else {
                let msr = here?.msr ?? there?.msr ?? 0
                return CapabilityDifference(msr: msr, here: nil, there: nil)
            }
            if here.value != there.value {
                return CapabilityDifference(msr: here.msr, here: here.value, there: there.value)
            }
        }
        return nil
    }
}

/// The first capability MSR two processors disagree on.
public struct CapabilityDifference: Sendable, Equatable {
    public var msr: UInt32
    /// Its values here and on the reference processor; nil when only one of them reads it.
    public var here: UInt64?
    public var there: UInt64?

    /// "IA32_VMX_MISC (00000485H) is ... here, ... on cpu 0" (no line end).
    public func describe(into text: inout LogText, reference: StaticString) {
        let name = VMXCapabilities.name(ofMSR: MSR(rawValue: msr)) ?? "an MSR"
        if let here, let there {
            text.append(
                "\(name) (\(hex: msr, digits: 8)) is \(hex: here) here, \(hex: there) on \(reference)")
        } else {
            text.append("\(name) (\(hex: msr, digits: 8)) is read on one of them only")
        }
    }
}
