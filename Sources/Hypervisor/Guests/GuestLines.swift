// The lines a guest can make the hypervisor write again and again - a PRINT, a COM1 line, an
// exception reflected, a refused port or MSR access, an interrupt injected, a single step (the
// SINGLE_STEP hypercall asks for as many as it likes) - are bounded per
// user image: the first `allowance` of each kind are written, the rest only counted (in the
// guest's counters and, over the whole run, in the exit statistics page), and when the guest
// stops one line per kind says how many were not written (docs/GUESTS.md, "Time budget").
// Writing a line to the serial console costs hundreds of cycles a byte; with this the guest's
// budget bounds the log as well as the time. The built-in guests are part of the hypervisor
// image, trusted like it: their lines are all written (bad64 alone catches 17 faults).
import VMX

public enum GuestLineKind: Int, Sendable, CaseIterable {
    case print = 0
    case serial
    case exception
    case refusedPort
    case refusedMSR
    case refusedOther
    case event

    public static let count = 7

    /// How many lines of the kind a user image gets written: more of its own output than of
    /// the hypervisor's lines about it.
    public var allowance: UInt64 { self == .print || self == .serial ? 64 : 16 }

    /// What the summary line counts: "... and N more NOUN".
    public var noun: StaticString {
        switch self {
        case .print: return "PRINT lines"
        case .serial: return "COM1 lines"
        case .exception: return "exceptions reflected"
        case .refusedPort: return "refused port accesses"
        case .refusedMSR: return "refused MSR accesses"
        case .refusedOther: return "refused instructions"
        case .event: return "interrupt and single-step events"
        }
    }
}

extension VirtualCPU {
    /// Whether a line of `kind` may be written for this guest; counts it either way.
    @inline(never)
    public func mayLog(_ kind: GuestLineKind) -> Bool {
        let count = lineCounts[kind.rawValue] &+ 1
        lineCounts[kind.rawValue] = count
        if count <= kind.allowance || !limitsLines { return true }
        statistics.countLineNotWritten(kind: kind, cpu: cpu)
        return false
    }

    /// Writes a line of `kind` if the guest still has lines of that kind; the message is
    /// built only then.
    @inline(__always)
    public func log(_ kind: GuestLineKind, _ message: @autoclosure () -> LogMessage) {
        guard mayLog(kind) else { return }
        cpu.log(message())
        chargeHostTimeAtNextEntry()  // a line's host time counts at once
    }

    /// One line per kind whose lines were not all written.
    func summarizeLines() {
        for kind in GuestLineKind.allCases where limitsLines && lineCounts[kind.rawValue] > kind.allowance {
            cpu.log(
                "guest \(name): ... and \(lineCounts[kind.rawValue] - kind.allowance) more \(kind.noun) (not logged)")
        }
    }
}
