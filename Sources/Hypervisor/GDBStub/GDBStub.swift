// A GDB remote serial protocol stub for one guest (gdb manual, Appendix E). The run loop owns the
// guest; the stub owns the conversation. Whenever the guest stops for the debugger (at attach, a
// breakpoint, a completed single step, an interrupt from gdb, HLT, or its end), the run loop
// calls `stopped`, which sends the stop reply gdb is waiting for and then answers gdb's packets
// until gdb lets the guest go (`c`, `s`, `vCont`, `D`, `k`); the returned `Resume` says how.
// While the guest runs, the run loop calls `interruptRequested` between VM exits to notice
// gdb's 03H byte (Ctrl-C).
//
// Every packet is bounds-checked: a malformed one gets `E01`, an unknown one the empty reply
// that means "not supported", and nothing gdb sends can make the stub trap or grow without
// bound. Error numbers: E01 malformed packet or argument, E0e (EFAULT) memory not accessible,
// E16 (EINVAL) a request the target refused, E1c (ENOSPC) no room for another breakpoint.

public struct GDBStub {
    /// How the guest goes on after `stopped` returns.
    public enum Resume: Equatable, Sendable {
        case `continue`
        /// Execute one instruction, then stop with `.step` (the monitor trap flag, or RFLAGS.TF
        /// with #DB interception where the CPU lacks it).
        case step
        /// gdb detached (or the connection went away): breakpoints are gone; run freely.
        case detach
        /// gdb killed the guest: stop it (the hypervisor carries on).
        case kill
    }

    /// Why the guest stopped, as the stop reply tells gdb.
    public enum StopReason: Equatable, Sendable {
        /// The debugger attached before the guest's first instruction: SIGTRAP.
        case attached
        /// INT3 at one of the stub's software breakpoints; RIP is the INT3's address.
        case softwareBreakpoint
        /// A debug-register breakpoint (#DB with DR6.Bn).
        case hardwareBreakpoint
        /// A single step completed.
        case step
        /// gdb's interrupt (03H): SIGINT.
        case interrupted
        /// HLT with nothing to wake the guest: SIGTRAP, RIP after the HLT.
        case halted
        /// The guest shut itself down with this exit code (`W` reply).
        case exited(code: UInt8)
        /// The guest died, e.g. by triple fault (`X` reply with this signal, 11 SIGSEGV).
        case terminated(signal: UInt8)
    }

    /// Software breakpoints the stub has planted: address and the byte INT3 replaced.
    public static let maximumSoftwareBreakpoints = 64
    public private(set) var softwareBreakpoints: [(address: UInt64, original: UInt8)] = []
    public private(set) var hardwareBreakpoints: [UInt64] = []
    /// Packets answered since `init` (tests and statistics).
    public private(set) var packetsHandled = 0

    private var reader = GDBPacketReader()
    private var reply: [UInt8] = []
    private var scratch: [UInt8] = []
    private var lastStop = StopReason.attached
    private var awaitingStopReply = false
    private var noAcknowledgements = false
    /// A packet that arrived while the stub waited for an acknowledgement.
    private var pendingPacket = false
    private var interruptPending = false
    private var description: [UInt8] = []
    private var describedArchitecture: GDBArchitecture? = nil

    public init() {
        reply.reserveCapacity(GDBPacketReader.capacity + 16)
        scratch.reserveCapacity(GDBPacketReader.capacity / 2)
    }

    /// Whether INT3 at `address` is one of the stub's breakpoints (else it is the guest's own,
    /// which the run loop reflects back into the guest).
    public func ownsSoftwareBreakpoint(at address: UInt64) -> Bool {
        softwareBreakpoints.contains { $0.address == address }
    }

    /// While the guest runs: whether gdb has sent the interrupt byte (03H) since the last call.
    public mutating func interruptRequested<C: GDBConnection>(_ connection: inout C) -> Bool {
        while let byte = connection.pollByte() {
            if reader.feed(byte) == .interrupt { interruptPending = true }
        }
        defer { interruptPending = false }
        return interruptPending
    }

