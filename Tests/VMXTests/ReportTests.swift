// The capability report (SDM Appendix A decoded, in the spirit of QEMU's vmxcap): exact lines
// for the hand-derived profiles of CapabilityReadTests.swift. Values start in column 50.
import Testing
@testable import VMX

/// The report's lines for `caps`.
func reportLines(_ caps: VMXCapabilities) -> [String] {
    var lines: [String] = []
    capabilityReport(caps) { lines.append($0) }
    return lines
}

/// Whether `expected` appears in `lines` as consecutive lines.
func containsRun(_ lines: [String], _ expected: [String]) -> Bool {
    guard expected.count <= lines.count else { return false }
    for start in 0...(lines.count - expected.count) where Array(lines[start..<start + expected.count]) == expected {
        return true
    }
    return false
}

@Suite("Capability report")
struct ReportTests {
    @Test("Penryn-like profile: basic information, pin-based and the start of the primary controls")
    func penrynHead() {
        let lines = reportLines(HandProfiles.penryn)
        #expect(
            Array(lines.prefix(22)) == [
                "Basic VMX information",
                "  IA32_VMX_BASIC (0x480)                          0x0058100000000001",
                "  VMCS revision identifier                        0x1",
                "  VMCS region size                                4096 bytes",
                "  Physical addresses limited to 32 bits           no",
                "  Dual-monitor treatment of SMIs and SMM          no",
                "  VMCS memory type                                6 (WB)",
                "  INS/OUTS instruction information on exit        yes",
                "  TRUE capability MSRs (default1 may be 0)        no",
                "  Exception injection without error-code check    no",
                "Pin-based VM-execution controls",
                "  IA32_VMX_PINBASED_CTLS (0x481)                  0x0000003f00000016",
                "  Reserved bits of the default1 class             forced to 1",
                "  External-interrupt exiting                      allowed",
                "  NMI exiting                                     allowed",
                "  Virtual NMIs                                    allowed",
                "  Activate VMX-preemption timer                   not allowed",
                "  Process posted interrupts                       not allowed",
                "Primary processor-based VM-execution controls",
                "  IA32_VMX_PROCBASED_CTLS (0x482)                 0xf7f9fffe0401e172",
                "  Reserved bits of the default1 class             forced to 1",
                "  Interrupt-window exiting                        allowed"
            ])
    }

    @Test("Penryn-like profile: misc data and CR0 fixed bits")
    func penrynMisc() {
        #expect(
            containsRun(
                reportLines(HandProfiles.penryn),
                [
                    "Miscellaneous data",
                    "  IA32_VMX_MISC (0x485)                           0x0000000000040040",
                    "  VMX-preemption timer rate (TSC bit)             0",
                    "  Store EFER.LMA into IA-32e mode guest control   no",
                    "  HLT activity state                              yes",
                    "  Shutdown activity state                         no",
                    "  Wait-for-SIPI activity state                    no",
                    "  Intel PT in VMX operation                       no",
                    "  RDMSR of IA32_SMBASE in SMM                     no",
                    "  Number of CR3-target values                     4",
                    "  Recommended maximum MSR-list entries            512",
                    "  IA32_SMM_MONITOR_CTL[2] may be 1                no",
                    "  VMWRITE to any field (exit information too)     no",
                    "  Zero-length instruction injection               no",
                    "  MSEG revision identifier                        0x0",
                    "VMX-fixed bits in CR0",
                    "  IA32_VMX_CR0_FIXED0 (0x486)                     0x0000000080000021",
                    "  IA32_VMX_CR0_FIXED1 (0x487)                     0x00000000ffffffff",
                    "  CR0.PE                                          must be 1",
                    "  CR0.MP                                          free",
                    "  CR0.EM                                          free",
                    "  CR0.TS                                          free",
                    "  CR0.ET                                          free",
                    "  CR0.NE                                          must be 1",
                    "  CR0.WP                                          free",
                    "  CR0.AM                                          free",
                    "  CR0.NW                                          free",
                    "  CR0.CD                                          free",
                    "  CR0.PG                                          must be 1",
                    "  Reserved bits that may be 1                     0x000000001ffaffc0"
                ]))
    }

    @Test("Penryn-like profile: missing MSRs say so")
    func penrynTail() {
        let lines = reportLines(HandProfiles.penryn)
        #expect(
            Array(lines.suffix(7)) == [
                "VMCS enumeration",
                "  IA32_VMX_VMCS_ENUM (0x48a)                      0x000000000000002c",
                "  Highest index in VMCS field encodings           22 (0x16)",
                "EPT and VPID capabilities",
                "  IA32_VMX_EPT_VPID_CAP (0x48c)                   not present",
                "VM-function controls",
                "  IA32_VMX_VMFUNC (0x491)                         not present"
            ])
        #expect(lines.contains("  Monitor trap flag                               not allowed"))
        #expect(lines.contains("  CR3-load exiting                                forced to 1"))
        #expect(lines.contains("  IA32_VMX_PROCBASED_CTLS3 (0x492)                not present"))
        #expect(lines.contains("  IA32_VMX_EXIT_CTLS2 (0x493)                     not present"))
        #expect(lines.contains("  CR4.SMXE                                        must be 0"))
        #expect(!lines.contains { $0.hasPrefix("  IA32_VMX_TRUE_") })
    }

    @Test("Full profile: TRUE MSRs, tertiary and secondary exit controls, reserved bits that may be 1")
    func fullControls() {
        let lines = reportLines(HandProfiles.full)
        #expect(
            containsRun(
                lines,
                [
                    "Tertiary processor-based VM-execution controls",
                    "  IA32_VMX_PROCBASED_CTLS3 (0x492)                0x0000010000000011",
                    "  LOADIWKEY exiting                               allowed",
                    "  Enable HLAT                                     not allowed",
                    "  EPT paging-write control                        not allowed",
                    "  Guest-paging verification                       not allowed",
                    "  IPI virtualization                              allowed",
                    "  Virtualize IA32_SPEC_CTRL                       not allowed",
                    "  bit 40 (reserved)                               allowed",
                    "VM-exit controls",
                    "  IA32_VMX_EXIT_CTLS (0x483)                      0x807fffff00036dff",
                    "  IA32_VMX_TRUE_EXIT_CTLS (0x48f)                 0x807fffff00036dfb",
                    "  Reserved bits of the default1 class             forced to 1",
                    "  Save debug controls                             allowed (default 1)",
                    "  Host address-space size                         allowed"
                ]))
        #expect(
            containsRun(
                lines,
                [
                    "Secondary VM-exit controls",
                    "  IA32_VMX_EXIT_CTLS2 (0x493)                     0x0000000000000003",
                    "  Save FRED                                       allowed",
                    "  Load FRED                                       allowed",
                    "  Prematurely busy shadow stack                   not allowed",
                    "VM-entry controls",
                    "  IA32_VMX_ENTRY_CTLS (0x484)                     0x0000ffff000011ff",
                    "  IA32_VMX_TRUE_ENTRY_CTLS (0x490)                0x0000ffff000011fb",
                    "  Reserved bits of the default1 class             forced to 1",
                    "  Load debug controls                             allowed (default 1)",
                    "  IA-32e mode guest                               allowed"
                ]))
        #expect(lines.contains("  Monitor trap flag                               allowed"))
        #expect(lines.contains("  CR3-load exiting                                allowed (default 1)"))
        #expect(lines.contains("  bit 29 (reserved)                               allowed"))
        #expect(lines.contains("  CR4.SMXE                                        free"))
        #expect(lines.contains("  CR4.VMXE                                        must be 1"))
        #expect(lines.contains("  VMX-preemption timer rate (TSC bit)             5"))
    }

    @Test("Full profile: EPT/VPID capabilities and VM functions end the report")
    func fullEPT() {
        let lines = reportLines(HandProfiles.full)
        #expect(
            Array(lines.suffix(24)) == [
                "EPT and VPID capabilities",
                "  IA32_VMX_EPT_VPID_CAP (0x48c)                   0x00000f0106334141",
                "  Execute-only EPT translations                   yes",
                "  Page-walk length 4                              yes",
                "  Page-walk length 5                              no",
                "  EPT memory type UC                              yes",
                "  EPT memory type WB                              yes",
                "  2-MByte EPT pages                               yes",
                "  1-GByte EPT pages                               yes",
                "  INVEPT                                          yes",
                "  Accessed and dirty flags for EPT                yes",
                "  Advanced VM-exit information for EPT violations no",
                "  Supervisor shadow-stack control                 no",
                "  Single-context INVEPT                           yes",
                "  All-context INVEPT                              yes",
                "  INVVPID                                         yes",
                "  Individual-address INVVPID                      yes",
                "  Single-context INVVPID                          yes",
                "  All-context INVVPID                             yes",
                "  Single-context-retaining-globals INVVPID        yes",
                "  HLAT prefix size                                0",
                "VM-function controls",
                "  IA32_VMX_VMFUNC (0x491)                         0x0000000000000001",
                "  EPTP switching                                  allowed"
            ])
        #expect(lines.contains("  Advanced VM-exit information for EPT violations no"))
    }

    @Test("A default1 bit the TRUE MSR frees is listed on its own")
    func freedDefaultOne() {
        var caps = HandProfiles.full
        caps.ia32VMXTruePinbasedCtls = 0x0000_007F_0000_0014
        let lines = reportLines(caps)
        #expect(
            containsRun(
                lines,
                [
                    "Pin-based VM-execution controls",
                    "  IA32_VMX_PINBASED_CTLS (0x481)                  0x0000007f00000016",
                    "  IA32_VMX_TRUE_PINBASED_CTLS (0x48d)             0x0000007f00000014",
                    "  External-interrupt exiting                      allowed",
                    "  bit 1 (reserved, default1)                      allowed (default 1)",
                    "  bit 2 (reserved, default1)                      forced to 1",
                    "  NMI exiting                                     allowed"
                ]))
    }

    @Test("Unnamed EPT/VPID capability bits are shown when set, HLAT prefix size as a number")
    func eptReservedBit() {
        var caps = HandProfiles.full
        caps.ia32VMXEPTVPIDCap = 0x0000_0F01_0633_4141 | UInt64(1) << 60 | UInt64(57) << 48
        let lines = reportLines(caps)
        #expect(
            containsRun(
                lines,
                [
                    "  Single-context-retaining-globals INVVPID        yes",
                    "  bit 60 (reserved)                               yes",
                    "  HLAT prefix size                                57"
                ]))
    }

    @Test("Sections in order; every line short, ASCII, values in one column")
    func layout() {
        let titles = [
            "Basic VMX information", "Pin-based VM-execution controls",
            "Primary processor-based VM-execution controls", "Secondary processor-based VM-execution controls",
            "Tertiary processor-based VM-execution controls", "VM-exit controls", "Secondary VM-exit controls",
            "VM-entry controls", "Miscellaneous data", "VMX-fixed bits in CR0", "VMX-fixed bits in CR4",
            "VMCS enumeration", "EPT and VPID capabilities", "VM-function controls"
        ]
        for caps in [HandProfiles.penryn, HandProfiles.full] {
            let lines = reportLines(caps)
            #expect(lines.filter { !$0.hasPrefix("  ") } == titles)
            for line in lines {
                #expect(line.utf8.count < 100, "too long: \(line)")
                #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "not printable ASCII: \(line)")
                if line.hasPrefix("  ") {
                    let bytes = Array(line.utf8)
                    #expect(
                        bytes.count > 50 && bytes[49] == UInt8(ascii: " ") && bytes[50] != UInt8(ascii: " "),
                        "value not in column 50: \(line)")
                }
            }
        }
        #expect(reportLines(HandProfiles.penryn).count == 184)
        #expect(reportLines(HandProfiles.full).count == 219)
    }
}
