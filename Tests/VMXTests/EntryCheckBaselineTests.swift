// The test fixture of the VM-entry checks: a synthetic processor that offers every feature
// the rules know, and a VMCS that is valid on it (a 64-bit guest under a 64-bit host), held
// as a dictionary of field values plus a sparse physical memory. Each rule's test starts from
// this baseline, changes what breaks exactly that rule, and checks the outcome.
import Testing
@testable import VMX

/// A synthetic capability set (not captured from a CPU) that allows every control the rules
/// check, with a few bits held back so the reserved-bit rules can be broken both ways.
enum EntryCheckFixture {
    static let capabilities = VMXCapabilities(
        // Revision 12H; 4096-byte VMCS (44:32); 49 dual-monitor treatment; WB (53:50 = 6); 54;
        // 55 TRUE controls. Bit 56 is 0, so the error-code rules of event injection apply.
        ia32VMXBasic: 0x00DA_1000_0000_0012,
        // Allowed-0: default1 bits 1, 2, 4. Allowed-1: bits 7:0.
        ia32VMXPinbasedCtls: 0x0000_00FF_0000_0016,
        // Allowed-1: all but bits 0 and 18 (so 17 tertiary, 27 MTF, 31 secondary may be 1).
        ia32VMXProcbasedCtls: 0xFFFB_FFFE_0401_E172,
        // Allowed-1: all but bit 24 ("conceal VMX from PT").
        ia32VMXExitCtls: 0xFEFF_FFFF_0003_6DFF,
        // Allowed-1: bits 23:0 but 17 ("conceal VMX from PT").
        ia32VMXEntryCtls: 0x00FD_FFFF_0000_11FF,
        // Rate 5; 5 (LMA store); 8:6 HLT, shutdown, wait-for-SIPI; 4 CR3 targets; 27:25 = 0
        // (512 MSR-list entries); 29 VMWRITE any field. Bit 30 (zero-length injection) is 0.
        ia32VMXMisc: 0x0000_0000_2004_01E5,
        ia32VMXCR0Fixed0: 0x8000_0021, ia32VMXCR0Fixed1: 0xFFFF_FFFF,
        // CR4 must have VMXE; may have bits 24:0 but 15.
        ia32VMXCR4Fixed0: 0x2000, ia32VMXCR4Fixed1: 0x01FF_7FFF,
        ia32VMXVMCSEnum: 0x64,
        // Allowed-1: every named secondary control (all but bit 29).
        ia32VMXProcbasedCtls2: 0xDFFF_FFFF_0000_0000,
        // Execute-only; walk lengths 4 and 5; UC and WB; 2M, 1G; INVEPT; A/D (21); advanced
        // exit information; supervisor shadow stack (23); INVEPT types; INVVPID and its types.
        ia32VMXEPTVPIDCap: 0x0000_0F01_06F3_41C1,
        ia32VMXTruePinbasedCtls: 0x0000_00FF_0000_0016,
        // CR3-load/-store exiting may be 0.
        ia32VMXTrueProcbasedCtls: 0xFFFB_FFFE_0400_6172,
        // "Save debug controls" may be 0.
        ia32VMXTrueExitCtls: 0xFEFF_FFFF_0003_6DFB,
        // "Load debug controls" may be 0.
        ia32VMXTrueEntryCtls: 0x00FD_FFFF_0000_11FB,
        // EPTP switching.
        ia32VMXVMFunc: 0x1,
        // LOADIWKEY exiting, HLAT, EPT paging-write, guest-paging verification, IPI
        // virtualization, virtualize IA32_SPEC_CTRL.
        ia32VMXProcbasedCtls3: 0x9F,
        // Save/load FRED, prematurely busy shadow stack.
        ia32VMXExitCtls2: 0xB)

    static let physicalAddressWidth = 39

    static var features: EntryCheckProcessorFeatures {
        var features = EntryCheckProcessorFeatures()
        // 4 general-purpose and 3 fixed counters.
        features.perfGlobalCtrlValidBits = 0x7_0000_000F
        // TraceEn, OS, User, BranchEn and the address-filter fields (a representative mask).
        features.rtitCtlValidBits = 0x0000_FFFF_0000_2E0F
        // LBREn, OS, USR, CALL_STACK and the branch-type filters 22:16.
        features.lbrCtlValidBits = 0x007F_000F
        features.supportsRTM = true
        features.supportsSGX = true
        return features
    }

