// Guest memory mapped on first touch (`touch=ADDRESS`, EPTExits.swift): EPT enters the pages from
// ADDRESS up to the hypervisor's structures without permissions; the first access to each is an
// EPT violation that maps it, and the guest retries the access. Memory outside the guest's stays
// out of reach, and the hypervisor reaches the untouched pages as the guest's own.
import Foundation
import Testing
import VMX
@testable import EmulatedCPU
@testable import Hypervisor

@Suite struct FirstTouchTests {
    /// Writes three pages above 100000H (the first, a middle one, the last below the structures)
    /// and reads them back; then PRINTs one byte from a page it never touched, which the
    /// hypervisor reads as the guest's (zero) memory.
    static let source = """
        bits 64
        org 0x10000
        %include "guest.inc"
        start:
            mov qword [0x100000], 0x11
            mov qword [0x150008], 0x22
            mov qword [0x1EFFF8], 0x33
            cmp qword [0x100000], 0x11
            jne .bad
            cmp qword [0x150008], 0x22
            jne .bad
            cmp qword [0x1EFFF8], 0x33
            jne .bad
            PRINT "three pages mapped at first touch, contents kept"
            mov rax, HC_PRINT               ; a buffer on a page never touched: reads as zeros
            mov rbx, 0x180000
            mov rcx, 1
            vmcall
            cmp rax, 0
            jne .bad
            cli
            hlt
        .bad:
            PRINT "first-touch memory lost a write"
            cli
            hlt
        """

    static func run(profile: String, commandLine: String) throws -> [String] {
        let image = GuestRunSupport.Image(
            name: "touch", commandLine: "guest name=touch mode=long load=0x10000 " + commandLine,
            bytes: try UntrustedGuestTests.assemble(Self.source), isBuiltIn: false)
        let run = try GuestRunSupport.runHypervisor(profile: profile, images: [image])
        return run.lines.filter { $0.hasPrefix("[touch]") || $0.hasPrefix("guest touch") }.dropFirst().map { $0 }
    }

    @Test func eachPageIsMappedAtItsFirstTouch() throws {
        let lines = try Self.run(profile: "corei7_skylake_x", commandLine: "touch=0x100000")
        #expect(
            lines == [
                "[touch] three pages mapped at first touch, contents kept",
                "[touch] \\x00",  // the untouched page, read by the hypervisor
                // Three EPT violations, two PRINTs, HLT.
                "guest touch stopped: halted (HLT) (6 VM exits)"
            ], "\(lines.joined(separator: "\n"))")
    }

    @Test func withoutTouchTheSameGuestTakesNoEPTViolation() throws {
        let lines = try Self.run(profile: "corei7_skylake_x", commandLine: "")
        #expect(lines.last == "guest touch stopped: halted (HLT) (3 VM exits)", "\(lines.joined(separator: "\n"))")
    }

    /// Pages outside the guest's memory are not reserved: an access there still stops it.
    @Test func memoryBeyondTheGuestsStaysOutOfReach() throws {
        let (vcpu, _) = try DiagnosticsEntryFailureTests.guest(profile: "corei7_skylake_x")
        guard let ept = vcpu.memory.ept else { Issue.record("no EPT"); return }
        #expect(!ept.mapOnFirstTouch(vcpu.memory.size + 0x1000, cpu: vcpu.cpu))
        #expect(!ept.mapOnFirstTouch(0x1_0000, cpu: vcpu.cpu))  // mapped already
        #expect(!ept.mapOnFirstTouch(1 << 48, cpu: vcpu.cpu))
    }
}
