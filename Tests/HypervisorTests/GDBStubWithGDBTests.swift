// The stub against the real gdb: gdb in batch mode connects over TCP on 127.0.0.1 to the stub,
// which debugs a toy guest run by the test (a handful of instructions over FakeTarget's memory).
// This is what proves that gdb accepts the target descriptions and the packets, not only that
// the stub answers what the tests expect. Every wait has a time limit.
import Foundation
import Testing
@testable import Hypervisor
#if canImport(Glibc)
    import Glibc
#endif

/// A TCP connection as the stub's byte stream; every wait is bounded (`timeout` milliseconds).
final class SocketConnection: GDBConnection {
    let descriptor: Int32
    var pending: [UInt8] = []
    var timeout: Int32 = 20_000

    init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }

    func flush() {
        var offset = 0
        while offset < pending.count {
            let written = pending[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Whether gdb closed the connection.
    var closed = false

    private func read(waiting milliseconds: Int32) -> UInt8? {
        flush()
        var descriptorSet = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptorSet, 1, milliseconds) == 1 else { return nil }
        var byte: UInt8 = 0
        guard Glibc.read(descriptor, &byte, 1) == 1 else { closed = true; return nil }
        return byte
    }

    func receiveByte() -> UInt8? { read(waiting: timeout) }
    func pollByte() -> UInt8? { read(waiting: 0) }
    func send(_ byte: UInt8) { pending.append(byte) }
}

/// A listening socket on 127.0.0.1 and a free port.
struct Listener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 1) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        try #require(bound == 0)
        descriptor = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func accept(within milliseconds: Int32) -> SocketConnection? {
        var descriptorSet = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        defer { close(descriptor) }
        guard poll(&descriptorSet, 1, milliseconds) == 1 else { return nil }
        let connection = Glibc.accept(descriptor, nil, nil)
        return connection >= 0 ? SocketConnection(descriptor: connection) : nil
    }
}

/// A toy guest: executes NOP (90), INC RAX (48 FF C0), JMP rel8 (EB), HLT (F4, stops), INT3 (CC) and VMCALL
/// (0F 01 C1: the guest exits with code AL), stopping where the stub's breakpoints say.
struct ToyGuest {
    var target = FakeTarget()
    var stub = GDBStub()

    /// Executes one instruction; returns why the guest stops, or nil to go on.
    mutating func execute() -> GDBStub.StopReason? {
        let rip = target.registers[.rip]!
        let opcode = target.byte(at: rip)
        switch opcode {
        case 0x90: target.registers[.rip] = rip + 1
        case 0x48 where target.byte(at: rip + 1) == 0xFF && target.byte(at: rip + 2) == 0xC0:
            target.registers[.rax]! &+= 1
            target.registers[.rip] = rip + 3
        case 0xF4:
            target.registers[.rip] = rip + 1
            return .halted
        case 0xEB:
            target.registers[.rip] = rip &+ 2 &+ UInt64(bitPattern: Int64(Int8(bitPattern: target.byte(at: rip + 1))))
        case 0xCC:
            // INT3 traps with RIP at the INT3 (the #BP exit's guest RIP).
            return stub.ownsSoftwareBreakpoint(at: rip) ? .softwareBreakpoint : .terminated(signal: 5)
        case 0x0F where target.byte(at: rip + 1) == 0x01 && target.byte(at: rip + 2) == 0xC1:
            return .exited(code: UInt8(truncatingIfNeeded: target.registers[.rax]!))
        default:
            return .terminated(signal: 4)  // SIGILL
        }
        return nil
    }

    /// The run loop: serve gdb while stopped, run while it lets the guest go.
    mutating func run(_ connection: SocketConnection) -> GDBStub.Resume {
        var reason = GDBStub.StopReason.attached
        var connection = connection
        while true {
            let resume = stub.stopped(reason, target: &target, connection: &connection)
            switch resume {
            case .kill, .detach: return resume
            case .step:
                reason = execute() ?? .step
            case .continue:
                var first = true
                var executed = 0
                while true {
                    // A test must end even if gdb never interrupts: at most 30 s of guest.
                    executed += 1
                    if connection.closed || executed > 3_000_000 { return .detach }
                    let rip = target.registers[.rip]!
                    // A debug-register breakpoint hits before the instruction, except the first
                    // one after resuming (RFLAGS.RF).
                    if !first && target.hardwareBreakpoints.contains(rip) { reason = .hardwareBreakpoint; break }
                    first = false
                    // The run loop looks for gdb's interrupt between VM exits, not at every instruction.
                    if executed % 100 == 0 {
                        if stub.interruptRequested(&connection) { reason = .interrupted; break }
                        usleep(10)
                    }
                    if let stop = execute() { reason = stop; break }
                }
            }
            if case .exited = reason {
                _ = stub.stopped(reason, target: &target, connection: &connection); return .kill
            }
        }
    }
}