    static let currentVMCS: UInt64 = 0x20000
    static let vmxonRegion: UInt64 = 0x21000
}

/// A VMCS as a dictionary of field values and the physical memory around it.
struct TestVMCS: Sendable {
    var fields: [VMCSField: UInt64] = [:]
    /// 8-byte words of physical memory; unset words read as 0.
    var memory: [UInt64: UInt64] = [:]
    var capabilities = EntryCheckFixture.capabilities
    var features = EntryCheckFixture.features
    var physicalAddressWidth = EntryCheckFixture.physicalAddressWidth
    var processorInIA32eMode = true
    var processorInSMM = false
    var msrWriteFaults: (@Sendable (UInt32, UInt64) -> Bool)? = nil

    subscript(field: VMCSField) -> UInt64 {
        get { fields[field] ?? 0 }
        set { fields[field] = newValue }
    }

    mutating func set(_ field: VMCSField, bits: UInt64) { self[field] |= bits }
    mutating func clear(_ field: VMCSField, bits: UInt64) { self[field] &= ~bits }

    /// Writes 8 bytes of physical memory.
    mutating func poke(_ address: UInt64, _ value: UInt64) { memory[address] = value }

    /// Writes a VM-entry MSR-load list at `address` and points the VMCS at it.
    mutating func loadList(at address: UInt64 = 0x30000, _ entries: [(UInt64, UInt64)]) {
        self[.vmEntryMSRLoadAddress] = address
        self[.vmEntryMSRLoadCount] = UInt64(entries.count)
        for (index, entry) in entries.enumerated() {
            poke(address + UInt64(index) * 16, entry.0)
            poke(address + UInt64(index) * 16 + 8, entry.1)
        }
    }

    var input: EntryCheckInput {
        let fields = self.fields
        let memory = self.memory
        return EntryCheckInput(
            capabilities: capabilities, physicalAddressWidth: physicalAddressWidth, linearAddressWidth: 48,
            readField: { fields[$0] ?? 0 },
            readPhysical64: { address in
                // Unaligned reads combine the two words they straddle (little-endian).
                let offset = address & 7
                let low = memory[address - offset] ?? 0
                guard offset != 0 else { return low }
                let high = memory[address - offset + 8] ?? 0
                return low >> (offset * 8) | high << ((8 - offset) * 8)
            },
            currentVMCSPointer: EntryCheckFixture.currentVMCS, vmxonPointer: EntryCheckFixture.vmxonRegion,
            processorInIA32eMode: processorInIA32eMode, processorInSMM: processorInSMM, msrWriteFaults: msrWriteFaults,
            features: features)
    }

    func check() -> EntryCheckReport { checkVMEntry(input) }

