// The hypercall ABI's decoding (docs/HYPERCALLS.md) and the CPUID the guest sees.
import Testing
import VMX
import EmulatedCPU
@testable import Hypervisor

@Suite struct HypercallDecodingTests {
    @Test func argumentsAreRBXRCXRDXRSIInSixtyFourBitMode() {
        var r = GuestRegisters()
        r.rax = 1; r.rbx = 0xFFFF_8000_0000_1000; r.rcx = 0x20; r.rdx = 3; r.rsi = 4
        let call = Hypercall.Call(registers: r, in64BitMode: true)
        #expect(call.hypercall == .print)
        #expect(call.arguments.0 == 0xFFFF_8000_0000_1000)
        #expect(call.arguments.1 == 0x20 && call.arguments.2 == 3 && call.arguments.3 == 4)
    }

    @Test func outsideSixtyFourBitModeOnlyLowHalvesCount() {
        var r = GuestRegisters()
        r.rax = 0xDEAD_0000_0000_0002; r.rbx = 0x1234_5678_9ABC_DEF0
        let call = Hypercall.Call(registers: r, in64BitMode: false)
        #expect(call.function == 2)
        #expect(call.hypercall == .shutDown)
        #expect(call.arguments.0 == 0x9ABC_DEF0)
    }

    @Test func unknownFunctionsHaveNoCase() {
        var r = GuestRegisters()
        r.rax = 5
        #expect(Hypercall.Call(registers: r, in64BitMode: true).hypercall == nil)
        r.rax = 0x1_0000_0000
        #expect(Hypercall.Call(registers: r, in64BitMode: true).hypercall == nil)
        #expect(Hypercall.Call(registers: r, in64BitMode: false).hypercall == .getVersion)
    }

    @Test func abiConstants() {
        #expect(Hypercall.abiVersion == 0x0001_0000)
        #expect(Hypercall.signature == 0x584D_5653)  // "SVMX"
        #expect(Hypercall.maximumPrintLength == 256)
        #expect(Hypercall.Status.notPermitted.rawValue == 4)
        #expect(
            [Hypercall.getVersion, .print, .shutDown, .raiseInterrupt, .singleStep].map(\.rawValue) == [0, 1, 2, 3, 4])
    }
}

@Suite struct GuestCPUIDTests {
    static let skylake = ControlSetup(
        capabilities: try! CapabilityProfile.load(named: "corei7_skylake_x").vmxCapabilities!)
    static let penryn = ControlSetup(
        capabilities: try! CapabilityProfile.load(named: "core2_penryn_t9600").vmxCapabilities!)
    static let all = CPUIDResult(eax: 0xFFFF_FFFF, ebx: 0xFFFF_FFFF, ecx: 0xFFFF_FFFF, edx: 0xFFFF_FFFF)

    @Test func leafOneHidesVMXSMXAndXSAVEAndSetsTheHypervisorBit() {
        let r = GuestCPUID.result(
            leaf: 1, subleaf: 0, host: CPUIDResult(eax: 1, ebx: 2, ecx: 0x7FFF_FFFF, edx: 4),
            setup: Self.skylake)
        #expect(r.eax == 1 && r.ebx == 2 && r.edx == 4)
        #expect(r.ecx == 0x7FFF_FFFF & ~(1 << 5 | 1 << 6 | 1 << 12 | 1 << 26 | 1 << 27 | 1 << 28 | 1 << 29) | 1 << 31)
    }

    @Test func vendorLeafSaysSwiftVMX() {
        let r = GuestCPUID.result(leaf: 0x4000_0000, subleaf: 0, host: Self.all, setup: Self.skylake)
        #expect(r.eax == 0x4000_0001)
        let bytes = [r.ebx, r.ecx, r.edx].flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) }
        }
        #expect(String(decoding: bytes.prefix(8), as: UTF8.self) == "SwiftVMX")
        #expect(bytes.suffix(4) == [0, 0, 0, 0])
        let version = GuestCPUID.result(leaf: 0x4000_0001, subleaf: 0, host: Self.all, setup: Self.skylake)
        #expect(version == CPUIDResult(eax: 0x0001_0000, ebx: 0, ecx: 0, edx: 0))
        let beyond = GuestCPUID.result(leaf: 0x4000_00FF, subleaf: 0, host: Self.all, setup: Self.skylake)
        #expect(beyond == CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0))
    }

    @Test func xsaveLeafIsEmptyAndLeafSevenHidesAVX() {
        #expect(
            GuestCPUID.result(leaf: 0xD, subleaf: 1, host: Self.all, setup: Self.skylake)
                == CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0))
        let r = GuestCPUID.result(leaf: 7, subleaf: 0, host: Self.all, setup: Self.skylake)
        #expect(r.ebx & (1 << 5) == 0 && r.ebx & (1 << 16) == 0 && r.ebx & (1 << 10) != 0)
        // Without "enable INVPCID" INVPCID is hidden as well.
        #expect(GuestCPUID.result(leaf: 7, subleaf: 0, host: Self.all, setup: Self.penryn).ebx & (1 << 10) == 0)
        #expect(GuestCPUID.result(leaf: 7, subleaf: 1, host: Self.all, setup: Self.skylake) == Self.all)
    }

    @Test func rdtscpFollowsItsControl() {
        #expect(
            GuestCPUID.result(leaf: 0x8000_0001, subleaf: 0, host: Self.all, setup: Self.skylake).edx == 0xFFFF_FFFF)
        #expect(GuestCPUID.result(leaf: 0x8000_0001, subleaf: 0, host: Self.all, setup: Self.penryn).edx == 0xF7FF_FFFF)
        #expect(GuestCPUID.result(leaf: 0, subleaf: 0, host: Self.all, setup: Self.penryn) == Self.all)
    }
}
