// One Unicorn 2.1.4 x86-64 engine: the instruction executor of guest execution
// (docs/EMULATED-CPU.md). Everything VMX-specific lives in GuestExecution; this type only
// wraps Unicorn's C API and the few places where that API does not reach far enough.
//
// Memory: the engine's "physical" address space is the emulated CPU's physical memory, mapped
// once at address 0. The engine runs in Unicorn's virtual-TLB mode, so it never walks page
// tables itself: every TLB miss asks GuestExecution's fill hook, which translates the linear
// address through the guest's paging and the EPT and answers with a host-physical page.
//
// Segment registers: Unicorn's register API loads CS, SS, DS and ES selectors without their
// hidden parts, and FS and GS from the descriptor tables. VM entry loads the hidden parts from
// the VMCS (SDM 27.3.2.2) whatever the descriptor tables hold, so the engine writes them into
// the CPU context directly: uc_context_save copies QEMU's CPUX86State, whose segment caches
// and hidden flags sit at offsets found at start-up by probing with sentinel values (see
// `ContextLayout`); the engine refuses to start if the probe fails.
import CUnicorn
#if canImport(Glibc)
    import Glibc
#endif

/// The hidden part of a segment register as QEMU keeps it: the selector, base, limit, and the
/// attribute bits in the position of a descriptor's second doubleword (type in bits 11:8, S 12,
/// DPL 14:13, P 15, AVL 20, L 21, D/B 22, G 23).
struct SegmentCache: Equatable {
    var selector: UInt16
    var base: UInt64
    var limit: UInt32
    var flags: UInt32

    /// From the VMX access-rights format (SDM 25.4.1 Table 25-2): type 3:0, S 4, DPL 6:5, P 7,
    /// AVL 12, L 13, D/B 14, G 15, unusable 16. QEMU has no "unusable": such a segment is kept
    /// not present (P = 0) with its DPL, as a null selector load leaves it.
    init(selector: UInt16, base: UInt64, limit: UInt32, accessRights: UInt32) {
        self.selector = selector
        self.base = base
        self.limit = limit
        flags = accessRights & (1 << 16) != 0 ? (accessRights & 0x60) << 8 : (accessRights & 0xF0FF) << 8
    }

    init(selector: UInt16, base: UInt64, limit: UInt32, flags: UInt32) {
        self.selector = selector
        self.base = base
        self.limit = limit
        self.flags = flags
    }

    /// The VMX access rights (unusable when not present).
    var accessRights: UInt32 {
        present ? (flags >> 8) & 0xF0FF : 1 << 16 | (flags >> 8) & 0x60
    }

    var present: Bool { flags & (1 << 15) != 0 }
    var dpl: UInt8 { UInt8((flags >> 13) & 3) }
    /// D/B: a 32-bit code or stack segment.
    var defaultBig: Bool { flags & (1 << 22) != 0 }
    /// L: a 64-bit code segment.
    var long: Bool { flags & (1 << 21) != 0 }
}

/// The six segment registers in the x86 encoding (also QEMU's order and the VMX
/// instruction-information encoding, SDM Table 28-13).
enum SegmentRegister: Int, CaseIterable {
    case es = 0, cs, ss, ds, fs, gs
}

enum UnicornFailure: Error {
    case call(String, uc_err)
    case layout(String)
}

final class UnicornEngine {
    let handle: OpaquePointer
    private let context: OpaquePointer
    private var snapshot: OpaquePointer?
    /// A page of Unicorn's own, outside the emulated memory, that guest execution maps a
    /// faulting page to while it replays an instruction.
    let scratchPage: UInt64
    private let layout: ContextLayout
    /// The CPU context copied out by `loadContext`, for reading and editing segment caches.
    private var contextData: UnsafeMutableRawPointer

    /// Where QEMU's CPUX86State keeps what the register API cannot set, as byte offsets into
    /// a saved context.
    struct ContextLayout {
        /// The first byte of CPUX86State (regs[0], RAX) within the uc_context allocation.
        var data: Int
        /// segs[0] (ES): six SegmentCache records of 24 bytes (selector u32, base u64 at +8,
        /// limit u32 at +16, flags u32 at +20).
        var segments: Int
        /// hflags (u32), just before segs.
        var hiddenFlags: Int
        /// error_code (int): the error code of the exception being raised.
        var errorCode: Int
        /// old_exception (int): the exception QEMU believes is being delivered, -1 for none.
        var exceptionInFlight: Int
        /// efer (u64): WRMSR of IA32_EFER cannot set LMA, which VM entry loads.
        var efer: Int
    }