    /// A 64-bit guest under a 64-bit host, valid on `EntryCheckFixture`, with most features
    /// on: TPR shadow and APIC virtualization with posted interrupts, EPT with A/D flags,
    /// VPID, unrestricted guest, PML, EPTP switching, VMCS shadowing, EPT-violation #VE,
    /// mode-based execute control and sub-page permissions, I/O and MSR bitmaps, the
    /// preemption timer, and every "load"/"save" of PAT, EFER and IA32_PERF_GLOBAL_CTRL.
    static var baseline: TestVMCS {
        var vmcs = TestVMCS()
        // Pin-based: default1 (1, 2, 4) + external-interrupt exiting, NMI exiting, virtual
        // NMIs, preemption timer, posted interrupts.
        vmcs[.pinBasedVMExecutionControls] = 0x16 | 1 << 0 | 1 << 3 | 1 << 5 | 1 << 6 | 1 << 7
        // Primary: TRUE default1 (1, 4-6, 8, 13, 14, 26) + HLT exiting, tertiary, TPR shadow,
        // I/O bitmaps, MSR bitmaps, secondary.
        vmcs[.primaryProcessorBasedVMExecutionControls] =
            0x0400_6172 | 1 << 7 | 1 << 17 | 1 << 21 | 1 << 25 | 1 << 28 | 1 << 31
        // Secondary: virtualize APIC accesses, EPT, RDTSCP, VPID, unrestricted guest,
        // APIC-register virtualization, virtual-interrupt delivery, VM functions, VMCS
        // shadowing, PML, EPT-violation #VE, mode-based execute, sub-page permissions.
        vmcs[.secondaryProcessorBasedVMExecutionControls] =
            1 << 0 | 1 << 1 | 1 << 3 | 1 << 5 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 13 | 1 << 14
            | 1 << 17 | 1 << 18 | 1 << 22 | 1 << 23
        vmcs[.tertiaryProcessorBasedVMExecutionControls] = 0
        vmcs[.ioBitmapAAddress] = 0x10000
        vmcs[.ioBitmapBAddress] = 0x11000
        vmcs[.msrBitmapsAddress] = 0x12000
        vmcs[.virtualAPICAddress] = 0x13000
        vmcs[.apicAccessAddress] = 0x14000
        vmcs[.postedInterruptNotificationVector] = 0xF2
        vmcs[.postedInterruptDescriptorAddress] = 0x15040
        vmcs[.virtualProcessorIdentifier] = 1
        // WB, page-walk length 4, accessed and dirty flags.
        vmcs[.eptPointer] = 0x16000 | 6 | 3 << 3 | 1 << 6
        vmcs[.pmlAddress] = 0x17000
        vmcs[.vmFunctionControls] = 1
        vmcs[.eptpListAddress] = 0x18000
        vmcs[.vmreadBitmapAddress] = 0x19000
        vmcs[.vmwriteBitmapAddress] = 0x1A000
        vmcs[.virtualizationExceptionInformationAddress] = 0x1B000
        vmcs[.subPagePermissionTablePointer] = 0x1C000
        // Exit: TRUE default1 + host address-space size, load PERF_GLOBAL_CTRL, acknowledge
        // interrupt, save/load PAT, save/load EFER, save preemption timer.
        vmcs[.primaryVMExitControls] =
            0x0003_6DFB | 1 << 9 | 1 << 12 | 1 << 15 | 1 << 18 | 1 << 19 | 1 << 20 | 1 << 21 | 1 << 22
        // Entry: default1 incl. load debug controls + IA-32e mode guest, load PERF_GLOBAL_CTRL,
        // PAT, EFER.
        vmcs[.vmEntryControls] = 0x11FF | 1 << 9 | 1 << 13 | 1 << 14 | 1 << 15

        // Host: 64-bit, paging with PAE.
        vmcs[.hostCR0] = 0x8005_0033
        vmcs[.hostCR3] = 0x1000
        vmcs[.hostCR4] = 0x2020
        vmcs[.hostCSSelector] = 0x08
        vmcs[.hostSSSelector] = 0x10
        vmcs[.hostDSSelector] = 0x10
        vmcs[.hostESSelector] = 0x10
        vmcs[.hostTRSelector] = 0x18
        vmcs[.hostFSBase] = 0
        vmcs[.hostGSBase] = 0xFFFF_8000_0000_0000
        vmcs[.hostTRBase] = 0x6000
        vmcs[.hostGDTRBase] = 0x7000
        vmcs[.hostIDTRBase] = 0x8000
        vmcs[.hostRSP] = 0x9000
        vmcs[.hostRIP] = 0xFFFF_FFFF_8000_1000
        vmcs[.hostIA32PAT] = 0x0007_0406_0007_0406
        vmcs[.hostIA32EFER] = 0xD01
        vmcs[.hostIA32PerfGlobalCtrl] = 0x7_0000_000F

        // Guest: 64-bit mode.
        vmcs[.guestCR0] = 0x8005_0033
        vmcs[.guestCR3] = 0x2000
        vmcs[.guestCR4] = 0x2020
        vmcs[.guestDR7] = 0x400
        vmcs[.guestIA32DebugCtl] = 0
        vmcs[.guestCSSelector] = 0x08
        vmcs[.guestCSLimit] = 0xFFFF_FFFF
        vmcs[.guestCSAccessRights] = 0xA09B  // type 11, S, DPL 0, P, L, G
        for (selector, limit, rights) in [
            (VMCSField.guestSSSelector, VMCSField.guestSSLimit, VMCSField.guestSSAccessRights),
            (.guestDSSelector, .guestDSLimit, .guestDSAccessRights),
            (.guestESSelector, .guestESLimit, .guestESAccessRights),
            (.guestFSSelector, .guestFSLimit, .guestFSAccessRights),
            (.guestGSSelector, .guestGSLimit, .guestGSAccessRights)
        ] {
            vmcs[selector] = 0x10
            vmcs[limit] = 0xFFFF_FFFF
            vmcs[rights] = 0xC093  // type 3, S, DPL 0, P, D/B, G
        }
        vmcs[.guestLDTRAccessRights] = 0x1_0000  // unusable
        vmcs[.guestTRSelector] = 0x18
        vmcs[.guestTRBase] = 0x3000
        vmcs[.guestTRLimit] = 0x67
        vmcs[.guestTRAccessRights] = 0x8B  // type 11 (busy 64-bit TSS), P
        vmcs[.guestGDTRBase] = 0x4000
        vmcs[.guestGDTRLimit] = 0x27
        vmcs[.guestIDTRBase] = 0x5000
        vmcs[.guestIDTRLimit] = 0xFFF
        vmcs[.guestRIP] = 0x1000
        vmcs[.guestRSP] = 0x8000
        vmcs[.guestRFLAGS] = 0x202
        vmcs[.vmcsLinkPointer] = ~0
        vmcs[.guestIA32PAT] = 0x0007_0406_0007_0406
        vmcs[.guestIA32EFER] = 0xD01
        vmcs[.guestIA32PerfGlobalCtrl] = 0
        return vmcs
    }
}

