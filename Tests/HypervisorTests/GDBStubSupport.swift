// Test doubles for the GDB stub: a target over plain memory and registers, and a connection
// that plays a scripted byte stream and records what the stub sends.
import Hypervisor
import VMX

/// Guest memory at [base, base + bytes.count), registers in a table, up to four hardware
/// breakpoints. Addresses outside memory cannot be read or written; `readOnly` bytes refuse
/// writes (as EPT would).
struct FakeTarget: GDBTarget {
    var architecture: GDBArchitecture = .x86_64
    var registers: [X86Register: UInt64] = [:]
    /// Registers whose writes the target refuses.
    var refusedWrites: Set<X86Register> = []
    var base: UInt64 = 0x1000
    var memory = [UInt8](repeating: 0x90, count: 0x1000)
    var readOnly: Range<UInt64>? = nil
    var hardwareBreakpoints: [UInt64] = []
    var memoryWrites = 0

    init(architecture: GDBArchitecture = .x86_64) {
        self.architecture = architecture
        for register in X86Register.allCases {
            registers[register] = 0x1111_1111_1111_1111 &* (UInt64(register.rawValue) + 1)
        }
        registers[.rip] = 0x1000
        registers[.rflags] = 0x202
        registers[.cs] = 0x08
    }

    func readRegister(_ register: X86Register) -> UInt64? { registers[register] }

    mutating func writeRegister(_ register: X86Register, _ value: UInt64) -> Bool {
        guard !refusedWrites.contains(register), registers[register] != nil else { return false }
        registers[register] = value
        return true
    }

    mutating func readMemory(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var count = 0
        while count < buffer.count {
            let a = address &+ UInt64(count)
            guard a >= base, a < base + UInt64(memory.count) else { break }
            buffer[count] = memory[Int(a - base)]
            count += 1
        }
        return count
    }

    mutating func writeMemory(at address: UInt64, from bytes: UnsafeRawBufferPointer) -> Int {
        memoryWrites += 1
        var count = 0
        while count < bytes.count {
            let a = address &+ UInt64(count)
            guard a >= base, a < base + UInt64(memory.count), !(readOnly?.contains(a) ?? false) else { break }
            memory[Int(a - base)] = bytes[count]
            count += 1
        }
        return count
    }

    mutating func insertHardwareBreakpoint(at address: UInt64) -> Bool {
        guard hardwareBreakpoints.count < 4 else { return false }
        hardwareBreakpoints.append(address)
        return true
    }

    mutating func removeHardwareBreakpoint(at address: UInt64) -> Bool {
        guard let index = hardwareBreakpoints.firstIndex(of: address) else { return false }
        hardwareBreakpoints.remove(at: index)
        return true
    }

    func byte(at address: UInt64) -> UInt8 { memory[Int(address - base)] }
}

/// Plays `input` to the stub byte by byte (nil at its end: the connection is gone) and keeps
/// everything the stub sends.
struct ScriptedConnection: GDBConnection {
    var input: [UInt8]
    var position = 0
    var output: [UInt8] = []

    init(_ input: [UInt8] = []) { self.input = input }

    mutating func receiveByte() -> UInt8? {
        guard position < input.count else { return nil }
        defer { position += 1 }
        return input[position]
    }

    mutating func pollByte() -> UInt8? { receiveByte() }

    mutating func send(_ byte: UInt8) { output.append(byte) }

    /// The packets the stub sent, checksums verified, escapes left as sent.
    var packets: [String] {
        var result: [String] = []
        var index = 0
        while index < output.count {
            guard output[index] == UInt8(ascii: "$") else { index += 1; continue }
            guard let end = output[index...].firstIndex(of: UInt8(ascii: "#")), end + 2 < output.count else { break }
            let data = Array(output[(index + 1)..<end])
            let sum = data.reduce(UInt8(0), &+)
            let checksum = String(decoding: output[(end + 1)...(end + 2)], as: UTF8.self)
            result.append(checksum == hex2(sum) ? String(decoding: data, as: UTF8.self) : "<bad checksum>")
            index = end + 3
        }
        return result
    }

    /// The bytes the stub sent outside packets (acknowledgements).
    var acknowledgements: String {
        var result = ""
        var index = 0
        while index < output.count {
            if output[index] == UInt8(ascii: "$") {
                guard let end = output[index...].firstIndex(of: UInt8(ascii: "#")) else { break }
                index = end + 3
            } else {
                result.append(Character(Unicode.Scalar(output[index])))
                index += 1
            }
        }
        return result
    }
}

func hex2(_ byte: UInt8) -> String { hexDigits(byte, digits: 2) }

/// `$data#checksum` for a packet gdb would send.
func framed(_ data: String) -> [UInt8] {
    let bytes = Array(data.utf8)
    return Array("$".utf8) + bytes + Array("#".utf8) + Array(hex2(bytes.reduce(UInt8(0), &+)).utf8)
}

/// gdb's side of a conversation: each packet, then the `+` that acknowledges the stub's reply.
func conversation(_ packets: [String], acknowledgeReplies: Bool = true) -> [UInt8] {
    packets.flatMap { framed($0) + (acknowledgeReplies ? Array("+".utf8) : []) }
}

/// Little-endian hex of `bytes` bytes of `value`.
func littleEndianHex(_ value: UInt64, bytes: Int) -> String {
    (0..<bytes).map { hex2($0 < 8 ? UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) : 0) }.joined()
}

/// A seeded generator, so that fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
