// The guest-state area for each starting mode (SDM 25.4 "Guest-State Area"), chosen so that VM
// entry's checks (SDM 27.3) pass: segment access rights as Table 25-2 encodes them, CR0/CR4
// within the VMX-fixed bits (CR0.PE and CR0.PG may be 0 only under unrestricted guest), an
// unusable LDTR where there is none, a busy TSS in TR.
import VMX

/// One segment register as the VMCS holds it.
public struct SegmentState: Equatable, Sendable {
    public var selector: UInt16
    public var base: UInt64
    public var limit: UInt32
    /// Access rights (SDM Table 25-2): type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15,
    /// unusable 16.
    public var accessRights: UInt32

    public init(selector: UInt16, base: UInt64, limit: UInt32, accessRights: UInt32) {
        self.selector = selector
        self.base = base
        self.limit = limit
        self.accessRights = accessRights
    }

    public static let unusable = SegmentState(
        selector: 0, base: 0, limit: 0, accessRights: SegmentAccessRights.unusable.rawValue)
}

/// Where the hypervisor's structures sit in the guest (offsets into GuestMemory.structures).
public enum GuestStructures {
    public static let pml4: UInt64 = 0x0000
    public static let pdpt: UInt64 = 0x1000
    public static let pd: UInt64 = 0x2000
    public static let gdt: UInt64 = 0x3000
    public static let tss: UInt64 = 0x3100
    /// GDT selectors: 64-bit code, data, 32-bit code, 64-bit TSS (two slots).
    public static let code64Selector: UInt16 = 0x08
    public static let dataSelector: UInt16 = 0x10
    public static let code32Selector: UInt16 = 0x18
    public static let tssSelector: UInt16 = 0x20
    public static let gdtLimit: UInt32 = 0x2F
    public static let tssLimit: UInt32 = 0x67
    /// Where the reset-vector page of a real-mode guest is mapped, and where in it the CPU starts.
    public static let resetVectorPage = PowerUpState.resetVectorPage
    public static let resetVectorOffset = PowerUpState.resetVectorOffset
}

/// The registers a guest starts with.
public struct GuestStartState: Sendable {
    public var cr0: UInt64
    public var cr0Shadow: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var cr4Shadow: UInt64
    public var efer: UInt64
    public var cs: SegmentState
    public var ss: SegmentState
    public var ds: SegmentState
    public var es: SegmentState
    public var fs: SegmentState
    public var gs: SegmentState
    public var tr: SegmentState
    public var ldtr: SegmentState
    public var gdtrBase: UInt64
    public var gdtrLimit: UInt32
    public var idtrBase: UInt64
    public var idtrLimit: UInt32
    public var rip: UInt64
    public var rsp: UInt64
    public var rflags: UInt64
    /// RDX at the start (the processor signature at reset).
    public var rdx: UInt64