// MARK: Other valid set-ups derived from the baseline

extension TestVMCS {
    /// The guest leaves IA-32e mode: a 32-bit protected-mode guest with PAE paging (its
    /// PDPTEs come from the PDPTE fields, all not present, since EPT is on).
    mutating func make32BitGuest() {
        clear(.vmEntryControls, bits: 1 << 9)
        self[.guestIA32EFER] = 0x001
        self[.guestCSAccessRights] = 0xC09B  // type 11, S, DPL 0, P, D/B, G
    }

    /// Host and guest both 32-bit, executed outside IA-32e mode.
    mutating func make32BitHostAndGuest() {
        make32BitGuest()
        processorInIA32eMode = false
        clear(.primaryVMExitControls, bits: 1 << 9)
        self[.hostIA32EFER] = 0x001
        self[.hostRIP] = 0x1000
    }

    /// A virtual-8086 guest: RFLAGS.VM, segments with base = selector << 4, limit FFFFH and
    /// access rights F3H.
    mutating func makeVirtual8086Guest() {
        make32BitGuest()
        self[.guestRFLAGS] = 0x2_0202
        for register in [SegmentRegister.es, .cs, .ss, .ds, .fs, .gs] {
            let selector = UInt64(0x100 + register.rawValue * 0x10)
            self[register.selectorField] = selector
            self[register.baseField] = selector << 4
            self[register.limitField] = 0xFFFF
            self[register.accessRightsField] = 0xF3
        }
    }

    /// A real-mode guest under "unrestricted guest" (CR0.PE = CR0.PG = 0).
    mutating func makeRealModeGuest() {
        clear(.vmEntryControls, bits: 1 << 9)
        self[.guestCR0] = 0x30  // ET, NE
        self[.guestCR4] = 0x2000
        self[.guestIA32EFER] = 0
        self[.guestRFLAGS] = 0x2
        self[.guestRIP] = 0xFFF0
        for register in [SegmentRegister.es, .cs, .ss, .ds, .fs, .gs] {
            self[register.selectorField] = register == .cs ? 0xF000 : 0
            self[register.baseField] = register == .cs ? 0xF_0000 : 0
            self[register.limitField] = 0xFFFF
            self[register.accessRightsField] = register == .cs ? 0x9B : 0x93
        }
    }

