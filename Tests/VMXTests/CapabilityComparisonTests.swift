// Comparing two processors' VMX capability MSRs (CapabilityComparison.swift): the kernel
// leaves out a processor whose capabilities differ from the bootstrap processor's and names
// the first MSR that does.
import Testing
@testable import VMX

@Suite struct CapabilityComparisonTests {
    static func readings(_ caps: VMXCapabilities) -> CapabilityReadings {
        let cpu = MSRTableProcessor(caps)
        return CapabilityReadings.read(using: { cpu.readMSR($0) })
    }

    static func line(_ difference: CapabilityDifference) -> String {
        var text = LogText()
        difference.describe(into: &text, reference: "cpu 0")
        return String(text: LogMessage(stringInterpolation: text))
    }

    @Test func identicalProcessorsHaveNoDifference() {
        let a = Self.readings(HandProfiles.full), b = Self.readings(HandProfiles.full)
        #expect(a == b)
        #expect(a.values.count == VMXCapabilities.msrAddresses.count)
        #expect(a.firstDifference(from: b) == nil)
    }

    @Test func theFirstDifferingMSRIsNamedWithBothValues() throws {
        var other = HandProfiles.full
        other.ia32VMXMisc ^= 1 << 8  // wait-for-SIPI
        other.ia32VMXEPTVPIDCap = (other.ia32VMXEPTVPIDCap ?? 0) ^ 1
        let difference = try #require(
            Self.readings(other).firstDifference(from: Self.readings(HandProfiles.full)))
        #expect(difference.msr == 0x485)
        #expect(difference.here == HandProfiles.full.ia32VMXMisc ^ (1 << 8))
        #expect(difference.there == HandProfiles.full.ia32VMXMisc)
        #expect(
            Self.line(difference)
                == "IA32_VMX_MISC (0x00000485) is 0x\(String(other.ia32VMXMisc, radix: 16)) here, "
                + "0x\(String(HandProfiles.full.ia32VMXMisc, radix: 16)) on cpu 0")
    }

    @Test func anMSRReadOnOneProcessorOnlyIsADifference() throws {
        // The Penryn-like processor differs in IA32_VMX_BASIC already (bit 55: no TRUE MSRs).
        let here = Self.readings(HandProfiles.penryn), there = Self.readings(HandProfiles.full)
        let difference = try #require(here.firstDifference(from: there))
        #expect(difference.msr == 0x480)
        #expect(difference.here == HandProfiles.penryn.ia32VMXBasic)
        // A list that is a prefix of the other: the first MSR only the longer one read.
        var shorter = there
        shorter.values.removeLast()
        let missing = try #require(shorter.firstDifference(from: there))
        #expect(missing.msr == there.values.last?.msr)
        #expect(missing.here == nil && missing.there == nil)
        #expect(Self.line(missing).hasSuffix(") is read on one of them only"))
    }
}
