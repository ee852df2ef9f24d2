; The application processors' way from the start-up IPI into the Swift kernel.
;
; A SIPI with vector V starts an AP in real mode at CS = V << 8, IP = 0 (SDM Vol. 3A 9.4.4,
; "MP Initialization Example"). The kernel copies `ap_trampoline` (position independent: it
; addresses its own bytes through CS) to a free 4-KiB page below 1 MiB whose page number is V
; (Sources/Kernel/Processors.swift) and sends INIT, SIPI, SIPI. Then:
;  1. real mode: load the AP GDT below (its address is absolute: the kernel image is
;     identity mapped below 16 MiB), CR0.PE, far jump to 32-bit code in the kernel image;
;  2. 32-bit: claim the start-up slot - `ap_boot_state` must hold WAITING and this processor's
;     initial APIC ID (CPUID.1:EBX[31:24]); a compare-exchange turns it into ARRIVED. A CPU
;     that answers too late finds CANCELLED (or another CPU's slot) and halts for good, before
;     it touches any memory of the kernel's. Then long mode exactly as boot/entry.asm enters
;     it, on the boot PML4 (CR3 = 1000H), which maps the first 4 GiB once IdentityMap.extend
;     has run;
;  3. 64-bit: the stack from the per-CPU block `ap_boot_percpu` points at, then
;     `kernel_ap_main(percpu)` (Swift), which never returns.

%include "long-mode.inc"
extern kernel_ap_main
extern boot_pml4

global ap_trampoline, ap_trampoline_end, ap_boot_state, ap_boot_percpu

AP_WAITING          equ 1           ; ap_boot_state = (APIC ID << 8) | state
AP_ARRIVED          equ 2


AP_CODE32           equ 0x08
AP_DATA             equ 0x10
AP_CODE64           equ 0x18
PERCPU_STACK_TOP    equ 16          ; PerCPU.stackTopOffset (Processors.swift)

; Copied below 1 MiB; only CS-relative addressing inside it.
section .rodata
align 16
bits 16
ap_trampoline:
    cli
    cld
    mov ax, cs
    mov ds, ax
    o32 lgdt [ap_gdt_register - ap_trampoline]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword AP_CODE32:ap_entry32
align 8
ap_gdt_register:
    dw ap_gdt_end - ap_gdt - 1
    dd ap_gdt
ap_trampoline_end:

align 8
ap_gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: 32-bit code, 4 GiB
    dq 0x00CF92000000FFFF           ; 0x10: data, 4 GiB
    dq 0x00AF9A000000FFFF           ; 0x18: 64-bit code
ap_gdt_end:

section .text
bits 32
ap_entry32:
    mov ax, AP_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; Claim the slot: WAITING with this CPU's APIC ID becomes ARRIVED, atomically; the kernel
    ; cancels with the same compare-exchange (WAITING -> CANCELLED), so exactly one side wins.
    mov eax, 1
    cpuid
    shr ebx, 24
    shl ebx, 8
    lea ecx, [ebx + AP_ARRIVED]
    lea eax, [ebx + AP_WAITING]
    lock cmpxchg [ap_boot_state], ecx
    jne .cancelled

    ENTER_IA32E_MODE                ; now in IA-32e compatibility mode
    jmp AP_CODE64:ap_entry64

.cancelled:
    cli
    hlt
    jmp .cancelled

bits 64
ap_entry64:
    mov ax, AP_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rdi, [ap_boot_percpu]
    mov rsp, [rdi + PERCPU_STACK_TOP]
    fninit
    xor ebp, ebp
    call kernel_ap_main
.halt:
    cli
    hlt
    jmp .halt

section .data
align 8
ap_boot_percpu: dq 0                ; the per-CPU block of the AP being started
ap_boot_state:  dd 0                ; (APIC ID << 8) | WAITING, ARRIVED or CANCELLED (3)