    /// "enable EPT" off, with every control that needs it (unrestricted guest, PML, VM
    /// functions, mode-based execute, sub-page permissions).
    mutating func disableEPT() {
        clear(
            .secondaryProcessorBasedVMExecutionControls, bits: 1 << 1 | 1 << 7 | 1 << 13 | 1 << 17 | 1 << 22 | 1 << 23)
    }

    /// Injects an event (VM-entry interruption information).
    mutating func inject(
        _ vector: UInt8, _ type: InterruptionType,
        errorCode: UInt32? = nil, length: UInt64 = 0
    ) {
        self[.vmEntryInterruptionInformation] = UInt64(
            VMEntryInterruptionInformation(vector: vector, type: type, deliverErrorCode: errorCode != nil).rawValue)
        self[.vmEntryExceptionErrorCode] = UInt64(errorCode ?? 0)
        self[.vmEntryInstructionLength] = length
    }
}

// MARK: One case per broken rule

/// One way to break one rule: the change to the baseline, the rules that necessarily fail
/// with it (ideally none), and the exact outcome.
struct EntryCheckCase: Sendable, CustomTestStringConvertible {
    let rule: String
    let label: String
    let outcome: EntryOutcome
    let alsoFailing: [String]
    let mutate: @Sendable (inout TestVMCS) -> Void

    init(
        _ rule: String, _ label: String, _ outcome: EntryOutcome, alsoFailing: [String] = [],
        _ mutate: @escaping @Sendable (inout TestVMCS) -> Void
    ) {
        self.rule = rule
        self.label = label
        self.outcome = outcome
        self.alsoFailing = alsoFailing
        self.mutate = mutate
    }

    var testDescription: String { rule + " - " + label }

    static let error7 = EntryOutcome.vmfailValid(.entryWithInvalidControlFields)
    static let error8 = EntryOutcome.vmfailValid(.entryWithInvalidHostStateFields)
    static func guest(_ qualification: UInt64 = 0) -> EntryOutcome {
        .entryFailure(.entryFailureGuestState, qualification: qualification)
    }
    static func msrLoad(_ entry: UInt64) -> EntryOutcome {
        .entryFailure(.entryFailureMSRLoading, qualification: entry)
    }

    /// Applies the case to the baseline and checks: exactly `rule` and `alsoFailing` fail,
    /// the earliest of them in rule order is reported first, and the outcome is exact.
    func verify(sourceLocation: SourceLocation = #_sourceLocation) {
        var vmcs = TestVMCS.baseline
        mutate(&vmcs)
        let report = vmcs.check()
        let failing = report.failures.map(\.rule.identifier)
        let expected = Set([rule] + alsoFailing)
        #expect(Set(failing) == expected, "\(report.failures.map(\.description))", sourceLocation: sourceLocation)
        let order = EntryRules.all.map(\.identifier)
        let first = expected.min { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
        #expect(failing.first == first, sourceLocation: sourceLocation)
        #expect(report.outcome == outcome, sourceLocation: sourceLocation)
        #expect(order.contains(rule), "unknown rule \(rule)", sourceLocation: sourceLocation)
    }
}

@Suite struct EntryCheckBaselineTests {
    @Test func fixtureCapabilitiesAreConsistent() {
        #expect(EntryCheckFixture.capabilities.isConsistent)
    }

    @Test func baselinePassesEveryRule() {
        let report = TestVMCS.baseline.check()
        #expect(report.failures.map(\.description) == [])
        #expect(report.outcome == .success)
        #expect(report.succeeds)
    }

    @Test func identifiersAreUniqueAndWellFormed() {
        let identifiers = EntryRules.all.map(\.identifier)
        #expect(Set(identifiers).count == identifiers.count)
        for identifier in identifiers {
            #expect(identifier.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "-" }, "\(identifier)")
        }
    }