/// gdb's lines, less its warning that no executable was given (two lines).
func isGDBOutput(_ line: String) -> Bool {
    !line.hasPrefix("warning: No executable") && !line.hasPrefix("determining executable automatically")
}

func gdbPath() -> String? {
    ["/usr/bin/gdb", "/usr/local/bin/gdb"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs gdb in batch mode with `commands` against a stub served by `serve`; returns gdb's
/// output (stdout and stderr) and the run loop's last resume action. With `typed`, gdb is not
/// in batch mode but reads those lines from a pipe, each after its delay in seconds, as a user
/// types them: gdb then runs its event loop between lines (needed for `continue &` and
/// `interrupt`, which batch mode cannot wait for; a SIGINT to batch-mode gdb is not passed on).
func runGDB(
    _ commands: [String], typed: [(Double, String)] = [],
    serve: (SocketConnection) -> GDBStub.Resume
) throws -> (String, GDBStub.Resume?) {
    let listener = try Listener()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdbPath()!)
    var arguments = typed.isEmpty ? ["-batch", "-nx"] : ["-nx", "-q"]
    arguments += ["-ex", "set tcp connect-timeout 20", "-ex", "target remote 127.0.0.1:\(listener.port)"]
    for command in commands { arguments += ["-ex", command] }
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let input = Pipe()
    process.standardInput = typed.isEmpty ? FileHandle.nullDevice : input
    try process.run()
    // Nothing may hang: gdb is killed after 60 s whatever happens.
    let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: deadline)
    if !typed.isEmpty {
        DispatchQueue.global().async {
            for (delay, line) in typed {
                usleep(UInt32(delay * 1_000_000))
                input.fileHandleForWriting.write(Data((line + "\n").utf8))
            }
            try? input.fileHandleForWriting.close()
        }
    }
    var resume: GDBStub.Resume? = nil
    if let connection = listener.accept(within: 20_000) { resume = serve(connection) }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    deadline.cancel()
    return (String(decoding: data, as: UTF8.self), resume)
}

@Suite(.enabled(if: gdbPath() != nil, "gdb is not installed"), .serialized)
struct GDBStubWithGDBTests {
    static let program: [UInt8] = [
        0x48, 0xFF, 0xC0,  // 1000 inc rax
        0x48, 0xFF, 0xC0,  // 1003 inc rax
        0x90,  // 1006 nop
        0x48, 0xFF, 0xC0,  // 1007 inc rax
        0x90,  // 100a nop
        0x90,  // 100b nop
        0x0F, 0x01, 0xC1  // 100c vmcall: exit with code AL
    ]

