// One test per way of breaking each check of VM-entry MSR loading (SDM 27.4): each must fail
// VM entry with basic exit reason 34 and the number of the failing entry as qualification.
import Testing
@testable import VMX

extension EntryCheckCase {
    static let msrLoading: [EntryCheckCase] = [
        .init("msr-load.count.recommended-maximum", "entry 513 of a 512-entry maximum", msrLoad(513)) {
            $0.loadList(Array(repeating: (0x174, 0x10), count: 513))
        },
        .init("msr-load.entry.fs-gs-base", "entry 2 loads IA32_FS_BASE", msrLoad(2)) {
            $0.loadList([(0x174, 0x10), (0xC000_0100, 0), (0x175, 0)])
        },
        .init("msr-load.entry.fs-gs-base", "entry 1 loads IA32_GS_BASE", msrLoad(1)) {
            $0.loadList([(0xC000_0101, 0)])
        },
        .init("msr-load.entry.x2apic", "entry 1 loads the x2APIC TPR (808H)", msrLoad(1)) { $0.loadList([(0x808, 0)]) },
        .init("msr-load.entry.smm-only", "entry 3 loads IA32_SMM_MONITOR_CTL", msrLoad(3)) {
            $0.loadList([(0x174, 0), (0x175, 0), (0x9B, 0)])
        },
        .init("msr-load.entry.reserved", "entry 1 sets bit 32", msrLoad(1)) { $0.loadList([(1 << 32 | 0x174, 0)]) },
        .init("msr-load.entry.wrmsr-faults", "entry 2 writes a value WRMSR refuses", msrLoad(2)) {
            $0.loadList([(0x174, 0), (0x277, 0x0202_0202_0202_0202)])
            $0.msrWriteFaults = { msr, value in msr == 0x277 && value & 0xFF == 2 }
        }
    ]
}

@Suite struct EntryCheckMSRLoadingTests {
    @Test(arguments: EntryCheckCase.msrLoading)
    func brokenRuleIsReportedFirst(_ testCase: EntryCheckCase) { testCase.verify() }

    @Test func validListPasses() {
        var vmcs = TestVMCS.baseline
        vmcs.loadList(Array(repeating: (0x174, 0x10), count: 512))
        #expect(vmcs.check().succeeds)
    }

    @Test func failingEntryIsReportedWithItsAddressAndEveryRuleItBreaks() {
        var vmcs = TestVMCS.baseline
        // Entry 2 both names IA32_FS_BASE and sets reserved bits; entry 3 would fail too.
        vmcs.loadList(at: 0x30000, [(0x174, 0), (1 << 40 | 0xC000_0100, 0), (0x808, 0)])
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["msr-load.entry.fs-gs-base", "msr-load.entry.reserved"])
        #expect(report.failures.map(\.violation.memoryAddress) == [0x30010, 0x30010])
        #expect(report.outcome == EntryCheckCase.msrLoad(2))
    }

    @Test func listIsNotReadWhenItsAddressIsInvalid() {
        var vmcs = TestVMCS.baseline
        vmcs.loadList(at: 0x30000, [(0xC000_0100, 0)])
        vmcs[.vmEntryMSRLoadAddress] = 0x30008
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["controls.entry-msr-load.address"])
    }

    @Test func guestStateFailureComesBeforeMSRLoading() {
        var vmcs = TestVMCS.baseline
        vmcs.loadList([(0xC000_0100, 0)])
        vmcs[.guestRFLAGS] = 0
        let report = vmcs.check()
        #expect(report.failures.map(\.rule.identifier) == ["guest.rflags.reserved", "msr-load.entry.fs-gs-base"])
        #expect(report.outcome == EntryCheckCase.guest())
    }

    @Test func hugeCountStopsAfterTheRecommendedMaximum() {
        // 4G entries of zeros (MSR 0, which loads fine) at 40000H: the area fits the 39-bit
        // width, so the list is processed - and stops at entry 513, after 513 reads of two
        // words each.
        var vmcs = TestVMCS.baseline
        vmcs[.vmEntryMSRLoadCount] = 0xFFFF_FFFF
        vmcs[.vmEntryMSRLoadAddress] = 0x40000
        var reads = 0
        var input = vmcs.input
        let read = input.readPhysical64
        input.readPhysical64 = {
            reads += 1; return read($0)
        }
        #expect(checkVMEntry(input).outcome == EntryCheckCase.msrLoad(513))
        #expect(reads == 2 * 513)
    }
}
