// The GDB stub's packets, one test per packet family, against FakeTarget and a scripted
// connection: exact replies, exact effects on the target, and the error replies.
import Testing
@testable import Hypervisor

/// Runs one stop of the stub: gdb's packets (each followed by the acknowledgement of the
/// reply), until a packet resumes the guest or the script ends.
@discardableResult
func serve(
    _ packets: [String], stub: inout GDBStub, target: inout FakeTarget,
    reason: GDBStub.StopReason = .attached
) -> (GDBStub.Resume, ScriptedConnection) {
    var connection = ScriptedConnection(conversation(packets))
    let resume = stub.stopped(reason, target: &target, connection: &connection)
    return (resume, connection)
}

func replies(_ packets: [String], target: inout FakeTarget) -> [String] {
    var stub = GDBStub()
    return serve(packets, stub: &stub, target: &target).1.packets
}

func replies(_ packets: [String], architecture: GDBArchitecture = .x86_64) -> [String] {
    var target = FakeTarget(architecture: architecture)
    return replies(packets, target: &target)
}

@Suite struct GDBStubPacketTests {
    @Test func supportedAndStatus() {
        #expect(
            replies(["qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+", "?"]) == [
                "PacketSize=1000;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+",
                "S05"
            ])
    }

    @Test func threadsAndAttachment() {
        #expect(
            replies([
                "qAttached", "qC", "qfThreadInfo", "qsThreadInfo", "Hg0", "Hc-1", "Hg1", "Hg2",
                "Hx1", "T1", "T2", "qSymbol::", "qTStatus", "vMustReplyEmpty", "qOffsets"
            ]) == [
                "1", "QC1", "m1", "l", "OK", "OK", "OK", "E01", "E01", "OK", "E01", "OK", "", "", ""
            ])
    }

    @Test func unknownPacketsGetTheEmptyReply() {
        #expect(
            replies(["X1000,1:\u{1}", "Z2,1000,4", "qCRC:1000,4", "!", "b9600", "Qfoo"]) == ["", "", "", "", "", ""])
    }

    // MARK: Registers

    /// The `g` reply for `target`; gdb itself sends zeros for unavailable registers in `G`.
    func expectedG(_ target: FakeTarget, unavailable: String = "xx") -> String {
        let layout: [(X86Register?, Int)]
        if target.architecture == .x86_64 {
            layout =
                [
                    (.rax, 8), (.rbx, 8), (.rcx, 8), (.rdx, 8), (.rsi, 8), (.rdi, 8), (.rbp, 8), (.rsp, 8),
                    (.r8, 8), (.r9, 8), (.r10, 8), (.r11, 8), (.r12, 8), (.r13, 8), (.r14, 8), (.r15, 8),
                    (.rip, 8), (.rflags, 4), (.cs, 4), (.ss, 4), (.ds, 4), (.es, 4), (.fs, 4), (.gs, 4)
                ]
                + Array(repeating: (nil, 10), count: 8) + Array(repeating: (nil, 4), count: 8)
                + [(.fsBase, 8), (.gsBase, 8), (.cr0, 8), (.cr2, 8), (.cr3, 8), (.cr4, 8), (.cr8, 8), (.efer, 8)]
        } else {
            layout =
                [
                    (.rax, 4), (.rcx, 4), (.rdx, 4), (.rbx, 4), (.rsp, 4), (.rbp, 4), (.rsi, 4), (.rdi, 4),
                    (.rip, 4), (.rflags, 4), (.cs, 4), (.ss, 4), (.ds, 4), (.es, 4), (.fs, 4), (.gs, 4)
                ]
                + Array(repeating: (nil, 10), count: 8) + Array(repeating: (nil, 4), count: 8)
                + [(.cr0, 8), (.cr2, 8), (.cr3, 8), (.cr4, 8), (.cr8, 8), (.efer, 8)]
        }
        return layout.map { register, bytes in
            guard let register, let value = target.registers[register] else {
                return String(repeating: unavailable, count: bytes)
            }
            return littleEndianHex(value, bytes: bytes)
        }.joined()
    }

    @Test(arguments: [GDBArchitecture.x86_64, .i386, .i8086])
    func readAllRegisters(architecture: GDBArchitecture) {
        var target = FakeTarget(architecture: architecture)
        target.registers[.r15] = nil  // unavailable: shown as xx
        let reply = replies(["g"], target: &target)
        #expect(reply == [expectedG(target)])
        #expect(reply[0].count == 2 * (architecture == .x86_64 ? 340 : 224))
    }

    @Test func writeAllRegisters() {
        var target = FakeTarget()
        var changed = FakeTarget()
        for register in X86Register.allCases { changed.registers[register] = 0xA5A5_0000 + UInt64(register.rawValue) }
        let g = expectedG(changed, unavailable: "00")
        #expect(replies(["G" + g, "g"], target: &target) == ["OK", expectedG(changed)])
        // 32-bit slots keep the low half.
        #expect(target.registers[.rflags] == 0xA5A5_0000 + UInt64(X86Register.rflags.rawValue))
        #expect(target.registers[.rax] == 0xA5A5_0000)
    }

    @Test func malformedRegisterWritesChangeNothing() {
        var target = FakeTarget()
        let before = target.registers
        let g = expectedG(target, unavailable: "00")
        let bad = [
            "G", "G" + g.dropLast(2), "G" + g + "00", "G" + "zz" + g.dropFirst(2),
            "P", "P10", "P10=", "P10=12", "P10=123456789abcdef0aa", "Pzz=00", "P99=00",
            "P10=zz3456789abcdef0", "p", "p99", "pzz", "p10x"
        ]
        #expect(replies(bad, target: &target) == Array(repeating: "E01", count: bad.count))
        #expect(target.registers == before)
    }

    @Test func oneRegister() {
        var target = FakeTarget()
        // amd64 numbers: 0 rax, 2 rcx, 7 rsp, 16 rip, 17 eflags, 18 cs, 24 st0, 40 fs_base, 42 cr0, 47 efer.
        let reply = replies(
            [
                "p0", "p2", "p7", "p10", "p11", "p12", "p18", "p2a", "p2f",
                "P0=efcdab8967452301", "p0", "P11=46020000", "p11", "P18=00000000000000000000"
            ],
            target: &target)
        #expect(
            reply == [
                littleEndianHex(0x1111_1111_1111_1111, bytes: 8),
                littleEndianHex(0x2222_2222_2222_2222, bytes: 8),
                littleEndianHex(0x5555_5555_5555_5555, bytes: 8),
                "0010000000000000",
                "02020000",
                "08000000",
                String(repeating: "x", count: 20),
                littleEndianHex(0x1111_1111_1111_1111 &* 27, bytes: 8),
                littleEndianHex(0x1111_1111_1111_1111 &* 32, bytes: 8),
                "OK", "efcdab8967452301", "OK", "46020000",
                "E16"  // st0 is not available to write
            ])
        #expect(target.registers[.rax] == 0x0123_4567_89AB_CDEF)
        #expect(target.registers[.rflags] == 0x246)
    }

    @Test func refusedRegisterWrite() {
        var target = FakeTarget()
        target.refusedWrites = [.cs]
        #expect(
            replies(["P12=10000000", "G" + expectedG(target, unavailable: "00")], target: &target) == ["E16", "E16"])
    }

    @Test func i386Numbers() {
        var target = FakeTarget(architecture: .i386)
        // i386 numbers: 0 eax, 1 ecx, 4 esp, 8 eip, 9 eflags, 10 cs, 32 cr0.
        #expect(
            replies(["p1", "p4", "p8", "p9", "p20", "P8=00700000", "p8"], target: &target) == [
                "22222222", "55555555", "00100000", "02020000", littleEndianHex(0x1111_1111_1111_1111 &* 27, bytes: 8),
                "OK", "00700000"
            ])
        #expect(target.registers[.rip] == 0x7000)
    }

    // MARK: Memory

    @Test func readMemory() {
        var target = FakeTarget()
        for index in 0..<16 { target.memory[index] = UInt8(index * 17) }
        #expect(
            replies(
                [
                    "m1000,4", "m100c,4", "M1002,2:abcd", "m1000,4", "m1ffe,4", "m2000,1", "m0,1",
                    "mffffffffffffffff,1"
                ], target: &target) == [
                    "00112233", "ccddeeff", "OK", "0011abcd",
                    "9090",  // a partial read at the end of memory
                    "E0e", "E0e", "E0e"
                ])
    }

    @Test func malformedMemoryPackets() {
        var target = FakeTarget()
        let packets = [
            "m", "m1000", "m1000,", "m,4", "m1000,0", "m1000,4x", "mzz,4", "m1000,10001",
            "m10000000000000000,1", "mffffffffffffffff,2", "M1000,2:00", "M1000,1:0000",
            "M1000,1", "M1000,1:zz", "M1000,0:", "Mffffffffffffffff,2:0000", "M1000,1:0g"
        ]
        #expect(replies(packets, target: &target) == Array(repeating: "E01", count: packets.count))
        #expect(target.memoryWrites == 0)
    }

    @Test func writeMemoryThatEPTRefuses() {
        var target = FakeTarget()
        target.readOnly = 0x1002..<0x1003
        #expect(replies(["M1000,4:01020304", "m1000,4", "M1fff,2:0102"], target: &target) == ["E0e", "01029090", "E0e"])
    }

    @Test func longReadIsCutToThePacketSize() {
        var target = FakeTarget()
        target.memory = [UInt8](repeating: 0xAB, count: 0x2000)
        let reply = replies(["m1000,1000"], target: &target)
        #expect(reply == [String(repeating: "ab", count: 2046)])
    }

    // MARK: Breakpoints

    @Test func softwareBreakpoints() {
        var target = FakeTarget()
        target.memory[0x10] = 0x55
        var stub = GDBStub()
        let (_, first) = serve(
            ["Z0,1010,1", "Z0,1010,1", "m1010,1", "M1010,1:56", "m1010,1", "c"], stub: &stub, target: &target)
        #expect(first.packets == ["OK", "OK", "55", "OK", "56"])
        #expect(target.byte(at: 0x1010) == 0xCC)
        #expect(stub.ownsSoftwareBreakpoint(at: 0x1010))
        #expect(!stub.ownsSoftwareBreakpoint(at: 0x1011))
        #expect(stub.softwareBreakpoints.count == 1)
        let (_, second) = serve(
            ["z0,1010,1", "m1010,1", "z0,1010,1"], stub: &stub, target: &target, reason: .softwareBreakpoint)
        #expect(second.packets == ["T05swbreak:;", "OK", "56", "OK"])
        #expect(target.byte(at: 0x1010) == 0x56)
        #expect(stub.softwareBreakpoints.isEmpty)
    }

    @Test func softwareBreakpointReplies() {
        var target = FakeTarget()
        #expect(
            replies(
                [
                    "Z0,1010,1", "m1010,1", "Z0,5000,1", "Z0,1010,2", "Z0,1010", "Z0,,1", "Z0,1010,1;X1,ff",
                    "Z9,1010,1", "z0,1020,1"
                ], target: &target) == [
                    "OK", "90", "E0e", "E01", "E01", "E01", "OK", "", "OK"
                ])
    }

    @Test func breakpointTableIsBounded() {
        var target = FakeTarget()
        let packets = (0..<65).map { "Z0,\(String(0x1000 + $0, radix: 16)),1" }
        let reply = replies(packets, target: &target)
        #expect(reply == Array(repeating: "OK", count: 64) + ["E1c"])
    }

    @Test func hardwareBreakpoints() {
        var target = FakeTarget()
        var stub = GDBStub()
        let (_, connection) = serve(
            [
                "Z1,1000,1", "Z1,1004,1", "Z1,1004,1", "Z1,1008,1", "Z1,100c,1", "Z1,1010,1",
                "z1,1004,1", "z1,1004,1", "Z1,1010,1", "c"
            ], stub: &stub, target: &target)
        #expect(connection.packets == ["OK", "OK", "OK", "OK", "OK", "E1c", "OK", "OK", "OK"])
        #expect(target.hardwareBreakpoints == [0x1000, 0x1008, 0x100C, 0x1010])
        #expect(stub.hardwareBreakpoints == [0x1000, 0x1008, 0x100C, 0x1010])
    }

    @Test func detachRemovesEveryBreakpoint() {
        var target = FakeTarget()
        target.memory[0x20] = 0x12
        var stub = GDBStub()
        let (resume, connection) = serve(["Z0,1020,1", "Z1,1030,1", "D"], stub: &stub, target: &target)
        #expect(resume == .detach)
        #expect(connection.packets == ["OK", "OK", "OK"])
        #expect(target.byte(at: 0x1020) == 0x12)
        #expect(target.hardwareBreakpoints.isEmpty)
        #expect(stub.softwareBreakpoints.isEmpty && stub.hardwareBreakpoints.isEmpty)
    }

    // MARK: Running

    @Test func resumeActions() {
        let cases: [(String, GDBStub.Resume)] = [
            ("c", .continue), ("s", .step), ("C05", .continue), ("S0b", .step), ("vCont;c", .continue),
            ("vCont;s:1", .step), ("vCont;s:1;c", .step), ("vCont;C05:1;c", .continue), ("vCont;c:-1", .continue),
            ("vCont;S02", .step), ("D", .detach), ("D;1", .detach), ("k", .kill), ("vKill;1", .kill)
        ]
        for (packet, expected) in cases {
            var target = FakeTarget()
            var stub = GDBStub()
            let (resume, _) = serve([packet], stub: &stub, target: &target)
            #expect(resume == expected, "\(packet)")
        }
    }

    @Test func resumeRepliesAndAddresses() {
        var target = FakeTarget()
        var stub = GDBStub()
        let (resume, connection) = serve(["vCont?", "c2000"], stub: &stub, target: &target)
        #expect(resume == .continue)
        #expect(connection.packets == ["vCont;c;C;s;S"])  // c has no reply until the guest stops
        #expect(target.registers[.rip] == 0x2000)
        let (step, _) = serve(["s1234"], stub: &stub, target: &target)
        #expect(step == .step)
        #expect(target.registers[.rip] == 0x1234)
        #expect(
            replies(["vCont;x", "vCont;s:2", "vCont;", "vCont;c:", "vCont;Czz", "cxyz", "c12,4", "C", "Czz"])
                == Array(repeating: "E01", count: 9))
        #expect(replies(["k"]) == [])  // k has no reply
    }

    @Test func stopRepliesAfterResume() {
        let cases: [(GDBStub.StopReason, String)] = [
            (.softwareBreakpoint, "T05swbreak:;"), (.hardwareBreakpoint, "T05hwbreak:;"), (.step, "S05"),
            (.interrupted, "S02"), (.halted, "S05"), (.exited(code: 0), "W00"), (.terminated(signal: 11), "X0b")
        ]
        for (reason, expected) in cases {
            var target = FakeTarget()
            var stub = GDBStub()
            serve(["c"], stub: &stub, target: &target)
            switch reason {
            case .exited, .terminated:
                // The guest is gone: the stub says so, takes the acknowledgement and reads no more.
                var connection = ScriptedConnection(Array("+$?#3f+".utf8))
                let resume = stub.stopped(reason, target: &target, connection: &connection)
                #expect(resume == .kill)
                #expect(connection.packets == [expected])
                #expect(connection.position == 1)
            default:
                let (resume, connection) = serve(["?"], stub: &stub, target: &target, reason: reason)
                #expect(connection.packets == [expected, expected], "\(reason)")
                #expect(resume == .detach)  // the script ended: the connection is gone
            }
        }
    }

    @Test func noStopReplyWithoutAResume() {
        var target = FakeTarget()
        var stub = GDBStub()
        let (_, connection) = serve([], stub: &stub, target: &target, reason: .softwareBreakpoint)
        #expect(connection.output.isEmpty)
    }

    @Test func interruptWhileRunning() {
        var target = FakeTarget()
        var stub = GDBStub()
        serve(["c"], stub: &stub, target: &target)
        var quiet = ScriptedConnection(Array("+".utf8))
        let none = stub.interruptRequested(&quiet)
        var connection = ScriptedConnection([0x03])
        let interrupt = stub.interruptRequested(&connection)
        let again = stub.interruptRequested(&connection)
        #expect(!none && interrupt && !again)
        let (_, stop) = serve([], stub: &stub, target: &target, reason: .interrupted)
        #expect(stop.packets == ["S02"])
    }

    @Test func killRemovesBreakpoints() {
        var target = FakeTarget()
        target.memory[0] = 0x31
        var stub = GDBStub()
        let (resume, connection) = serve(["Z0,1000,1", "vKill;1"], stub: &stub, target: &target)
        #expect(resume == .kill)
        #expect(connection.packets == ["OK", "OK"])
        #expect(target.byte(at: 0x1000) == 0x31)
    }

    @Test func lostConnectionDetaches() {
        var target = FakeTarget()
        target.memory[0] = 0x31
        var stub = GDBStub()
        var connection = ScriptedConnection(framed("Z0,1000,1") + Array("+".utf8) + Array("$m10".utf8))
        let resume = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(resume == .detach)
        #expect(target.byte(at: 0x1000) == 0x31)
    }
}
