// Privileged x86-64 instructions as `static inline` functions, imported into Swift (bare metal
// only). Each wrapper is one instruction; clang inlines them into the Swift code.
// AT&T operand order: source first, destination last.
#ifndef SWIFTVMX_INTRINSICS_H
#define SWIFTVMX_INTRINSICS_H

#include <stdint.h>

// MARK: Identification and model-specific registers

typedef struct CPUIDRegisters {
    uint32_t eax, ebx, ecx, edx;
} CPUIDRegisters;

static inline __attribute__((always_inline)) CPUIDRegisters x86_cpuid(uint32_t leaf, uint32_t subleaf) {
    CPUIDRegisters r;
    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t x86_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void x86_wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                     : "memory");
}

static inline uint64_t x86_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

// MARK: Control registers

static inline uint64_t x86_read_cr0(void) {
    uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v;
}
static inline void x86_write_cr0(uint64_t v) {
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline uint64_t x86_read_cr2(void) {
    uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v;
}
static inline uint64_t x86_read_cr3(void) {
    uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v;
}
static inline void x86_write_cr3(uint64_t v) {
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline uint64_t x86_read_cr4(void) {
    uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v;
}
static inline void x86_write_cr4(uint64_t v) {
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

// MARK: Port I/O

static inline void x86_outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
static inline uint8_t x86_inb(uint16_t port) {
    uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v;
}
static inline void x86_outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
static inline void x86_outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
static inline uint16_t x86_inw(uint16_t port) {
    uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v;
}
static inline uint32_t x86_inl(uint16_t port) {
    uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v;
}

// MARK: Memory-mapped I/O: volatile, so that the compiler neither narrows nor merges accesses
// (a read-modify-write of one bit became a one-byte store, which the I/O APIC rejects).

static inline uint32_t x86_mmio_read32(uint64_t address) {
    return *(volatile uint32_t *)address;
}
static inline void x86_mmio_write32(uint64_t address, uint32_t value) {
    *(volatile uint32_t *)address = value;
}

// MARK: Descriptor tables and the task register

/// The 10-byte operand of LGDT/LIDT.
typedef struct __attribute__((packed)) DescriptorTableRegister {
    uint16_t limit;
    uint64_t base;
} DescriptorTableRegister;

static inline void x86_lgdt(uint64_t base, uint16_t limit) {
    DescriptorTableRegister r = { limit, base };
    __asm__ volatile("lgdt %0" : : "m"(r) : "memory");
}
static inline void x86_lidt(uint64_t base, uint16_t limit) {
    DescriptorTableRegister r = { limit, base };
    __asm__ volatile("lidt %0" : : "m"(r) : "memory");
}
static inline void x86_ltr(uint16_t selector) {
    __asm__ volatile("ltr %0" : : "r"(selector) : "memory");
}

/// Reloads CS (far return) and the data segment registers after a new GDT is loaded.
static inline void x86_reload_segments(uint16_t code, uint16_t data) {
    __asm__ volatile(
        "pushq %q0\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w1, %%ds\n\t"
        "movw %w1, %%es\n\t"
        "movw %w1, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movw %%ax, %%fs\n\t"
        "movw %%ax, %%gs"
        : : "r"((uint64_t)code), "r"((uint64_t)data) : "rax", "memory");
}

// MARK: Interrupts and halting

static inline void x86_cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void x86_hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void x86_pause(void) { __asm__ volatile("pause"); }
/// The Bochs magic breakpoint (`magic_break: enabled=1`); a no-op elsewhere.
static inline void x86_bochs_magic_break(void) { __asm__ volatile("xchgw %%bx, %%bx" : : : "memory"); }

// MARK: VMX instructions (SDM Vol. 3C 31.3)
//
// Outcome of a VMX instruction (SDM 31.2 "Conventions"): VMsucceed clears CF and ZF,
// VMfailInvalid sets CF, VMfailValid sets ZF.
enum {
    VMX_SUCCEED = 0,
    VMX_FAIL_INVALID = 1,
    VMX_FAIL_VALID = 2,
};

#define VMX_OUTCOME(cf, zf) ((cf) ? VMX_FAIL_INVALID : ((zf) ? VMX_FAIL_VALID : VMX_SUCCEED))

static inline int x86_vmxon(uint64_t region) {
    uint8_t cf, zf;
    __asm__ volatile("vmxon %2; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(region) : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

static inline int x86_vmxoff(void) {
    uint8_t cf, zf;
    __asm__ volatile("vmxoff; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

static inline int x86_vmclear(uint64_t vmcs) {
    uint8_t cf, zf;
    __asm__ volatile("vmclear %2; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(vmcs) : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

static inline int x86_vmptrld(uint64_t vmcs) {
    uint8_t cf, zf;
    __asm__ volatile("vmptrld %2; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(vmcs) : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

/// VMPTRST stores the current-VMCS pointer; it has no failure outcomes of its own.
static inline int x86_vmptrst(uint64_t *vmcs) {
    uint8_t cf, zf;
    __asm__ volatile("vmptrst %2; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf), "=m"(*vmcs) : : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

/// VMREAD r/m64, r64: the field whose encoding is in the register operand. Always inlined, with
/// the flags as condition-code outputs: a VM exit's path does several (make bench).
static inline __attribute__((always_inline)) int x86_vmread(uint64_t encoding, uint64_t *value) {
    uint8_t cf, zf;
    uint64_t v;
    __asm__ volatile("vmread %[encoding], %[value]"
                     : [value] "=r"(v), "=@ccc"(cf), "=@ccz"(zf) : [encoding] "r"(encoding));
    *value = v;
    return VMX_OUTCOME(cf, zf);
}

/// VMREAD without the outcome, for fields that exist on a current VMCS (a VM exit's path).
static inline __attribute__((always_inline)) uint64_t x86_vmread_field(uint64_t encoding) {
    uint64_t v;
    __asm__ volatile("vmread %[encoding], %[value]" : [value] "=r"(v) : [encoding] "r"(encoding) : "cc");
    return v;
}

/// VMWRITE without the outcome, for fields that exist and take the value (a VM exit's path).
static inline __attribute__((always_inline)) void x86_vmwrite_field(uint64_t encoding, uint64_t value) {
    __asm__ volatile("vmwrite %[value], %[encoding]" : : [encoding] "r"(encoding), [value] "r"(value)
                     : "cc", "memory");
}

/// VMWRITE r64, r/m64: field encoding in the first (register) operand.
static inline __attribute__((always_inline)) int x86_vmwrite(uint64_t encoding, uint64_t value) {
    uint8_t cf, zf;
    __asm__ volatile("vmwrite %[value], %[encoding]"
                     : "=@ccc"(cf), "=@ccz"(zf) : [encoding] "r"(encoding), [value] "r"(value)
                     : "memory");
    return VMX_OUTCOME(cf, zf);
}

/// INVEPT type, descriptor (EPTP, reserved) (SDM 31.3 INVEPT).
static inline int x86_invept(uint64_t type, const void *descriptor) {
    uint8_t cf, zf;
    __asm__ volatile("invept %2, %3; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(*(const char (*)[16])descriptor), "r"(type)
                     : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

/// INVVPID type, descriptor (VPID, reserved, linear address) (SDM 31.3 INVVPID).
static inline int x86_invvpid(uint64_t type, const void *descriptor) {
    uint8_t cf, zf;
    __asm__ volatile("invvpid %2, %3; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(*(const char (*)[16])descriptor), "r"(type)
                     : "cc", "memory");
    return VMX_OUTCOME(cf, zf);
}

// MARK: Symbols from boot/ and linker/kernel.ld

/// The register frame the exception stubs in boot/interrupts.asm push, lowest address first.
typedef struct ExceptionFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, errorCode;
    // Pushed by the processor (SDM Vol. 3A 6.14.2, 64-bit mode stack frame).
    uint64_t rip, cs, rflags, rsp, ss;
} ExceptionFrame;

/// Address of the stub for exception vector `vector` (0-31).
static inline uint64_t kernel_exception_stub(unsigned vector) {
    extern const uint64_t exception_stub_table[32];
    return exception_stub_table[vector & 31];
}

/// Linker-script symbols: where the loaded image starts and ends (bss included).
static inline uint64_t kernel_image_start(void) {
    extern char __kernel_start[];
    return (uint64_t)__kernel_start;
}
static inline uint64_t kernel_image_end(void) {
    extern char __kernel_end[];
    return (uint64_t)__kernel_end;
}
/// The end of the kernel's code and read-only data (linker/kernel.ld): what must never change.
static inline uint64_t kernel_rodata_end(void) {
    extern char __rodata_end[];
    return (uint64_t)__rodata_end;
}

/// Storage reserved in boot/stacks.asm (bss): the top (highest address) of each stack.
static inline uint64_t kernel_double_fault_stack_top(void) {
    extern char double_fault_stack_top[];
    return (uint64_t)double_fault_stack_top;
}
static inline uint64_t kernel_nmi_stack_top(void) {
    extern char nmi_stack_top[];
    return (uint64_t)nmi_stack_top;
}
static inline uint64_t kernel_machine_check_stack_top(void) {
    extern char machine_check_stack_top[];
    return (uint64_t)machine_check_stack_top;
}
/// The boot page-directory-pointer table (boot/entry.asm): entry n maps GiB n.
static inline uint64_t kernel_boot_pdpt(void) {
    extern char boot_pdpt[];
    return (uint64_t)boot_pdpt;
}

/// Descriptor-table storage in boot/stacks.asm (bss), filled in by the Swift kernel.
static inline uint64_t kernel_gdt_storage(void) {
    extern char kernel_gdt[];
    return (uint64_t)kernel_gdt;
}
static inline uint64_t kernel_tss_storage(void) {
    extern char kernel_tss[];
    return (uint64_t)kernel_tss;
}
static inline uint64_t kernel_idt_storage(void) {
    extern char kernel_idt[];
    return (uint64_t)kernel_idt;
}

/// Calls `function` on the stack that ends at `top` (boot/runtime.asm).
void kernel_run_on_stack(uint64_t top, void (*function)(void));

/// Early memory below 1 MiB (linker/kernel.ld): boot page tables and the early heap.
static inline uint64_t kernel_low_memory_start(void) {
    extern char boot_low_memory_start[];
    return (uint64_t)boot_low_memory_start;
}
static inline uint64_t kernel_low_memory_end(void) {
    extern char boot_low_memory_end[];
    return (uint64_t)boot_low_memory_end;
}

/// The early heap in early memory (linker/kernel.ld), used until the page allocator exists.
static inline uint64_t kernel_early_heap_start(void) {
    extern char early_heap_start[];
    return (uint64_t)early_heap_start;
}
static inline uint64_t kernel_early_heap_end(void) {
    extern char early_heap_end[];
    return (uint64_t)early_heap_end;
}

// MARK: Several processors (boot/ap.asm, Sources/Kernel/Processors.swift)

/// The real-mode trampoline the kernel copies below 1 MiB, and its end.
static inline uint64_t kernel_ap_trampoline_start(void) {
    extern char ap_trampoline[];
    return (uint64_t)ap_trampoline;
}
static inline uint64_t kernel_ap_trampoline_end(void) {
    extern char ap_trampoline_end[];
    return (uint64_t)ap_trampoline_end;
}
/// The start-up slot: (APIC ID << 8) | state, and the per-CPU block of the AP being started.
static inline uint32_t *kernel_ap_boot_state(void) {
    extern uint32_t ap_boot_state;
    return &ap_boot_state;
}
static inline uint64_t *kernel_ap_boot_percpu(void) {
    extern uint64_t ap_boot_percpu;
    return &ap_boot_percpu;
}

static inline uint32_t x86_atomic_load32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void x86_atomic_store32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
static inline void x86_atomic_store64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
/// Compare-exchange: true when *p held `expected` and now holds `desired`.
static inline _Bool x86_atomic_cas32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
/// Compare-exchange: the value *p held (`expected` when it now holds `desired`).
static inline uint32_t x86_atomic_cmpxchg32(uint32_t *p, uint32_t expected, uint32_t desired) {
    __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
/// The first quadword at GS base: the per-CPU block's pointer to itself.
static inline uint64_t x86_read_gs_quadword0(void) {
    uint64_t v; __asm__ volatile("movq %%gs:0, %0" : "=r"(v)); return v;
}

/// The debugger's snapshot of the current vCPU (boot/debug.asm, Sources/Hypervisor/DebugSnapshot.swift).
static inline uint64_t kernel_debug_snapshot_address(void) {
    extern char swiftvmx_debug_snapshot[];
    return (uint64_t)swiftvmx_debug_snapshot;
}

/// MOV to DR0-DR3: the guest debugger's hardware breakpoints (VM entry does not switch DR0-DR3,
/// so the guest runs with these; Sources/Kernel/DebugPort.swift).
static inline void x86_write_dr0(uint64_t v) { __asm__ volatile("mov %0, %%dr0" : : "r"(v)); }
static inline void x86_write_dr1(uint64_t v) { __asm__ volatile("mov %0, %%dr1" : : "r"(v)); }
static inline void x86_write_dr2(uint64_t v) { __asm__ volatile("mov %0, %%dr2" : : "r"(v)); }
static inline void x86_write_dr3(uint64_t v) { __asm__ volatile("mov %0, %%dr3" : : "r"(v)); }
static inline uint64_t x86_read_dr0(void) { uint64_t v; __asm__ volatile("mov %%dr0, %0" : "=r"(v)); return v; }
static inline uint64_t x86_read_dr1(void) { uint64_t v; __asm__ volatile("mov %%dr1, %0" : "=r"(v)); return v; }
static inline uint64_t x86_read_dr2(void) { uint64_t v; __asm__ volatile("mov %%dr2, %0" : "=r"(v)); return v; }
static inline uint64_t x86_read_dr3(void) { uint64_t v; __asm__ volatile("mov %%dr3, %0" : "=r"(v)); return v; }

// MARK: VM entry and exit (boot/vmx.asm)

/// Enters the guest of the current VMCS (VMLAUNCH when `launch`, else VMRESUME) with the
/// general-purpose registers at `registers` (GuestRegisters, 128 bytes) and returns at the next
/// VM exit with them saved back: VMX_SUCCEED, or VMX_FAIL_INVALID / VMX_FAIL_VALID when the
/// instruction itself failed.
int vmx_enter_guest(void *registers, int launch);

/// The benchmark's assembly dispatcher around vmx_enter_guest: handles CPUID, VMCALL
/// GET_VERSION and OUT to port 80H itself, records every exit in the statistics page at
/// `statistics`, and returns VMX_SUCCEED at the first exit it does not handle.
int vmx_baseline_run(void *registers, int launch, uint64_t statistics);

/// Where VM exits continue (HOST_RIP).
static inline uint64_t kernel_vm_exit_stub(void) {
    extern char vmx_exit_stub[];
    return (uint64_t)vmx_exit_stub;
}

/// The variable that holds the exit-statistics page's address, for debuggers.
static inline uint64_t *kernel_exit_statistics_symbol(void) {
    extern uint64_t swiftvmx_exit_statistics;
    return &swiftvmx_exit_statistics;
}

// MARK: NMIs

/// IRET to the next instruction: ends the blocking of NMIs that a VM exit caused by an NMI
/// leaves in effect (SDM 28.1: "An NMI causes subsequent NMIs to be blocked, but only after
/// the VM exit completes"), which only IRET lifts (SDM Vol. 3A 6.7.1).
static inline void x86_iret_to_self(void) {
    __asm__ volatile(
        "movq %%rsp, %%rax\n\t"
        "pushq $0x10\n\t"
        "pushq %%rax\n\t"
        "pushfq\n\t"
        "pushq $0x08\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "iretq\n"
        "1:"
        : : : "rax", "memory");
}

// MARK: Built-in guests (boot/guests.asm)

/// One built-in guest: NUL-terminated name and options, and the image's bytes.
typedef struct BuiltinGuest {
    const char *name;
    const char *options;
    const unsigned char *image;
    uint64_t size;
} BuiltinGuest;

/// The table of built-in guests; an entry with a null name ends it.
static inline const BuiltinGuest *kernel_builtin_guests(void) {
    extern const BuiltinGuest builtin_guest_table[];
    return builtin_guest_table;
}

#endif
