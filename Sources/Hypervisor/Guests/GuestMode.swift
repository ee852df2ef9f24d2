// The mode a guest starts in (docs/GUESTS.md, "Starting state").

import VMX

public enum GuestMode: Sendable, Equatable {
    /// Real-address mode from a reset-like state: CS.selector F000H, CS.base FFFF0000H,
    /// RIP FFF0H, executing a reset-vector page that jumps to the entry point. Needs
    /// unrestricted guest and EPT (SDM 26.6 "Unrestricted Guests").
    case real
    /// 32-bit protected mode, flat segments, paging off. Needs unrestricted guest (CR0.PG = 0).
    case protected
    /// 64-bit mode (IA-32e), paging by tables the hypervisor builds: linear addresses
    /// [0, memory size) map the guest's memory.
    case long

    public var name: StaticString {
        switch self {
        case .real: return "real mode"
        case .protected: return "32-bit protected mode"
        case .long: return "64-bit mode"
        }
    }

    /// "real", "protected", "long" (the `mode=` option).
    public init?(option: ByteText) {
        if option.equals("real") {
            self = .real
        } else if option.equals("protected") {
            self = .protected
        } else if option.equals("long") {
            self = .long
        } else {
            return nil
        }
    }
}
