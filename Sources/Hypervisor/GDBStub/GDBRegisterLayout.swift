// The register layouts of the target descriptions (gdb manual, G.5 "Standard Target Features":
// i386 features; the order gdb's own 64bit-core.xml / 32bit-core.xml use). A layout is the order
// of `g`/`G` and the numbers of `p`/`P`. gdb requires the x87 registers in the core feature
// (amd64 and i386 alike); this hypervisor does not give gdb the guest's x87 state, so they are
// reported as unavailable ("xx" bytes). The SSE feature is optional and left out.

struct GDBRegisterSlot {
    let name: StaticString
    /// The x86 register behind the slot; nil for the unavailable x87 registers.
    let register: X86Register?
    let bytes: Int
    let type: StaticString
    /// Index into `GDBRegisterLayout.features` of the feature the slot belongs to.
    let feature: Int
}

enum GDBRegisterLayout {
    static let features: [StaticString] = ["org.gnu.gdb.i386.core", "org.gnu.gdb.i386.segments",
                                           "org.swiftvmx.x86.control"]

    private static func core(_ name: StaticString, _ register: X86Register?, _ bytes: Int,
                             _ type: StaticString) -> GDBRegisterSlot {
        GDBRegisterSlot(name: name, register: register, bytes: bytes, type: type, feature: 0)
    }

    /// st0-st7 and the x87 control registers, in gdb's order.
    private static let x87: [GDBRegisterSlot] = [
        core("st0", nil, 10, "i387_ext"), core("st1", nil, 10, "i387_ext"),
        core("st2", nil, 10, "i387_ext"), core("st3", nil, 10, "i387_ext"),
        core("st4", nil, 10, "i387_ext"), core("st5", nil, 10, "i387_ext"),
        core("st6", nil, 10, "i387_ext"), core("st7", nil, 10, "i387_ext"),
        core("fctrl", nil, 4, "int"), core("fstat", nil, 4, "int"), core("ftag", nil, 4, "int"),
        core("fiseg", nil, 4, "int"), core("fioff", nil, 4, "int"), core("foseg", nil, 4, "int"),
        core("fooff", nil, 4, "int"), core("fop", nil, 4, "int"),
    ]

    private static let segments32: [GDBRegisterSlot] = [
        core("eflags", .rflags, 4, "i386_eflags"),
        core("cs", .cs, 4, "int32"), core("ss", .ss, 4, "int32"), core("ds", .ds, 4, "int32"),
        core("es", .es, 4, "int32"), core("fs", .fs, 4, "int32"), core("gs", .gs, 4, "int32"),
    ]

    /// CR0, CR2, CR3, CR4, CR8 and IA32_EFER from the VMCS: a feature of this project's own,
    /// which gdb shows as `$cr0`... in `info registers system`.
    private static let control: [GDBRegisterSlot] = [
        GDBRegisterSlot(name: "cr0", register: .cr0, bytes: 8, type: "int64", feature: 2),
        GDBRegisterSlot(name: "cr2", register: .cr2, bytes: 8, type: "int64", feature: 2),
        GDBRegisterSlot(name: "cr3", register: .cr3, bytes: 8, type: "int64", feature: 2),
        GDBRegisterSlot(name: "cr4", register: .cr4, bytes: 8, type: "int64", feature: 2),
        GDBRegisterSlot(name: "cr8", register: .cr8, bytes: 8, type: "int64", feature: 2),
        GDBRegisterSlot(name: "efer", register: .efer, bytes: 8, type: "int64", feature: 2),
    ]

    static let x86_64: [GDBRegisterSlot] = [
        core("rax", .rax, 8, "int64"), core("rbx", .rbx, 8, "int64"), core("rcx", .rcx, 8, "int64"),
        core("rdx", .rdx, 8, "int64"), core("rsi", .rsi, 8, "int64"), core("rdi", .rdi, 8, "int64"),
        core("rbp", .rbp, 8, "data_ptr"), core("rsp", .rsp, 8, "data_ptr"),
        core("r8", .r8, 8, "int64"), core("r9", .r9, 8, "int64"), core("r10", .r10, 8, "int64"),
        core("r11", .r11, 8, "int64"), core("r12", .r12, 8, "int64"), core("r13", .r13, 8, "int64"),
        core("r14", .r14, 8, "int64"), core("r15", .r15, 8, "int64"),
        core("rip", .rip, 8, "code_ptr"),
    ] + segments32 + x87 + [
        GDBRegisterSlot(name: "fs_base", register: .fsBase, bytes: 8, type: "int", feature: 1),
        GDBRegisterSlot(name: "gs_base", register: .gsBase, bytes: 8, type: "int", feature: 1),
    ] + control

    /// i386 and i8086: the x86 encoding order.
    static let i386: [GDBRegisterSlot] = [
        core("eax", .rax, 4, "int32"), core("ecx", .rcx, 4, "int32"), core("edx", .rdx, 4, "int32"),
        core("ebx", .rbx, 4, "int32"), core("esp", .rsp, 4, "data_ptr"), core("ebp", .rbp, 4, "data_ptr"),
        core("esi", .rsi, 4, "int32"), core("edi", .rdi, 4, "int32"),
        core("eip", .rip, 4, "code_ptr"),
    ] + segments32 + x87 + control

    static func slots(for architecture: GDBArchitecture) -> [GDBRegisterSlot] {
        architecture == .x86_64 ? x86_64 : i386
    }

    /// Bytes of a `g` reply's data (before hex).
    static func byteCount(for architecture: GDBArchitecture) -> Int {
        var total = 0
        for slot in slots(for: architecture) { total += slot.bytes }
        return total
    }
}
