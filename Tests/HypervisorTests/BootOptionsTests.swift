import Testing
@testable import Hypervisor

/// The kernel command line's words (Hypervisor.swift, BootOptions; docs/DEBUGGING.md for gdb).
@Suite struct BootOptionsTests {
    @Test func wordsSetTheirOptionsAndOthersAreIgnored() {
        let options = BootOptions(commandLine: "check-entry  noguests speed=fast")
        #expect(options.checkEntry && !options.runGuests)
        #expect(!options.captureFixture && !options.bench && !options.scenarios && !options.gdb)
    }

    @Test func linuxRelatedWords() {
        let options = BootOptions(commandLine: "nobuiltins after-linux=hello64")
        #expect(!options.runBuiltInGuests && options.runGuests && options.afterLinux == Array("hello64".utf8))
        let plain = BootOptions(commandLine: "")
        #expect(plain.runBuiltInGuests && plain.afterLinux == nil)
    }

    @Test func theLastGdbWordWins() {
        let named = BootOptions(commandLine: "gdb gdb=debug64")
        #expect(named.gdb && named.gdbGuestName == Array("debug64".utf8))
        let every = BootOptions(commandLine: "gdb=debug64 gdb")
        #expect(every.gdb && every.gdbGuestName == nil)
        #expect(!BootOptions(commandLine: "gdbx nogdb").gdb)
    }

    @Test func processorStartUpBadInput() {
        let options = BootOptions(commandLine: "madt-add=1 fault-cpu=2 madt-add=0x9 madt-add=x madt-add=4294967296")
        #expect(options.extraAPICIDs == [1, 9] && options.faultingProcessor == 2)
        let plain = BootOptions(commandLine: "fault-cpu=")
        #expect(plain.extraAPICIDs.isEmpty && plain.faultingProcessor == nil)
    }
}
