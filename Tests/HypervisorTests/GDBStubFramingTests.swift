// The GDB stub's framing (checksums, acknowledgements, escapes, overlong packets), its target
// descriptions, and fuzz-like input: random bytes and mutated packets, which must never trap
// and must always be answered in well-formed packets.
import Foundation
import Testing
@testable import Hypervisor

@Suite struct GDBStubFramingTests {
    func feed(_ text: [UInt8], into reader: inout GDBPacketReader) -> [GDBPacketReader.Event] {
        text.map { reader.feed($0) }.filter { $0 != .none }
    }

    @Test func readerEvents() {
        var reader = GDBPacketReader()
        #expect(
            feed(Array("+-".utf8) + [0x03] + Array("xyz$g#67".utf8), into: &reader) == [.ack, .nak, .interrupt, .packet]
        )
        #expect(reader.packet == Array("g".utf8))
        #expect(feed(Array("$g#68".utf8), into: &reader) == [.badChecksum])
        #expect(feed(Array("$g#6".utf8) + Array("Z".utf8), into: &reader) == [.badChecksum])
        #expect(feed(Array("$g#G7".utf8), into: &reader) == [.badChecksum])
        // Upper-case checksum digits are accepted; `$` inside a packet starts over.
        #expect(feed(Array("$m1$qC#B4".utf8), into: &reader) == [.packet])
        #expect(reader.packet == Array("qC".utf8))
        // 03H inside a packet is data, not an interrupt.
        #expect(feed(Array("$".utf8) + [0x03] + Array("#03".utf8), into: &reader) == [.packet])
        #expect(reader.packet == [0x03])
    }

    @Test func escapes() {
        var reader = GDBPacketReader()
        // "X}\u{3}" carries X, then '#' escaped as "}\u{03}"; the checksum covers the escape bytes as sent.
        let data: [UInt8] = Array("M1000,1:".utf8) + [0x7D, 0x03]
        let sum = data.reduce(UInt8(0), &+)
        #expect(feed(Array("$".utf8) + data + Array("#".utf8) + Array(hex2(sum).utf8), into: &reader) == [.packet])
        #expect(reader.packet == Array("M1000,1:#".utf8))
    }

    @Test func overlongPacketIsChecksummedAndRefused() {
        var reader = GDBPacketReader()
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: GDBPacketReader.capacity + 100)
        let sum = data.reduce(UInt8(0), &+)
        #expect(feed(Array("$".utf8) + data + Array("#".utf8) + Array(hex2(sum).utf8), into: &reader) == [.packet])
        #expect(reader.overflowed)
        #expect(reader.packet.count == GDBPacketReader.capacity)
        var target = FakeTarget()
        var stub = GDBStub()
        var connection = ScriptedConnection(
            Array("$".utf8) + data + Array("#".utf8) + Array(hex2(sum).utf8) + Array("+".utf8) + conversation(["?"]))
        _ = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(connection.packets == ["E01", "S05"])
    }

    @Test func acknowledgementsAndResend() {
        var target = FakeTarget()
        var stub = GDBStub()
        // A bad checksum gets '-', the good copy '+'; the reply is resent after gdb's '-'.
        var connection = ScriptedConnection(Array("$?#00".utf8) + framed("?") + Array("-+".utf8))
        _ = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(connection.acknowledgements == "-+")
        #expect(connection.packets == ["S05", "S05"])
    }

    @Test func replyGivesUpAfterEightRefusals() {
        var target = FakeTarget()
        var stub = GDBStub()
        var connection = ScriptedConnection(framed("?") + Array("--------".utf8) + conversation(["qC"]))
        _ = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(connection.packets == Array(repeating: "S05", count: 8) + ["QC1"])
    }

    @Test func packetInsteadOfAcknowledgement() {
        var target = FakeTarget()
        var stub = GDBStub()
        // gdb sends the next packet without acknowledging the reply: it counts as the acknowledgement.
        var connection = ScriptedConnection(framed("qC") + framed("?") + Array("+".utf8))
        _ = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(connection.packets == ["QC1", "S05"])
        #expect(connection.acknowledgements == "++")
    }

    @Test func noAcknowledgementMode() {
        var target = FakeTarget()
        var stub = GDBStub()
        var connection = ScriptedConnection(
            framed("QStartNoAckMode") + Array("+".utf8) + framed("qC") + framed("?") + framed("c"))
        let resume = stub.stopped(.attached, target: &target, connection: &connection)
        #expect(resume == .continue)
        #expect(connection.packets == ["OK", "QC1", "S05"])
        #expect(connection.acknowledgements == "+")  // only the QStartNoAckMode packet was acknowledged
    }

    // MARK: Target descriptions

    func description(_ architecture: GDBArchitecture, chunk: Int) -> (String, [String]) {
        var target = FakeTarget(architecture: architecture)
        var packets: [String] = []
        var offset = 0
        var text = ""
        var chunks: [String] = []
        repeat {
            packets = ["qXfer:features:read:target.xml:\(String(offset, radix: 16)),\(String(chunk, radix: 16))"]
            let reply = replies(packets, target: &target)[0]
            chunks.append(reply)
            text += reply.dropFirst()
            offset += reply.count - 1
        } while chunks.last!.first == "m" && chunks.count < 100
        return (text, chunks)
    }

    @Test func targetDescriptionInChunks() {
        let whole = String(decoding: GDBTargetDescription.xml(for: .x86_64), as: UTF8.self)
        let (text, chunks) = description(.x86_64, chunk: 0x100)
        #expect(text == whole)
        #expect(chunks.last!.first == "l")
        #expect(chunks.dropLast().allSatisfy { $0.first == "m" && $0.count == 0x101 })
        #expect(
            whole.hasPrefix(
                """
                <?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target \
                version=\"1.0\"><architecture>i386:x86-64</architecture><osabi>none</osabi><feature \
                name=\"org.gnu.gdb.i386.core\"><flags id=\"i386_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" \
                end=\"0\"/>
                """
            ))
        #expect(
            whole.contains(
                "<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/><reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"))
        #expect(
            whole.contains(
                """
                <reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/><reg name=\"eflags\" bitsize=\"32\" \
                type=\"i386_eflags\"/><reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>
                """
            ))
        #expect(whole.contains("<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"))
        #expect(
            whole.contains(
                """
                </feature><feature name=\"org.gnu.gdb.i386.segments\"><reg name=\"fs_base\" bitsize=\"64\" \
                type=\"int\"/><reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/></feature>
                """
            ))
        #expect(
            whole.hasSuffix(
                """
                <feature name=\"org.swiftvmx.x86.control\"><reg name=\"cr0\" bitsize=\"64\" type=\"int64\" \
                group=\"system\"/><reg name=\"cr2\" bitsize=\"64\" type=\"int64\" group=\"system\"/><reg \
                name=\"cr3\" bitsize=\"64\" type=\"int64\" group=\"system\"/><reg name=\"cr4\" bitsize=\"64\" \
                type=\"int64\" group=\"system\"/><reg name=\"cr8\" bitsize=\"64\" type=\"int64\" \
                group=\"system\"/><reg name=\"efer\" bitsize=\"64\" type=\"int64\" \
                group=\"system\"/></feature></target>
                """
            ))
        // The registers appear in layout order, one <reg> per slot.
        #expect(whole.components(separatedBy: "<reg ").count - 1 == GDBRegisterLayout.x86_64.count)
    }

    @Test func targetDescriptionFollowsTheGuestMode() {
        let i386 = description(.i386, chunk: 0x400).0
        let i8086 = description(.i8086, chunk: 0x400).0
        #expect(i386.contains("<architecture>i386</architecture>"))
        #expect(i8086.contains("<architecture>i8086</architecture>"))
        #expect(
            i386.contains(
                "<reg name=\"eax\" bitsize=\"32\" type=\"int32\"/><reg name=\"ecx\" bitsize=\"32\" type=\"int32\"/>"))
        #expect(!i386.contains("fs_base"))
        #expect(i386.components(separatedBy: "<reg ").count - 1 == GDBRegisterLayout.i386.count)
        // A guest that changes mode gets the new description.
        var target = FakeTarget(architecture: .i8086)
        var stub = GDBStub()
        serve(["qXfer:features:read:target.xml:0,40"], stub: &stub, target: &target)
        target.architecture = .x86_64
        let (_, connection) = serve(["qXfer:features:read:target.xml:a0,20"], stub: &stub, target: &target)
        #expect(
            connection.packets == [
                "m"
                    + String(
                        String(decoding: GDBTargetDescription.xml(for: .x86_64), as: UTF8.self).dropFirst(0xA0).prefix(
                            0x20))
            ])
    }

    @Test func targetDescriptionErrors() {
        let size = GDBTargetDescription.xml(for: .x86_64).count
        #expect(
            replies([
                "qXfer:features:read:target.xml:\(String(size, radix: 16)),10",
                "qXfer:features:read:target.xml:\(String(size + 1, radix: 16)),10",
                "qXfer:features:read:other.xml:0,10", "qXfer:features:read:target.xml:0",
                "qXfer:features:read:target.xml:,10",
                "qXfer:features:read:target.xml:0,10x"
            ]) == ["l", "E16", "E01", "E01", "E01", "E01"])
    }

    // MARK: Fuzz

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(state: 0x5EED_0001)
        let alphabet = Array("$#+-}*0123456789abcdefABCDEFmMgGpPzZcCsSqQvDkHT?:,;=xX".utf8) + [0x03, 0x00, 0xFF]
        for _ in 0..<200 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...400, using: &generator) {
                input.append(
                    Bool.random(using: &generator)
                        ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator))
            }
            var target = FakeTarget()
            var stub = GDBStub()
            var connection = ScriptedConnection(input)
            _ = stub.stopped(.attached, target: &target, connection: &connection)
            for packet in connection.packets { #expect(packet != "<bad checksum>") }
            #expect(stub.softwareBreakpoints.isEmpty)  // the stream ended: everything removed
        }
    }

    @Test func mutatedPacketsGetWellFormedReplies() {
        var generator = SplitMix64(state: 0x5EED_0002)
        let seeds = [
            "g", "G" + String(repeating: "00", count: 340), "p10", "P10=0011223344556677", "m1000,10",
            "M1000,4:01020304", "Z0,1010,1", "z0,1010,1", "Z1,1000,1", "z1,1000,1", "qSupported:swbreak+",
            "qXfer:features:read:target.xml:0,ffb", "vCont;s:1;c", "vCont?", "Hg1", "T1", "qC", "?",
            "qfThreadInfo", "QStartNoAckMode"
        ]
        let special = Array("$#}*:,;=-".utf8)
        var handled = 0
        for round in 0..<3000 {
            var packet = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = packet.isEmpty ? 0 : Int.random(in: 0..<packet.count, using: &generator)
                switch Int.random(in: 0..<5, using: &generator) {
                case 0 where !packet.isEmpty: packet.remove(at: position)
                case 1: packet.insert(special.randomElement(using: &generator)!, at: position)
                case 2 where !packet.isEmpty: packet[position] = UInt8.random(in: 0x20...0x7E, using: &generator)
                case 3:
                    packet.insert(
                        contentsOf: Array("ffffffffffffffffff".utf8.prefix(Int.random(in: 1...18, using: &generator))),
                        at: position)
                default: packet = Array(packet.prefix(position))
                }
            }
            // A correct checksum, so that the mutated packet reaches the handlers. `$`, `#` and `}`
            // inside are escaped as gdb would.
            var data: [UInt8] = []
            for byte in packet {
                if byte == UInt8(ascii: "$") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "}") {
                    data += [UInt8(ascii: "}"), byte ^ 0x20]
                } else {
                    data.append(byte)
                }
            }
            let sum = data.reduce(UInt8(0), &+)
            var target = FakeTarget()
            var stub = GDBStub()
            let memory = target.memory
            var connection = ScriptedConnection(
                Array("$".utf8) + data + Array("#".utf8) + Array(hex2(sum).utf8) + Array("+".utf8))
            let resume = stub.stopped(.attached, target: &target, connection: &connection)
            handled += stub.packetsHandled
            for reply in connection.packets {
                #expect(reply != "<bad checksum>")
                // An error is "E" and two hex digits; nothing else starts with E here.
                if reply.hasPrefix("E") {
                    #expect(reply.count == 3 && reply.dropFirst().allSatisfy(\.isHexDigit), "\(reply)")
                }
            }
            if resume == .detach && !String(decoding: packet, as: UTF8.self).hasPrefix("M") {
                #expect(target.memory == memory, "packet \(String(decoding: packet, as: UTF8.self))")
            }
        }
        #expect(handled == 3000)
    }
}