    /// The state for `mode`. `cr0Fixed`/`cr4Fixed` are what VM entry requires of the guest's
    /// CR0/CR4; `memory` says where the structures are; `signature` is CPUID.1:EAX.
    public static func make(
        mode: GuestMode, entry: UInt64, memory: GuestMemory, cr0Fixed: FixedBits,
        cr4Fixed: FixedBits, signature: UInt32
    ) -> GuestStartState {
        let structures = memory.structuresOffset  // a linear address: linear 0 is the block's start
        let flatData = SegmentState(
            selector: GuestStructures.dataSelector, base: 0, limit: 0xFFFF_FFFF,
            accessRights: SegmentAccessRights.flatData.rawValue)
        let tss = SegmentState(
            selector: GuestStructures.tssSelector, base: structures + GuestStructures.tss,
            limit: GuestStructures.tssLimit, accessRights: SegmentAccessRights.presentBusyTSS.rawValue)
        // The guest's view of CR0 and CR4, and what the processor really holds (caches stay on:
        // CD and NW are the host's, SDM 25.6.6).
        let cr0Wanted: UInt64, cr4Wanted: UInt64
        var state: GuestStartState
        switch mode {
        case .long:
            cr0Wanted = ControlRegister0([.pe, .mp, .et, .ne, .wp, .pg]).rawValue
            cr4Wanted = ControlRegister4([.pae, .osfxsr, .osxmmexcpt]).rawValue
            let code = SegmentState(
                selector: GuestStructures.code64Selector, base: 0, limit: 0xFFFF_FFFF,
                accessRights: SegmentAccessRights.flatCode64.rawValue)
            state = GuestStartState(
                cr0: 0, cr0Shadow: 0, cr3: memory.physicalBase + structures + GuestStructures.pml4, cr4: 0,
                cr4Shadow: 0,
                efer: ExtendedFeatureEnable.ia32eMode.rawValue, cs: code, ss: flatData, ds: flatData, es: flatData,
                fs: flatData, gs: flatData,
                tr: tss, ldtr: .unusable, gdtrBase: structures + GuestStructures.gdt,
                gdtrLimit: GuestStructures.gdtLimit,
                idtrBase: 0, idtrLimit: 0, rip: entry, rsp: structures, rflags: 2, rdx: 0)
        case .protected:
            cr0Wanted = ControlRegister0([.pe, .et, .ne]).rawValue
            cr4Wanted = 0
            let code = SegmentState(
                selector: GuestStructures.code32Selector, base: 0, limit: 0xFFFF_FFFF,
                accessRights: SegmentAccessRights.flatCode32.rawValue)
            state = GuestStartState(
                cr0: 0, cr0Shadow: 0, cr3: 0, cr4: 0, cr4Shadow: 0, efer: 0, cs: code, ss: flatData, ds: flatData,
                es: flatData, fs: flatData, gs: flatData, tr: tss, ldtr: .unusable,
                gdtrBase: structures + GuestStructures.gdt, gdtrLimit: GuestStructures.gdtLimit,
                idtrBase: 0, idtrLimit: 0, rip: entry, rsp: structures, rflags: 2, rdx: 0)
        case .real:
            // The power-up state (SDM Vol. 3A 10.1.1, Table 10-1): CR0 60000010H, CS F000H with
            // base FFFF0000H and IP FFF0H, other segments 0 with limit FFFFH, EDX the signature.
            cr0Wanted = ControlRegister0([.cd, .nw, .et]).rawValue
            cr4Wanted = 0
            let limit = PowerUpState.segmentLimit
            let data = SegmentState(
                selector: 0, base: 0, limit: limit, accessRights: SegmentAccessRights.realModeData.rawValue)
            state = GuestStartState(
                cr0: 0, cr0Shadow: 0, cr3: 0, cr4: 0, cr4Shadow: 0, efer: 0,
                cs: SegmentState(
                    selector: PowerUpState.csSelector, base: PowerUpState.csBase, limit: limit,
                    accessRights: SegmentAccessRights.realModeCode.rawValue),
                ss: data, ds: data, es: data, fs: data, gs: data,
                tr: SegmentState(
                    selector: 0, base: 0, limit: limit, accessRights: SegmentAccessRights.presentBusyTSS.rawValue),
                ldtr: SegmentState(
                    selector: 0, base: 0, limit: limit, accessRights: SegmentAccessRights.presentLDT.rawValue),
                gdtrBase: 0, gdtrLimit: limit, idtrBase: 0, idtrLimit: limit,
                rip: PowerUpState.eip, rsp: 0, rflags: 2, rdx: UInt64(signature))
        }
        let caches = ControlRegister0([.cd, .nw]).rawValue
        state.cr0Shadow = cr0Wanted
        state.cr0 = cr0Fixed.apply(to: cr0Wanted & ~caches)
        state.cr4Shadow = cr4Wanted
        state.cr4 = cr4Fixed.apply(to: cr4Wanted)
        return state
    }
}
