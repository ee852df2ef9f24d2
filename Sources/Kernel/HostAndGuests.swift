// What the kernel hands the hypervisor besides the processor: the host state every VMCS gets
// (SDM 25.5: the values a VM exit loads, read from the running kernel) and the guest images -
// the built-in ones linked into the image (boot/guests.asm) and the boot modules.
import Hypervisor
import Intrinsics
import VMX

enum HostAndGuests {
    /// The host state of the running kernel on this processor, with VM exits continuing at
    /// vmx_exit_stub: an AP has its own GDT and TSS in its per-CPU block (Processors.swift).
    static func hostState() -> HostState {
        let me = PerCPU.current
        let ap = me.map { $0.index != 0 } ?? false
        let block = me?.address ?? 0
        return HostState(
            cr0: x86_read_cr0(), cr3: x86_read_cr3(), cr4: x86_read_cr4(),
            csSelector: GlobalDescriptorTable.codeSelector, ssSelector: GlobalDescriptorTable.dataSelector,
            dsSelector: GlobalDescriptorTable.dataSelector, esSelector: GlobalDescriptorTable.dataSelector,
            fsSelector: 0, gsSelector: 0, trSelector: GlobalDescriptorTable.taskStateSelector,
            fsBase: x86_rdmsr(MSR.ia32FSBase), gsBase: x86_rdmsr(MSR.ia32GSBase),
            trBase: ap ? block + PerCPU.tssOffset : GlobalDescriptorTable.taskStateBase,
            gdtrBase: ap ? block + PerCPU.gdtOffset : GlobalDescriptorTable.base,
            idtrBase: InterruptDescriptorTable.base,
            sysenterCS: UInt32(truncatingIfNeeded: x86_rdmsr(MSR.ia32SysenterCS)),
            sysenterESP: x86_rdmsr(MSR.ia32SysenterESP), sysenterEIP: x86_rdmsr(MSR.ia32SysenterEIP),
            efer: x86_rdmsr(MSR.ia32EFER), pat: x86_rdmsr(MSR.ia32PAT), rip: kernel_vm_exit_stub())
    }

    /// The built-in guests, in table order, then one image per boot module.
    static func guests(modules: [BootModule]) -> [GuestImage] {
        var images: [GuestImage] = []
        var entry = kernel_builtin_guests()!
        while let name = entry.pointee.name {
            images.append(
                GuestImage(
                    name: string(name), address: UInt64(UInt(bitPattern: entry.pointee.image!)),
                    size: entry.pointee.size, commandLine: string(entry.pointee.options), isBuiltIn: true))
            entry += 1
        }
        for (index, module) in modules.enumerated() {
            images.append(
                GuestImage(
                    name: String(text: "module \(index)"), address: module.range.start, size: module.range.size,
                    commandLine: module.name.string, isBuiltIn: false))
        }
        return images
    }

    private static func string(_ text: UnsafePointer<CChar>) -> String {
        var length = 0
        while text[length] != 0 { length += 1 }
        return text.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