    /// QEMU's hidden flags (target/i386/cpu.h) that follow from the segment registers.
    enum HiddenFlags {
        static let cpl: UInt32 = 3
        static let cs32: UInt32 = 1 << 4
        static let ss32: UInt32 = 1 << 5
        static let addseg: UInt32 = 1 << 6
        static let pe: UInt32 = 1 << 7
        static let lma: UInt32 = 1 << 14
        static let cs64: UInt32 = 1 << 15
    }

    /// An engine whose physical memory is `memory` (only whole pages are mapped).
    init(memory: PhysicalMemory) throws(UnicornFailure) {
        var engine: OpaquePointer?
        try Self.check("uc_open", uc_open(UC_ARCH_X86, UC_MODE_64, &engine))
        guard let engine else { throw .call("uc_open", UC_ERR_NOMEM) }
        handle = engine
        // A model with the instruction set extensions a guest may use (SSE4, AVX, XSAVE,
        // RDRAND): CPUID is never executed by Unicorn (it always causes a VM exit), so the
        // model only decides which instructions exist.
        try Self.check("uc_ctl(CPU_MODEL)", swiftvmx_uc_set_cpu_model(engine, Int32(UC_CPU_X86_HASWELL.rawValue)))
        let pages = memory.size & ~0xFFF
        if pages > 0 {
            try Self.check(
                "uc_mem_map_ptr",
                uc_mem_map_ptr(engine, 0, UInt64(pages), UInt32(UC_PROT_ALL.rawValue), memory.baseAddress))
        }
        // One page of Unicorn's own beyond the emulated memory: the scratch page.
        scratchPage = UInt64((memory.size + 0xFFF) & ~0xFFF)
        try Self.check("uc_mem_map", uc_mem_map(engine, scratchPage, 0x1000, UInt32(UC_PROT_ALL.rawValue)))
        try Self.check("uc_ctl(TLB_TYPE)", swiftvmx_uc_set_tlb_type(engine, Int32(UC_TLB_VIRTUAL.rawValue)))
        var savedContext: OpaquePointer?
        try Self.check("uc_context_alloc", uc_context_alloc(engine, &savedContext))
        guard let savedContext else { throw .call("uc_context_alloc", UC_ERR_NOMEM) }
        context = savedContext
        contextData = UnsafeMutableRawPointer(savedContext)
        layout = try Self.probeLayout(engine: engine, context: savedContext)
        contextData = UnsafeMutableRawPointer(savedContext) + layout.data
    }

    deinit {
        if let snapshot { uc_context_free(snapshot) }
        uc_context_free(context)
        uc_close(handle)
    }

    static func check(_ what: String, _ error: uc_err) throws(UnicornFailure) {
        guard error == UC_ERR_OK else { throw .call(what, error) }
    }

    /// Finds the offsets of `ContextLayout` by writing sentinel values through the register
    /// API and searching the saved context for them.
    private static func probeLayout(engine: OpaquePointer, context: OpaquePointer) throws(UnicornFailure)
        -> ContextLayout
    {
        let raxSentinel: UInt64 = 0x5157_4D58_0000_0001
        let ldtBaseSentinel: UInt64 = 0x5157_4D58_0000_0002
        let dr0Sentinel: UInt64 = 0x5157_4D58_0000_0003
        // IA32_EFER = SCE | LME | NXE (QEMU keeps LMA as it was: set after reset).
        var eferWrite = uc_x86_msr(rid: 0xC000_0080, value: 0x901)
        uc_reg_write(engine, Int32(UC_X86_REG_MSR.rawValue), &eferWrite)
        var rax = raxSentinel
        uc_reg_write(engine, Int32(UC_X86_REG_RAX.rawValue), &rax)
        var ldt = uc_x86_mmr(selector: 0x5A5A, base: ldtBaseSentinel, limit: 0x1357_2468, flags: 0x8200)
        uc_reg_write(engine, Int32(UC_X86_REG_LDTR.rawValue), &ldt)
        var dr0 = dr0Sentinel
        uc_reg_write(engine, Int32(UC_X86_REG_DR0.rawValue), &dr0)
        try check("uc_context_save", uc_context_save(engine, context))
        let size = uc_context_size(engine)
        let bytes = UnsafeRawPointer(context)
        func find(_ value: UInt64) -> Int? {
            var offset = 0
            while offset + 8 <= size + 64 {
                if bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == value { return offset }
                offset += 4
            }
            return nil
        }
        guard let data = find(raxSentinel), let ldtBase = find(ldtBaseSentinel), let dr0Offset = find(dr0Sentinel),
            let eferOffset = find(0xD01) ?? find(0x901)
        else {
            throw .layout("sentinel values not found in the saved CPU context")
        }
        // ldt follows segs[6] (6 x 24 bytes); its base is at +8.
        let segments = ldtBase - 8 - 6 * 24
        let hiddenFlags = segments - 8
        // error_code, exception_is_int, exception_next_eip, then dr[8]; after them four
        // breakpoint pointers, then old_exception.
        let errorCode = dr0Offset - 16
        let exceptionInFlight = dr0Offset + 8 * 8 + 4 * 8
        let inFlight = bytes.loadUnaligned(fromByteOffset: exceptionInFlight, as: Int32.self)
        let flags = bytes.loadUnaligned(fromByteOffset: hiddenFlags, as: UInt32.self)
        let ldtSelector = bytes.loadUnaligned(fromByteOffset: ldtBase - 8, as: UInt32.self)
        let dr6 = bytes.loadUnaligned(fromByteOffset: dr0Offset + 48, as: UInt64.self)
        let efer = bytes.loadUnaligned(fromByteOffset: eferOffset, as: UInt64.self) & 0x901
        // After reset in 64-bit mode QEMU has LMA and CS64 set; DR6 reads its fixed ones.
        guard flags & (HiddenFlags.lma | HiddenFlags.cs64) == HiddenFlags.lma | HiddenFlags.cs64,
            ldtSelector == 0x5A5A, dr6 == 0xFFFF_0FF0, efer == 0x901, inFlight == -1
        else {
            throw .layout(
                """
                unexpected CPUX86State layout (hflags \(flags), ldt selector \(ldtSelector), dr6 \(dr6), \
                efer \(efer), old_exception \(inFlight))
                """
            )
        }
        return ContextLayout(
            data: data, segments: segments - data, hiddenFlags: hiddenFlags - data,
            errorCode: errorCode - data, exceptionInFlight: exceptionInFlight - data, efer: eferOffset - data)
    }