    @Test func debugA64BitGuest() throws {
        var guest = ToyGuest()
        guest.target.memory.replaceSubrange(0..<Self.program.count, with: Self.program)
        guest.target.registers[.rax] = 0x40
        let (output, resume) = try runGDB([
            "info registers rip",
            "break *0x1003",
            "continue",
            "stepi",
            "stepi",
            "stepi",
            "print $rax",
            "set {unsigned char}0x1800 = 0x5a",
            "x/2xb 0x1800",
            "hbreak *0x100b",
            "continue",
            "info registers eflags",
            "print/x $cr0",
            "print $st0",
            "continue"
        ]) { guest.run($0) }
        let lines = output.split(separator: "\n").map(String.init).filter(isGDBOutput)
        #expect(
            lines == [
                "0x0000000000001000 in ?? ()",
                "rip            0x1000              0x1000",
                "Breakpoint 1 at 0x1003",
                "Breakpoint 1, 0x0000000000001003 in ?? ()",
                "0x0000000000001006 in ?? ()",
                "0x0000000000001007 in ?? ()",
                "0x000000000000100a in ?? ()",
                "$1 = 67",
                "0x1800:\t0x5a\t0x90",
                "Hardware assisted breakpoint 2 at 0x100b",
                "Breakpoint 2, 0x000000000000100b in ?? ()",
                "eflags         0x202               [ IF ]",
                "$2 = \(String(format: "0x%llx", 0x1111_1111_1111_1111 &* 27 as UInt64))",
                "$3 = <unavailable>",
                "[Inferior 1 (Remote target) exited with code 0103]"
            ], "\(output)")
        #expect(guest.target.byte(at: 0x1800) == 0x5A)
        #expect(guest.target.byte(at: 0x1003) == 0x48)  // the INT3 is gone again
        #expect(guest.target.hardwareBreakpoints.isEmpty)
        #expect(resume == .kill)
    }

    @Test func registersInEveryMode() throws {
        for (architecture, name) in [(GDBArchitecture.x86_64, "i386:x86-64"), (.i386, "i386"), (.i8086, "i8086")] {
            var guest = ToyGuest()
            guest.target.architecture = architecture
            guest.target.registers[.rax] = 0x1234_5678
            guest.target.registers[.rip] = 0x1000
            let (output, resume) = try runGDB([
                "show architecture",
                architecture == .x86_64 ? "print/x $rax" : "print/x $eax",
                "print/x $eflags",
                "print/x $cs",
                "print/x $efer",
                "kill"
            ]) { guest.run($0) }
            let lines = output.split(separator: "\n").map(String.init).filter(isGDBOutput)
            #expect(
                lines == [
                    architecture == .x86_64 ? "0x0000000000001000 in ?? ()" : "0x00001000 in ?? ()",
                    "The target architecture is set to \"auto\" (currently \"\(name)\").",
                    "$1 = 0x12345678",
                    "$2 = 0x202",
                    "$3 = 0x8",
                    "$4 = \(String(format: "0x%llx", 0x1111_1111_1111_1111 &* 32 as UInt64))",
                    "Kill the program being debugged? (y or n) [answered Y; input not from terminal]",
                    "[Inferior 1 (Remote target) killed]"
                ], "\(architecture): \(output)")
            #expect(resume == .kill)
        }
    }

    @Test func haltStopsWithSIGTRAP() throws {
        var guest = ToyGuest()
        guest.target.memory = [UInt8](repeating: 0x90, count: 0x10000)
        guest.target.memory[0xFFF0] = 0xF4  // HLT at 10ff0
        let (output, resume) = try runGDB(["continue", "print/x $pc", "kill"]) { guest.run($0) }
        let lines = output.split(separator: "\n").map(String.init).filter(isGDBOutput)
        #expect(
            lines == [
                "0x0000000000001000 in ?? ()",
                "Program received signal SIGTRAP, Trace/breakpoint trap.",
                "0x0000000000010ff1 in ?? ()",
                "$1 = 0x10ff1",
                "Kill the program being debugged? (y or n) [answered Y; input not from terminal]",
                "[Inferior 1 (Remote target) killed]"
            ], "\(output)")
        #expect(resume == .kill)
    }

    @Test func interruptAGuestInAnEndlessLoop() throws {
        var guest = ToyGuest()
        guest.target.memory[0] = 0xEB  // 1000: jmp 1000
        guest.target.memory[1] = 0xFE
        let (output, resume) = try runGDB(
            [],
            typed: [
                (0.5, "continue &"), (1, "interrupt"), (1, "print/x $pc"), (0.2, "kill"), (0.2, "quit")
            ]
        ) { guest.run($0) }
        // Interactive gdb prints prompts and the connection line; the rest is as in batch mode.
        let lines = output.replacingOccurrences(of: "(gdb) ", with: "").split(separator: "\n")
            .map(String.init).filter { isGDBOutput($0) && !$0.hasPrefix("Remote debugging using") }
        #expect(
            lines == [
                "0x0000000000001000 in ?? ()",
                "Continuing.",
                "Program received signal SIGINT, Interrupt.",
                "0x0000000000001000 in ?? ()",
                "$1 = 0x1000",
                "Kill the program being debugged? (y or n) [answered Y; input not from terminal]",
                "[Inferior 1 (Remote target) killed]"
            ], "\(output)")
        #expect(resume == .kill)
    }
}