    /// The guest stopped: tells gdb (if it is waiting for a stop reply) and serves its packets
    /// until it resumes, detaches or kills the guest.
    public mutating func stopped<T: GDBTarget, C: GDBConnection>(
        _ reason: StopReason, target: inout T, connection: inout C
    ) -> Resume {
        lastStop = reason
        interruptPending = false
        if awaitingStopReply {
            awaitingStopReply = false
            appendStopReply()
            guard send(&connection) else { return disconnect(&target) }
        }
        switch reason {
        case .exited, .terminated:
            // The guest is gone; gdb expects nothing more of it.
            removeAllBreakpoints(&target)
            return .kill
        default: break
        }
        while true {
            guard receivePacket(&connection) else { return disconnect(&target) }
            packetsHandled += 1
            reply.removeAll(keepingCapacity: true)
            guard let resume = handle(&target) else {
                guard send(&connection) else { return disconnect(&target) }
                continue
            }
            switch resume {
            case .continue, .step:
                // The reply is the stop reply, sent when the guest stops again.
                awaitingStopReply = true
            case .detach, .kill:
                // D has "OK", vKill has "OK", k has no reply.
                if !reply.isEmpty { _ = send(&connection) }
                removeAllBreakpoints(&target)
            }
            return resume
        }
    }

    // MARK: Framing

    /// Reads until a complete packet with a good checksum is in `reader.packet`, acknowledging
    /// it (unless no-ack mode is on); false when the connection ended.
    private mutating func receivePacket<C: GDBConnection>(_ connection: inout C) -> Bool {
        if pendingPacket {
            pendingPacket = false
            if !noAcknowledgements { connection.send(UInt8(ascii: "+")); connection.flush() }
            return true
        }
        while let byte = connection.receiveByte() {
            switch reader.feed(byte) {
            case .packet:
                if !noAcknowledgements { connection.send(UInt8(ascii: "+")); connection.flush() }
                return true
            case .badChecksum:
                if !noAcknowledgements { connection.send(UInt8(ascii: "-")); connection.flush() }
            case .none, .ack, .nak, .interrupt:
                break  // 03H while stopped means nothing; stray acknowledgements neither
            }
        }
        return false
    }

    /// Sends `reply` as one packet and waits for its acknowledgement, resending on `-` (at most
    /// eight times). A packet from gdb that arrives instead counts as the acknowledgement and is
    /// kept for `receivePacket`. False when the connection ended.
    private mutating func send<C: GDBConnection>(_ connection: inout C) -> Bool {
        var attempts = 0
        while true {
            var sum: UInt8 = 0
            connection.send(UInt8(ascii: "$"))
            for byte in reply {
                connection.send(byte)
                sum &+= byte
            }
            connection.send(UInt8(ascii: "#"))
            connection.send(GDBHex.digit(sum >> 4))
            connection.send(GDBHex.digit(sum))
            connection.flush()
            if noAcknowledgements { return true }
            attempts += 1
            var resend = false
            while !resend {
                guard let byte = connection.receiveByte() else { return false }
                switch reader.feed(byte) {
                case .ack: return true
                case .nak: resend = true
                case .packet: pendingPacket = true; return true
                case .interrupt: interruptPending = true
                case .none, .badChecksum: break
                }
            }
            if attempts >= 8 { return true }  // gdb keeps refusing: give up on this reply
        }
    }

    private mutating func disconnect<T: GDBTarget>(_ target: inout T) -> Resume {
        removeAllBreakpoints(&target)
        return .detach
    }

    // MARK: Packets

    /// Builds the reply to the packet in `reader.packet`; returns a resume action for packets
    /// that let the guest go.
    private mutating func handle<T: GDBTarget>(_ target: inout T) -> Resume? {
        if reader.overflowed { return error(0x01) }
        var cursor = GDBCursor(reader.packet)
        guard let command = cursor.peek() else { return nil }
        cursor.index += 1
        switch command {
        case UInt8(ascii: "?"): appendStopReply()
        case UInt8(ascii: "g"): readRegisters(&target)
        case UInt8(ascii: "G"): writeRegisters(&cursor, &target)
        case UInt8(ascii: "p"): readRegister(&cursor, &target)
        case UInt8(ascii: "P"): writeRegister(&cursor, &target)
        case UInt8(ascii: "m"): readMemory(&cursor, &target)
        case UInt8(ascii: "M"): writeMemory(&cursor, &target)
        case UInt8(ascii: "c"), UInt8(ascii: "s"):
            return resume(command == UInt8(ascii: "s") ? .step : .continue, address: &cursor, &target)
        case UInt8(ascii: "C"), UInt8(ascii: "S"):
            // A signal means nothing to a guest: C and S act as c and s.
            guard cursor.number() != nil else { return error(0x01) }
            if !cursor.isAtEnd && !cursor.skip(UInt8(ascii: ";")) { return error(0x01) }
            return resume(command == UInt8(ascii: "S") ? .step : .continue, address: &cursor, &target)
        case UInt8(ascii: "D"):
            // stopped(_:target:connection:) removes the breakpoints once the reply is out.
            ok()
            return .detach
        case UInt8(ascii: "k"): return .kill
        case UInt8(ascii: "Z"), UInt8(ascii: "z"): breakpoint(insert: command == UInt8(ascii: "Z"), &cursor, &target)
        case UInt8(ascii: "H"):
            // Hg/Hc select the thread for later operations: there is one, numbered 1.
            guard cursor.skip(UInt8(ascii: "g")) || cursor.skip(UInt8(ascii: "c")),
                let thread = cursor.threadID(), cursor.isAtEnd, thread == 0 || thread == -1 || thread == 1
            else { return error(0x01) }
            ok()
        case UInt8(ascii: "T"):
            guard let thread = cursor.threadID(), cursor.isAtEnd, thread == 1 else { return error(0x01) }
            ok()
        case UInt8(ascii: "q"): query(&cursor, &target)
        case UInt8(ascii: "Q"):
            if cursor.skip("StartNoAckMode") && cursor.isAtEnd {
                ok()
                noAcknowledgements = true  // from the next packet on (this reply is still acknowledged)
                return nil
            }
        case UInt8(ascii: "v"): return verbose(&cursor, &target)
        default: break  // empty reply: not supported
        }
        return nil
    }