    // MARK: Registers

    func read(_ register: uc_x86_reg) -> UInt64 {
        var value: UInt64 = 0
        uc_reg_read(handle, Int32(register.rawValue), &value)
        return value
    }

    func write(_ register: uc_x86_reg, _ value: UInt64) {
        var value = value
        uc_reg_write(handle, Int32(register.rawValue), &value)
    }

    /// GDTR, IDTR, LDTR or TR.
    func readTable(_ register: uc_x86_reg) -> uc_x86_mmr {
        var value = uc_x86_mmr()
        uc_reg_read(handle, Int32(register.rawValue), &value)
        return value
    }

    func writeTable(_ register: uc_x86_reg, _ value: uc_x86_mmr) {
        var value = value
        uc_reg_write(handle, Int32(register.rawValue), &value)
    }

    func readMSR(_ msr: UInt32) -> UInt64 {
        var value = uc_x86_msr(rid: msr, value: 0)
        uc_reg_read(handle, Int32(UC_X86_REG_MSR.rawValue), &value)
        return value.value
    }

    func writeMSR(_ msr: UInt32, _ value: UInt64) {
        var value = uc_x86_msr(rid: msr, value: value)
        uc_reg_write(handle, Int32(UC_X86_REG_MSR.rawValue), &value)
    }

    // MARK: The CPU context: segment caches and hidden flags

    /// Copies the CPU state out; `segment`, `hiddenFlags` and `errorCode` read the copy and the
    /// setters edit it until `storeContext` copies it back.
    func loadContext() {
        uc_context_save(handle, context)
    }

    func storeContext() {
        uc_context_restore(handle, context)
    }

