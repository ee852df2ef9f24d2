// EPT violations of a pass-through guest, exit reason 48 (docs/LINUX.md, "Isolation"). The
// guest's EPT maps everything but the hypervisor's RAM, so a violation is an access to the
// hypervisor's memory (root in the guest reading /dev/mem, say) or to an address beyond the
// machine's map. Stopping the whole operating system for it would hand any user with /dev/mem
// a way to kill the machine; instead the access is logged (the standard violation line) and the
// page is mapped to one scratch page of the hypervisor's - reads see zeros or what the guest
// wrote there, writes land in it - so the hypervisor's memory is never reached and the guest
// goes on. The scratch mappings are bounded (`scratchLimit`): past that the guest stops.
import VMX

extension PassThroughPlatform {
    /// Pages of EPT tables reserved for scratch mappings, and the most pages answered.
    static let scratchTablePages: UInt64 = 16
    static let scratchLimit = 256

    /// Takes the scratch page and the table pages from the arena, at build time.
    func reserveScratch<P: Processor>(arena: inout PageArena, cpu: P) -> Bool {
        let page = PhysicalLayout.pageSize
        guard let scratch = arena.allocate(bytes: page, zeroingWith: cpu),
            let tables = arena.allocate(bytes: Self.scratchTablePages * page, zeroingWith: cpu)
        else { return false }
        scratchPage = scratch
        tablePages = PageArena(base: tables, end: tables + Self.scratchTablePages * page)
        return true
    }
}

public func handlePassThroughEPTViolation<P: Host>(_ vcpu: VirtualCPU<P>, _ exit: inout ExitContext) -> ExitAction {
    guard let platform = vcpu.platform, let ept = vcpu.memory.ept else { return handleEPTViolation(vcpu, &exit) }
    let address = vcpu.read(.guestPhysicalAddress)
    let page = address & ~(PhysicalLayout.pageSize - 1)
    if page == platform.localAPICPage && EPTViolationQualification(rawValue: exit.qualification).isDataWrite {
        return handleLocalAPICWrite(vcpu, page: page, offset: address - page, &exit)
    }
    // Only a page nothing maps: a violation on a mapped page (rights) is not this case. The
    // guest's other virtual CPUs share the tables: one of them maps at a time.
    func mapScratch() -> Bool {
        guard platform.scratchMappings < PassThroughPlatform.scratchLimit, ept.translate(page, cpu: vcpu.cpu) == nil,
            ept.map(
                guestPhysical: page, host: platform.scratchPage, bytes: PhysicalLayout.pageSize,
                permissions: [.read, .write], largePages: false, memoryType: EPT.writeBack,
                arena: &platform.tablePages, cpu: vcpu.cpu)
        else { return false }
        platform.scratchMappings += 1
        return true
    }
    let mapped = vcpu.group.map { $0.withLock(cpu: vcpu.cpu, mapScratch) } ?? mapScratch()
    guard mapped else {
        // Another virtual CPU mapped it between this one's access and now: nothing to do.
        if ept.translate(page, cpu: vcpu.cpu)?.host == platform.scratchPage && vcpu.group != nil { return .resume }
        return handleEPTViolation(vcpu, &exit)
    }
    logEPTViolation(vcpu, exit)
    let owner: StaticString =
        platform.memory?.touchesHypervisor(PhysicalRange(start: page, size: PhysicalLayout.pageSize)) == true
        ? "is the hypervisor's" : "is outside the machine's map"
    vcpu.cpu.log(
        """
        guest \(vcpu.name): guest-physical \(hex: page) \(owner): mapped to a scratch page (reads zeros, writes \
        discarded)
        """
    )
    // The mapping replaced a not-present entry, which the processor does not cache (SDM
    // 29.4.3.1); invalidating anyway keeps this independent of that rule.
    if let type = vcpu.setup.inveptType { try? vcpu.cpu.invept(type: type, eptp: ept.pointer) }
    return .resume
}