    @Test func rulesAreInSDMOrderByClass() {
        // Controls, then host state, then guest state, then MSR loading; sections ascend.
        let order: [EntryRuleClass] = [.controls, .hostState, .guestState, .msrLoading]
        let classes = EntryRules.all.map { order.firstIndex(of: $0.ruleClass)! }
        #expect(classes == classes.sorted())
        let sections = EntryRules.all.map(\.section)
        let numeric = sections.map { $0.split(separator: ".").map { Int($0)! } }
        #expect(numeric == numeric.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func segmentFieldsMatchTheVMCSFieldTable() {
        #expect(SegmentRegister.es.selectorField == .guestESSelector)
        #expect(SegmentRegister.tr.selectorField == .guestTRSelector)
        #expect(SegmentRegister.cs.baseField == .guestCSBase)
        #expect(SegmentRegister.ldtr.baseField == .guestLDTRBase)
        #expect(SegmentRegister.gs.limitField == .guestGSLimit)
        #expect(SegmentRegister.tr.accessRightsField == .guestTRAccessRights)
        #expect(SegmentRegister.ss.accessRightsField.rawValue == 0x4818)
        #expect(SegmentRegister.es.baseField.rawValue == 0x6806)
    }

    @Test func outcomeSummaries() {
        #expect(EntryOutcome.success.summary == "success")
        #expect(EntryOutcome.vmfailValid(.entryWithInvalidControlFields).summary == "vmfail-valid 7")
        #expect(
            EntryOutcome.entryFailure(.entryFailureMSRLoading, qualification: 3).summary == "entry-failure 34 qual 3")
    }

    @Test func failureDescriptionNamesRuleSectionFieldValueAndExpectation() {
        var vmcs = TestVMCS.baseline
        vmcs.clear(.guestCR0, bits: 1 << 5)  // CR0.NE
        let report = vmcs.check()
        #expect(
            report.firstFailure?.description
                == """
                guest.cr0.fixed (SDM 27.3.1.1): Guest CR0 [0x6800] = 0x80050013, expected CR0.NE must be 1 \
                (IA32_VMX_CR0_FIXED0)
                """
        )
        #expect(report.outcome == .entryFailure(.entryFailureGuestState, qualification: 0))
    }

    @Test func stopAtFirstFailureReturnsOnlyTheFirst() {
        var vmcs = TestVMCS.baseline
        vmcs[.cr3TargetCount] = 5
        vmcs[.hostCR3] = 1 << 50
        #expect(vmcs.check().failures.count == 2)
        let first = checkVMEntry(vmcs.input, stopAtFirstFailure: true)
        #expect(first.failures.map(\.rule.identifier) == ["controls.cr3-target-count"])
        #expect(first.outcome == .vmfailValid(.entryWithInvalidControlFields))
    }

    @Test func fieldsOfUnusedFeaturesAreNotRead() {
        // With secondary, tertiary and most features off, VM entry consults neither their
        // controls nor their addresses: a reader that fails on them is never asked.
        var vmcs = TestVMCS.baseline
        vmcs.clear(.primaryProcessorBasedVMExecutionControls, bits: 1 << 31 | 1 << 17 | 1 << 21 | 1 << 25 | 1 << 28)
        vmcs[.pinBasedVMExecutionControls] = 0x16 | 1 << 0 | 1 << 3 | 1 << 5 | 1 << 6
        vmcs.clear(.primaryVMExitControls, bits: 1 << 12 | 1 << 18 | 1 << 19 | 1 << 20 | 1 << 21)
        vmcs.clear(.vmEntryControls, bits: 1 << 13 | 1 << 14 | 1 << 15)
        var input = vmcs.input
        let forbidden: Set<VMCSField> = [
            .secondaryProcessorBasedVMExecutionControls, .tertiaryProcessorBasedVMExecutionControls,
            .ioBitmapAAddress, .ioBitmapBAddress, .msrBitmapsAddress, .virtualAPICAddress, .tprThreshold,
            .apicAccessAddress, .postedInterruptDescriptorAddress, .eptPointer, .pmlAddress, .vmFunctionControls,
            .hostIA32PAT, .hostIA32EFER, .guestIA32PAT, .guestIA32EFER, .guestPDPTE0, .vmExitMSRStoreAddress
        ]
        let read = input.readField
        input.readField = { field in
            #expect(!forbidden.contains(field), "read \(field.name ?? "?")")
            return read(field)
        }
        #expect(checkVMEntry(input).succeeds)
    }
}