    func segment(_ register: SegmentRegister) -> SegmentCache {
        let record = contextData + layout.segments + 24 * register.rawValue
        return SegmentCache(
            selector: UInt16(truncatingIfNeeded: record.loadUnaligned(as: UInt32.self)),
            base: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            limit: record.loadUnaligned(fromByteOffset: 16, as: UInt32.self),
            flags: record.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
    }

    func setSegment(_ register: SegmentRegister, _ cache: SegmentCache) {
        let record = contextData + layout.segments + 24 * register.rawValue
        record.storeBytes(of: UInt32(cache.selector), as: UInt32.self)
        record.storeBytes(of: cache.base, toByteOffset: 8, as: UInt64.self)
        record.storeBytes(of: cache.limit, toByteOffset: 16, as: UInt32.self)
        record.storeBytes(of: cache.flags, toByteOffset: 20, as: UInt32.self)
    }

    var hiddenFlags: UInt32 {
        get { (contextData + layout.hiddenFlags).loadUnaligned(as: UInt32.self) }
        set { (contextData + layout.hiddenFlags).storeBytes(of: newValue, as: UInt32.self) }
    }

    /// IA32_EFER, all bits.
    var efer: UInt64 {
        get { (contextData + layout.efer).loadUnaligned(as: UInt64.self) }
        set { (contextData + layout.efer).storeBytes(of: newValue, as: UInt64.self) }
    }

    /// The error code of the exception Unicorn raised last (QEMU's env->error_code).
    var errorCode: UInt32 {
        UInt32(bitPattern: (contextData + layout.errorCode).loadUnaligned(as: Int32.self))
    }

    /// Forgets the exception Unicorn raised last. QEMU combines a contributory exception or
    /// page fault with the one it believes is still being delivered into a double fault, and
    /// believes so until its own delivery succeeds; here the emulated CPU delivers every
    /// exception (with its own double-fault rules, SDM Vol. 3A 6.15 Table 6-5), so Unicorn's
    /// delivery never runs, and without this a #DE or #GP long after an earlier one (even in
    /// another guest) would come out of Unicorn as #DF. Call between `loadContext` and
    /// `storeContext`.
    func clearExceptionInFlight() {
        (contextData + layout.exceptionInFlight).storeBytes(of: Int32(-1), as: Int32.self)
    }

    /// Recomputes the hidden flags that follow from CS, SS, DS, ES, CR0.PE, IA32_EFER.LMA and
    /// RFLAGS.VM the way QEMU's cpu_x86_load_seg_cache does, so that the translator decodes in
    /// the right mode. Call between `loadContext` and `storeContext`.
    func recomputeSegmentHiddenFlags(protectedMode: Bool, longModeActive: Bool, virtual8086: Bool) {
        let cs = segment(.cs), ss = segment(.ss)
        var flags =
            hiddenFlags
            & ~(HiddenFlags.cpl | HiddenFlags.cs32 | HiddenFlags.ss32 | HiddenFlags.addseg
            | HiddenFlags.pe | HiddenFlags.lma | HiddenFlags.cs64)
        if protectedMode { flags |= HiddenFlags.pe }
        if longModeActive { flags |= HiddenFlags.lma }
        flags |= UInt32(ss.dpl)
        if longModeActive && cs.long {
            flags |= HiddenFlags.cs32 | HiddenFlags.ss32 | HiddenFlags.cs64
        } else {
            if cs.defaultBig { flags |= HiddenFlags.cs32 }
            if ss.defaultBig { flags |= HiddenFlags.ss32 }
            if !protectedMode || virtual8086 || !cs.defaultBig {
                flags |= HiddenFlags.addseg
            } else if segment(.ds).base | segment(.es).base | ss.base != 0 {
                flags |= HiddenFlags.addseg
            }
        }
        hiddenFlags = flags
    }

    // MARK: Running

    /// Runs from `rip` (the instruction pointer, not a linear address) until a hook stops the
    /// engine or an error occurs.
    func run(from rip: UInt64) -> uc_err {
        uc_emu_start(handle, rip, .max, 0, 0)
    }

    /// Runs at most `count` instructions from `rip`.
    func run(from rip: UInt64, count: Int) -> uc_err {
        uc_emu_start(handle, rip, .max, 0, count)
    }

    /// Saves the whole CPU state, for `restoreSnapshot`.
    func saveSnapshot() {
        if snapshot == nil {
            var allocated: OpaquePointer?
            uc_context_alloc(handle, &allocated)
            snapshot = allocated
        }
        if let snapshot { uc_context_save(handle, snapshot) }
    }

    func restoreSnapshot() {
        if let snapshot { uc_context_restore(handle, snapshot) }
    }

    /// A new saved copy of the CPU state (the caller frees it with uc_context_free).
    func copyState() -> OpaquePointer? {
        var allocated: OpaquePointer?
        guard uc_context_alloc(handle, &allocated) == UC_ERR_OK, let allocated else { return nil }
        uc_context_save(handle, allocated)
        return allocated
    }

    func saveState(into state: OpaquePointer) {
        uc_context_save(handle, state)
    }

    func restoreState(_ state: OpaquePointer) {
        uc_context_restore(handle, state)
    }

    func stop() {
        uc_emu_stop(handle)
    }

    func flushTLB() {
        _ = swiftvmx_uc_flush_tlb(handle)
    }

    func flushTranslations() {
        _ = swiftvmx_uc_flush_translations(handle)
    }

    func addHook(type: uc_hook_type, callback: UnsafeMutableRawPointer, userData: UnsafeMutableRawPointer) -> uc_hook {
        var hook: uc_hook = 0
        let error = swiftvmx_uc_hook_add(handle, &hook, Int32(type.rawValue), callback, userData)
        precondition(error == UC_ERR_OK, "uc_hook_add failed: \(String(cString: uc_strerror(error)))")
        return hook
    }

    func removeHook(_ hook: uc_hook) {
        uc_hook_del(handle, hook)
    }
}
