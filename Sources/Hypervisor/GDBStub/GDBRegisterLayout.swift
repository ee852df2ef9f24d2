// The register layouts of the target descriptions (gdb manual, G.5 "Standard Target Features",
// i386 features; the order of gdb's own 64bit-core.xml and 32bit-core.xml). A layout is the
// order of `g`/`G` and the numbers of `p`/`P`. gdb requires the x87 registers in the core
// feature (amd64 and i386 alike); this hypervisor does not hand the guest's x87 state to gdb, so
// they are reported as unavailable ("xx" bytes). The SSE feature is optional and left out.
//
// Compact on purpose (the tables go into the kernel image): a slot is one UInt16, the
// X86Register's raw value in the low byte (FF for an x87 register) and its `Kind` in the high
// byte; the names are one space-separated string per layout.

enum GDBRegisterLayout {
    /// A slot's size, gdb type and feature.
    enum Kind: UInt8 {
        case int64 = 0, dataPointer64, codePointer64, eflags, int32, x87Data, x87Control
        case segmentBase, control, codePointer32, dataPointer32

        var bytes: Int {
            switch self {
            case .int64, .dataPointer64, .codePointer64, .segmentBase, .control: return 8
            case .eflags, .int32, .x87Control, .codePointer32, .dataPointer32: return 4
            case .x87Data: return 10
            }
        }

        var type: StaticString {
            switch self {
            case .int64, .control: return "int64"
            case .dataPointer64, .dataPointer32: return "data_ptr"
            case .codePointer64, .codePointer32: return "code_ptr"
            case .eflags: return "i386_eflags"
            case .int32: return "int32"
            case .x87Data: return "i387_ext"
            case .x87Control, .segmentBase: return "int"
            }
        }

        /// Index into `features`.
        var feature: Int {
            switch self {
            case .segmentBase: return 1
            case .control: return 2
            default: return 0
            }
        }
    }

    static let features: [StaticString] = [
        "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.segments",
        "org.swiftvmx.x86.control"
    ]

    static func register(_ slot: UInt16) -> X86Register? { X86Register(rawValue: UInt8(truncatingIfNeeded: slot)) }
    static func kind(_ slot: UInt16) -> Kind { Kind(rawValue: UInt8(slot >> 8)) ?? .int64 }
    static func bytes(_ slot: UInt16) -> Int { kind(slot).bytes }

    // Raw values: RAX 0, RCX 1, RDX 2, RBX 3, RSP 4, RBP 5, RSI 6, RDI 7, R8-R15 8-15, RIP 16,
    // RFLAGS 17, CS SS DS ES FS GS 18-23, FS base 24, GS base 25, CR0 26, CR2 27, CR3 28,
    // CR4 29, CR8 30, IA32_EFER 31 (X86Register).
    static let x86_64: [UInt16] = [
        0x0000, 0x0003, 0x0001, 0x0002, 0x0006, 0x0007, 0x0105, 0x0104,  // rax rbx rcx rdx rsi rdi rbp rsp
        0x0008, 0x0009, 0x000A, 0x000B, 0x000C, 0x000D, 0x000E, 0x000F,  // r8-r15
        0x0210, 0x0311,  // rip eflags
        0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,  // cs ss ds es fs gs
        0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF,  // st0-st7
        0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF,  // fctrl ... fop
        0x0718, 0x0719,  // fs_base gs_base
        0x081A, 0x081B, 0x081C, 0x081D, 0x081E, 0x081F  // cr0 cr2 cr3 cr4 cr8 efer
    ]
    static let x86_64Names: StaticString =
        """
        rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags cs ss ds es fs gs st0 st1 st2 st3 \
        st4 st5 st6 st7 fctrl fstat ftag fiseg fioff foseg fooff fop fs_base gs_base cr0 cr2 cr3 cr4 cr8 efer
        """

    /// i386 and i8086: the x86 encoding order.
    static let i386: [UInt16] = [
        0x0400, 0x0401, 0x0402, 0x0403, 0x0A04, 0x0A05, 0x0406, 0x0407,  // eax ecx edx ebx esp ebp esi edi
        0x0910, 0x0311,  // eip eflags
        0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,  // cs ss ds es fs gs
        0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF, 0x05FF,  // st0-st7
        0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF, 0x06FF,  // fctrl ... fop
        0x081A, 0x081B, 0x081C, 0x081D, 0x081E, 0x081F  // cr0 cr2 cr3 cr4 cr8 efer
    ]
    static let i386Names: StaticString =
        """
        eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs st0 st1 st2 st3 st4 st5 st6 st7 fctrl fstat \
        ftag fiseg fioff foseg fooff fop cr0 cr2 cr3 cr4 cr8 efer
        """

    static func slots(for architecture: GDBArchitecture) -> [UInt16] {
        architecture == .x86_64 ? x86_64 : i386
    }

    static func names(for architecture: GDBArchitecture) -> StaticString {
        architecture == .x86_64 ? x86_64Names : i386Names
    }

    /// Bytes of a `g` reply's data (before hex).
    static func byteCount(for architecture: GDBArchitecture) -> Int {
        var total = 0
        for slot in slots(for: architecture) { total += bytes(slot) }
        return total
    }
}