    private mutating func ok() { reply.appendText("OK") }

    @discardableResult
    private mutating func error(_ number: UInt8) -> Resume? {
        reply.removeAll(keepingCapacity: true)
        reply.append(UInt8(ascii: "E"))
        reply.appendHex(number)
        return nil
    }

    private mutating func appendStopReply() {
        switch lastStop {
        case .attached, .step, .halted: reply.appendText("S05")
        case .softwareBreakpoint: reply.appendText("T05swbreak:;")
        case .hardwareBreakpoint: reply.appendText("T05hwbreak:;")
        case .interrupted: reply.appendText("S02")
        case .exited(let code): reply.append(UInt8(ascii: "W")); reply.appendHex(code)
        case .terminated(let signal): reply.append(UInt8(ascii: "X")); reply.appendHex(signal)
        }
    }

    /// `c [addr]`, `s [addr]`: resume, at `addr` if given.
    private mutating func resume<T: GDBTarget>(_ action: Resume, address cursor: inout GDBCursor, _ target: inout T)
        -> Resume?
    {
        if !cursor.isAtEnd {
            guard let address = cursor.number(), cursor.isAtEnd else { return error(0x01) }
            guard target.writeRegister(.rip, address) else { return error(0x16) }
        }
        return action
    }

    // MARK: Registers

    private mutating func readRegisters<T: GDBTarget>(_ target: inout T) {
        for slot in GDBRegisterLayout.slots(for: target.architecture) {
            appendRegister(slot, target)
        }
    }

    private mutating func appendRegister<T: GDBTarget>(_ slot: UInt16, _ target: T) {
        let bytes = GDBRegisterLayout.bytes(slot)
        guard let register = GDBRegisterLayout.register(slot), let value = target.readRegister(register) else {
            for _ in 0..<bytes { reply.append(UInt8(ascii: "x")); reply.append(UInt8(ascii: "x")) }
            return
        }
        for index in 0..<bytes {
            reply.appendHex(index < 8 ? UInt8(truncatingIfNeeded: value >> UInt64(8 * index)) : 0)
        }
    }

