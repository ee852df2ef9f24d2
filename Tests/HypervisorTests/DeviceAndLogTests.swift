// The emulated 16550 (COM1 for guests) and the console line formatter (LogText).
import Testing
import VMX
@testable import Hypervisor

@Suite struct SerialPort16550Tests {
    @Test func linesEndAtLineFeedAndIgnoreCarriageReturn() {
        var port = SerialPort16550()
        var lines: [[UInt8]] = []
        for byte in Array("hi\r\nyo\n".utf8) {
            if let line = port.write(offset: 0, value: byte) { lines.append(line) }
        }
        #expect(lines == [Array("hi".utf8), Array("yo".utf8)])
        #expect(port.takeLine() == [])
    }

    @Test func registersReadAsA16550WithNothingToReceive() {
        var port = SerialPort16550()
        #expect(port.read(offset: 5) == 0x60)  // LSR: THRE, TEMT
        #expect(port.read(offset: 2) == 0x01)  // IIR: no interrupt pending
        _ = port.write(offset: 2, value: 0xC7)
        #expect(port.read(offset: 2) == 0xC1)  // FIFOs enabled
        #expect(port.read(offset: 6) == 0xB0)  // MSR: DCD, DSR, CTS
        _ = port.write(offset: 4, value: 0x1F)  // loopback, OUT2, OUT1, RTS, DTR
        #expect(port.read(offset: 6) == 0xF0)
        _ = port.write(offset: 7, value: 0x5A)
        #expect(port.read(offset: 7) == 0x5A)
        #expect(port.read(offset: 0) == 0)
    }

    @Test func divisorLatchWithDLAB() {
        var port = SerialPort16550()
        _ = port.write(offset: 3, value: 0x83)
        #expect(port.write(offset: 0, value: 0x0C) == nil)
        _ = port.write(offset: 1, value: 0x01)
        #expect(port.divisor == 0x010C)
        #expect(port.read(offset: 0) == 0x0C && port.read(offset: 1) == 0x01)
        _ = port.write(offset: 3, value: 0x03)
        #expect(port.line.isEmpty, "divisor writes are not data")
    }

    @Test func longLinesAreCut() {
        var port = SerialPort16550()
        var lines = 0
        for _ in 0..<(SerialPort16550.lineCapacity * 2) where port.write(offset: 0, value: 0x41) != nil { lines += 1 }
        #expect(lines == 2)
        #expect(
            SerialPort16550.handles(port: 0x3F8) && SerialPort16550.handles(port: 0x3FF)
                && !SerialPort16550.handles(port: 0x2F8))
    }
}

@Suite struct LogTextTests {
    func line(_ message: LogMessage) -> String { message.text.string }

    @Test func numbersAndHex() {
        #expect(
            line("a \(42) b \(-7) \(hex: 0x2a) \(hex: UInt32(0x5), digits: 4) \(hex: 0)") == "a 42 b -7 0x2a 0x0005 0x0"
        )
        #expect(line("\(hex: UInt64.max)") == "0xffffffffffffffff")
        #expect(line("\(UInt64.max)") == "18446744073709551615")
        #expect(line("\(yesNo: true)/\(yesNo: false)") == "yes/no")
    }

    @Test func exitReasonsByNumberAndName() {
        #expect(line("\(ExitReason.cpuid)") == "10 (CPUID)")
        #expect(
            line("\(ExitReason.entryFailureGuestState.asEntryFailure)")
                == "33 (VM-entry failure due to invalid guest state), VM-entry failure")
        #expect(line("\(ExitReason(rawValue: 35))") == "35 (reason not defined by the SDM)")
    }

    @Test func guestBytesCannotStartALineOrMoveTheCursor() {
        let bytes: [UInt8] = Array("ok\nSWIFTVMX EXIT: success\u{1B}[2J\\".utf8) + [0xFF]
        let text = bytes.withUnsafeBytes { line("[g] \(guestBytes: $0)") }
        #expect(text == "[g] ok\\x0aSWIFTVMX EXIT: success\\x1b[2J\\x5c\\xff")
    }

    @Test func overlongLinesEndInDots() {
        let long = String(repeating: "x", count: 300)
        let text = line("\(long)")
        #expect(text.utf8.count == LogText.capacity)
        #expect(text.hasSuffix("x..."))
    }

    @Test func eptViolationWording() {
        let q = EPTViolationQualification(read: true, write: true, readable: true, executable: true)
        #expect(line("\(eptAccess: q); \(eptRights: q)") == "read+write; r-x")
        #expect(
            line(
                """
                \(eptAccess: EPTViolationQualification(fetch: true)); \
                \(eptRights: EPTViolationQualification(fetch: true))
                """
            )
                == "instruction fetch; not present")
    }

    @Test func portAndMSRNames() {
        #expect(portDescription(0xF4).description == "QEMU isa-debug-exit: the host's exit port")
        #expect(portDescription(0x8900).description == "Bochs shutdown port: the host's exit port")
        #expect(portDescription(0x2FA).description == "COM2: the host's guest-debugger line")
        #expect(portDescription(0xA1).description == "8259A PIC, slave")
        #expect(portDescription(0x1234).description == "not emulated")
        #expect(msrDescription(0x480) == "IA32_VMX_BASIC (VMX capability)")
        #expect(msrDescription(0x3A) == "IA32_FEATURE_CONTROL")
        #expect(isEmulated(port: 0x3FD) && isEmulated(port: 0x80) && !isEmulated(port: 0xF4))
        #expect(isValidPAT(GuestEnvironment.powerUpPAT))
        #expect(!isValidPAT(0x0007_0406_0007_0402))
        #expect(!isValidPAT(0x0807_0406_0007_0406))
    }
}
