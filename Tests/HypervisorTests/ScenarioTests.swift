// The scenario format (docs/SCENARIOS.md): overrides, comments, directives, and one clear
// error naming the line for each kind of bad input.
import Testing
import VMX
@testable import Hypervisor

@Suite struct ScenarioTests {
    @Test func parsesOverridesCommentsAndBlankLines() throws {
        let scenario = try Scenario(
            parsing: """
                # CR3-target count above the maximum
                0x400a = 0x00000005   # CR3-target count

                0x6800 = 0x0000000000000031
                """)
        #expect(
            scenario.overrides == [
                ScenarioOverride(field: .cr3TargetCount, value: 5, line: 2),
                ScenarioOverride(field: .guestCR0, value: 0x31, line: 4)
            ])
    }

    @Test func anEmptyFileMeansTheDefaultSetUp() throws {
        #expect(try Scenario(parsing: "").overrides.isEmpty)
        #expect(try Scenario(parsing: "# nothing\n\n").overrides.isEmpty)
    }

    @Test func readsDirectives() throws {
        let scenario = try Scenario(
            parsing: """
                # accept: vmfail-valid 7
                # accept: vmfail-valid 8
                # bochs-differs: SDM 27.3.1.2 "If the guest will not be in virtual-8086 mode..."
                0x0c00 = 0x8
                """)
        #expect(scenario.acceptedOutcomes == ["vmfail-valid 7", "vmfail-valid 8"])
        #expect(scenario.bochsDiffers == "SDM 27.3.1.2 \"If the guest will not be in virtual-8086 mode...\"")
    }

    /// Physical addresses in the runner's arena hold in both worlds, wherever the arena is.
    @Test func arenaRelativeValuesAddTheArenasBase() throws {
        let scenario = try Scenario(parsing: "0x201a = arena+0x611e\n0x2800 = 0x1000")
        let eptp = try #require(scenario.overrides.first)
        #expect(eptp.relativeToArena && eptp.value == 0x611E)
        #expect(eptp.value(arenaBase: 0x0100_0000) == 0x0100_611E)
        #expect(eptp.value(arenaBase: 0x0DE0_0000) == 0x0DE0_611E)
        #expect(scenario.overrides[1].value(arenaBase: 0x0DE0_0000) == 0x1000)
        #expect(throws: ScenarioError(line: 1, message: "malformed line: expected `0xENCODING = 0xVALUE`")) {
            try Scenario(parsing: "0x201a = arena+611e")
        }
    }

    @Test func acceptsTheHighHalfOfA64BitField() throws {
        let scenario = try Scenario(parsing: "0x2801 = 0xffffffff")
        #expect(scenario.overrides.first?.field.rawValue == 0x2801)
    }

    @Test(arguments: [
        ("0x6800 0x31", "line 1: malformed line: expected `0xENCODING = 0xVALUE`"),
        ("6800 = 0x31", "line 1: malformed line: expected `0xENCODING = 0xVALUE`"),
        ("0x6800 = 31", "line 1: malformed line: expected `0xENCODING = 0xVALUE`"),
        ("0x6800 = 0x31 0x32", "line 1: malformed line: expected `0xENCODING = 0xVALUE`"),
        ("0x68g0 = 0x31", "line 1: malformed encoding `0x68g0`"),
        ("0x6800 = 0x10000000000000000", "line 1: malformed value `0x10000000000000000` (at most 16 hex digits)"),
        ("# ok\n0x1234 = 0x1", "line 2: unknown VMCS field encoding 0x1234"),
        ("0x4003 = 0x1", "line 1: unknown VMCS field encoding 0x4003"),
        ("0x0800 = 0x10000", "line 1: value 0x10000 is wider than the 16-bit field Guest ES selector (0x0800)"),
        (
            "0x4000 = 0x100000000",
            "line 1: value 0x100000000 is wider than the 32-bit field Pin-based VM-execution controls (0x4000)"
        ),
        (
            "0x2801 = 0x100000000",
            "line 1: value 0x100000000 is wider than the 32-bit field VMCS link pointer (high) (0x2801)"
        )
    ])
    func namesTheBadLine(text: String, message: String) {
        #expect(throws: (any Error).self) { try Scenario(parsing: text) }
        do {
            _ = try Scenario(parsing: text)
        } catch {
            #expect(error.description == message)
        }
    }
}