    private mutating func writeRegisters<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        let slots = GDBRegisterLayout.slots(for: target.architecture)
        guard cursor.remaining == 2 * GDBRegisterLayout.byteCount(for: target.architecture) else {
            error(0x01)
            return
        }
        // Parse everything before writing anything: a malformed packet changes nothing.
        var values: [UInt64] = []
        values.reserveCapacity(slots.count)
        for slot in slots {
            guard let value = cursor.littleEndian(bytes: GDBRegisterLayout.bytes(slot)) else { error(0x01); return }
            values.append(value)
        }
        var refused = false
        for (slot, value) in zip(slots, values) {
            guard let register = GDBRegisterLayout.register(slot) else { continue }
            // Registers the target cannot read (shown as unavailable) are not written back.
            guard target.readRegister(register) != nil else { continue }
            if !target.writeRegister(register, value) { refused = true }
        }
        if refused { error(0x16) } else { ok() }
    }

    private mutating func registerSlot<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: T) -> UInt16? {
        let slots = GDBRegisterLayout.slots(for: target.architecture)
        guard let number = cursor.number(), number < UInt64(slots.count) else { return nil }
        return slots[Int(number)]
    }

    private mutating func readRegister<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        guard let slot = registerSlot(&cursor, target), cursor.isAtEnd else { error(0x01); return }
        appendRegister(slot, target)
    }

    private mutating func writeRegister<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        guard let slot = registerSlot(&cursor, target), cursor.skip(UInt8(ascii: "=")),
            cursor.remaining == 2 * GDBRegisterLayout.bytes(slot),
            let value = cursor.littleEndian(bytes: GDBRegisterLayout.bytes(slot))
        else { error(0x01); return }
        guard let register = GDBRegisterLayout.register(slot), target.writeRegister(register, value) else {
            error(0x16); return
        }
        ok()
    }

    // MARK: Memory

    /// `addr,length`: both present, the range not wrapping around 2^64.
    private func range(_ cursor: inout GDBCursor) -> (UInt64, Int)? {
        guard let address = cursor.number(), cursor.skip(UInt8(ascii: ",")), let length = cursor.number(),
            length > 0, length <= UInt64(GDBPacketReader.capacity),
            address <= UInt64.max - (length - 1)
        else { return nil }
        return (address, Int(length))
    }

    private mutating func readMemory<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        guard let (address, requested) = range(&cursor), cursor.isAtEnd else { error(0x01); return }
        let length = min(requested, (GDBPacketReader.capacity - 4) / 2)
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: repeatElement(0, count: length))
        let count = scratch.withUnsafeMutableBytes { target.readMemory(at: address, into: $0) }
        guard count > 0, count <= length else { error(0x0E); return }
        for index in 0..<count {
            // Show the bytes under the stub's INT3s as they were.
            let byteAddress = address + UInt64(index)
            var byte = scratch[index]
            if let breakpoint = softwareBreakpoints.first(where: { $0.address == byteAddress }) {
                byte = breakpoint.original
            }
            reply.appendHex(byte)
        }
    }

    private mutating func writeMemory<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        guard let (address, length) = range(&cursor), cursor.skip(UInt8(ascii: ":")),
            cursor.remaining == 2 * length
        else { error(0x01); return }
        scratch.removeAll(keepingCapacity: true)
        for index in 0..<length {
            guard var byte = cursor.byte() else { error(0x01); return }
            // A write over one of the stub's INT3s changes the byte it will restore; the INT3 stays.
            let byteAddress = address + UInt64(index)
            if let slot = softwareBreakpoints.firstIndex(where: { $0.address == byteAddress }) {
                softwareBreakpoints[slot].original = byte
                byte = 0xCC
            }
            scratch.append(byte)
        }
        let written = scratch.withUnsafeBytes { target.writeMemory(at: address, from: $0) }
        if written == length { ok() } else { error(0x0E) }
    }

    // MARK: Breakpoints

    /// `Z type,addr,kind` and `z type,addr,kind`: type 0 (software, INT3) and 1 (hardware); the
    /// watchpoint types 2-4 get the empty reply (not supported).
    private mutating func breakpoint<T: GDBTarget>(insert: Bool, _ cursor: inout GDBCursor, _ target: inout T) {
        guard let type = cursor.number(), cursor.skip(UInt8(ascii: ",")), let address = cursor.number(),
            cursor.skip(UInt8(ascii: ",")), let kind = cursor.number(),
            cursor.isAtEnd || cursor.peek() == UInt8(ascii: ";")
        else { error(0x01); return }
        switch type {
        case 0:
            guard kind == 1 else { error(0x01); return }  // INT3 is one byte
            if insert {
                insertSoftwareBreakpoint(at: address, &target)
            } else {
                removeSoftwareBreakpoint(at: address, &target)
            }
        case 1:
            if insert {
                if hardwareBreakpoints.contains(address) { ok(); return }
                guard target.insertHardwareBreakpoint(at: address) else { error(0x1C); return }
                hardwareBreakpoints.append(address)
            } else {
                guard let index = hardwareBreakpoints.firstIndex(of: address) else { ok(); return }
                hardwareBreakpoints.remove(at: index)
                guard target.removeHardwareBreakpoint(at: address) else { error(0x16); return }
            }
            ok()
        default: break
        }
    }

    private mutating func insertSoftwareBreakpoint<T: GDBTarget>(at address: UInt64, _ target: inout T) {
        if ownsSoftwareBreakpoint(at: address) { ok(); return }
        guard softwareBreakpoints.count < Self.maximumSoftwareBreakpoints else { error(0x1C); return }
        var original: UInt8 = 0
        let read = withUnsafeMutableBytes(of: &original) { target.readMemory(at: address, into: $0) }
        guard read == 1 else { error(0x0E); return }
        var int3: UInt8 = 0xCC
        let written = withUnsafeBytes(of: &int3) { target.writeMemory(at: address, from: $0) }
        guard written == 1 else { error(0x0E); return }
        softwareBreakpoints.append((address, original))
        ok()
    }

    private mutating func removeSoftwareBreakpoint<T: GDBTarget>(at address: UInt64, _ target: inout T) {
        guard let index = softwareBreakpoints.firstIndex(where: { $0.address == address }) else { ok(); return }
        var original = softwareBreakpoints[index].original
        softwareBreakpoints.remove(at: index)
        let written = withUnsafeBytes(of: &original) { target.writeMemory(at: address, from: $0) }
        if written == 1 { ok() } else { error(0x0E) }
    }

    private mutating func removeAllBreakpoints<T: GDBTarget>(_ target: inout T) {
        for breakpoint in softwareBreakpoints {
            var original = breakpoint.original
            _ = withUnsafeBytes(of: &original) { target.writeMemory(at: breakpoint.address, from: $0) }
        }
        softwareBreakpoints.removeAll()
        for address in hardwareBreakpoints { _ = target.removeHardwareBreakpoint(at: address) }
        hardwareBreakpoints.removeAll()
    }

    // MARK: q and v packets

    private mutating func query<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        if cursor.skip("Supported") {
            // gdb's own features (after ':') need no answer beyond ours.
            reply.appendText("PacketSize=")
            reply.appendHex(UInt8(GDBPacketReader.capacity >> 8))
            reply.appendHex(UInt8(GDBPacketReader.capacity & 0xFF))
            reply.appendText(";qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+")
        } else if cursor.skip("Attached") {
            reply.appendText("1")  // attached to an existing process: `kill` on quit, not detach
        } else if cursor.remaining == 1 && cursor.skip("C") {
            reply.appendText("QC1")
        } else if cursor.skip("fThreadInfo") {
            reply.appendText("m1")
        } else if cursor.skip("sThreadInfo") {
            reply.appendText("l")
        } else if cursor.skip("Symbol::") {
            ok()
        } else if cursor.skip("Xfer:features:read:") {
            transferTargetDescription(&cursor, &target)
        }
    }

    /// `qXfer:features:read:target.xml:offset,length`.
    private mutating func transferTargetDescription<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) {
        guard cursor.skip("target.xml:"), let offset = cursor.number(), cursor.skip(UInt8(ascii: ",")),
            let length = cursor.number(), cursor.isAtEnd
        else {
            error(0x01)
            return
        }
        let architecture = target.architecture
        if describedArchitecture != architecture {
            description = GDBTargetDescription.xml(for: architecture)
            describedArchitecture = architecture
        }
        guard offset <= UInt64(description.count) else { error(0x16); return }
        let start = Int(offset)
        let count = Int(min(length, UInt64(description.count - start), UInt64(GDBPacketReader.capacity / 2)))
        reply.append(start + count < description.count ? UInt8(ascii: "m") : UInt8(ascii: "l"))
        for byte in description[start..<(start + count)] {
            // Binary data: escape the protocol's special bytes.
            if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "$") || byte == UInt8(ascii: "}")
                || byte == UInt8(ascii: "*")
            {
                reply.append(UInt8(ascii: "}"))
                reply.append(byte ^ 0x20)
            } else {
                reply.append(byte)
            }
        }
    }

    private mutating func verbose<T: GDBTarget>(_ cursor: inout GDBCursor, _ target: inout T) -> Resume? {
        if cursor.skip("Cont?") {
            reply.appendText("vCont;c;C;s;S")
            return nil
        }
        if cursor.skip("Cont;") {
            // The first action for thread 1 (or for all threads) decides; one thread exists.
            guard let action = cursor.peek() else { return error(0x01) }
            cursor.index += 1
            let resume: Resume
            switch action {
            case UInt8(ascii: "c"): resume = .continue
            case UInt8(ascii: "s"): resume = .step
            case UInt8(ascii: "C"), UInt8(ascii: "S"):
                guard cursor.byte() != nil else { return error(0x01) }
                resume = action == UInt8(ascii: "S") ? .step : .continue
            default: return error(0x01)
            }
            if cursor.skip(UInt8(ascii: ":")) {
                guard let thread = cursor.threadID(), thread == 1 || thread == -1 || thread == 0 else {
                    return error(0x01)
                }
            }
            guard cursor.isAtEnd || cursor.peek() == UInt8(ascii: ";") else { return error(0x01) }
            return resume
        }
        if cursor.skip("Kill") {
            ok()
            return .kill
        }
        return nil  // vMustReplyEmpty and everything else: the empty reply
    }
}
