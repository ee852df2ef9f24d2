; The 32-bit entry point and the switch to long mode.
;
; Both multiboot protocols enter here in 32-bit protected mode, paging off, interrupts off,
; with EAX = the boot magic (0x2BADB002 multiboot1, 0x36D76289 multiboot2) and EBX = the
; physical address of the boot information. The stack is undefined.
;
; Steps (SDM Vol. 3A 10.8.5, "Initializing IA-32e Mode"):
;  1. check that the processor has long mode; if not, say so on COM1 and exit (failure);
;  2. identity-map the first GiB with 2-MiB pages (PML4 -> PDPT -> one PD); the Swift kernel
;     maps the rest of the first 4 GiB later (Sources/Kernel/IdentityMap.swift), so that the
;     page tables here stay small;
;  3. CR4.PAE, CR3, IA32_EFER.LME, then CR0.PG: the processor is in IA-32e mode;
;  4. load a GDT with a 64-bit code segment and jump to it;
;  5. call the Swift kernel: kmain(magic, info) (Sources/Kernel/Entry.swift).

%include "long-mode.inc"
extern kmain
extern boot_stack_top
extern __bss_start, __kernel_end
; Early memory below 1 MiB (linker/kernel.ld, docs/KERNEL.md): the boot page tables and the
; early heap live there rather than in .bss, so they do not count towards the loaded image.
extern boot_pml4, boot_pdpt, boot_pd, boot_low_memory_start, boot_low_memory_end
extern boot_low_memory_zero_end

global _start

COM1                equ 0x3F8
QEMU_DEBUG_EXIT     equ 0xF4        ; isa-debug-exit: QEMU exits with status (value << 1) | 1
BOCHS_SHUTDOWN_PORT equ 0x8900      ; "Shutdown" written here makes Bochs panic and exit

MULTIBOOT2_MAGIC    equ 0x36D76289
PAGE_PRESENT_WRITE  equ 0x3
PAGE_LARGE          equ 0x80        ; PS: a PD entry maps a 2-MiB page

section .text.boot progbits alloc exec nowrite align=16
bits 32

_start:
    cli
    cld
    mov esp, boot_stack_top
    mov ebp, eax                    ; boot magic
    mov esi, ebx                    ; boot information (kept in ESI: CPUID clobbers EBX)

    ; The loaders zero .bss, but the kernel relies on it, so make sure.
    mov edi, __bss_start
    mov ecx, __kernel_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd

    ; CPUID exists when EFLAGS.ID (bit 21) can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    xor eax, ecx
    test eax, 1 << 21
    jz .no_cpuid

    ; Long mode: CPUID.80000000H:EAX must reach 80000001H (leaves beyond the maximum return
    ; unrelated data), then CPUID.80000001H:EDX.LM[bit 29].
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_extended_leaf
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode

    ; The early memory below 1 MiB (which holds the stack in use) must not hold the multiboot2 information (one block of
    ; total_size bytes at EBX); multiboot1 information (QEMU puts it at 0x9000) is checked by
    ; the Swift kernel (Entry.swift), before it is parsed.
    cmp ebp, MULTIBOOT2_MAGIC
    jne .low_memory_free
    mov eax, esi
    add eax, [esi]                  ; end of the information
    cmp eax, boot_low_memory_start
    jbe .low_memory_free
    cmp esi, boot_low_memory_end
    jb .low_memory_taken
.low_memory_free:
    mov edi, boot_low_memory_start  ; page tables and early heap (not the stack in use)
    mov ecx, boot_low_memory_zero_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd

    ; Identity map [0, 1 GiB): PML4[0] -> PDPT, PDPT[0] -> PD, 512 PD entries of 2 MiB each.
    mov dword [boot_pml4], boot_pdpt + PAGE_PRESENT_WRITE
    mov dword [boot_pdpt], boot_pd + PAGE_PRESENT_WRITE
    xor ecx, ecx
.pd_entry:
    mov eax, ecx
    shl eax, 21
    or eax, PAGE_PRESENT_WRITE | PAGE_LARGE
    mov [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jb .pd_entry

    ENTER_IA32E_MODE                ; now in IA-32e compatibility mode

    lgdt [boot_gdt_register]
    jmp BOOT_CODE_SELECTOR:long_mode_entry

; Failure paths: one line naming the missing feature, then the common exit (failure).
.no_cpuid:
    call serial32_init
    mov esi, message_no_cpuid
    call serial32_write
    jmp exit32_failure
.no_extended_leaf:
    mov ebx, eax
    call serial32_init
    mov esi, message_max_leaf_before
    call serial32_write
    mov eax, ebx
    call serial32_write_hex32
    mov esi, message_max_leaf_after
    call serial32_write
    jmp exit32_failure
.no_long_mode:
    call serial32_init
    mov esi, message_no_long_mode
    call serial32_write
    jmp exit32_failure
.low_memory_taken:
    call serial32_init
    mov esi, message_low_memory_taken
    call serial32_write
    jmp exit32_failure

; The 32-bit twin of exitMachine(success: false) in Sources/Kernel/Exit.swift: the same final
; line, COM1 drained, then the same exits in the same order.
exit32_failure:
    mov esi, message_exit_failure
    call serial32_write
    call serial32_drain
    mov dx, QEMU_DEBUG_EXIT
    mov eax, 1                      ; QEMU exits with status 3
    out dx, eax
    mov dx, BOCHS_SHUTDOWN_PORT
    mov esi, shutdown_string
.shutdown_byte:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .shutdown_byte
.halt:
    cli
    hlt
    jmp .halt

; COM1 16550: 115200 baud (divisor 1), 8N1, FIFOs on, no interrupts.
serial32_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; IER: no interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                      ; LCR: DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                      ; divisor low
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; divisor high
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                      ; LCR: 8 data bits, no parity, 1 stop bit
    mov dx, COM1 + 2
    mov al, 0xC7
    out dx, al                      ; FCR: enable and clear FIFOs
    mov dx, COM1 + 4
    mov al, 0x03
    out dx, al                      ; MCR: DTR, RTS
    ret

; Writes AL to COM1 once the transmitter holding register is empty (LSR bit 5).
serial32_putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 1 << 5
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; Writes the NUL-terminated string at ESI.
serial32_write:
    lodsb
    test al, al
    jz .done
    call serial32_putc
    jmp serial32_write
.done:
    ret

; Writes EAX as eight hexadecimal digits.
serial32_write_hex32:
    mov ecx, 8
.digit:
    rol eax, 4
    push eax
    and eax, 0xF
    mov al, [hex_symbols + eax]
    call serial32_putc
    pop eax
    loop .digit
    ret

; Waits until the transmitter is empty (LSR bit 6), so the last line leaves the UART.
serial32_drain:
    mov dx, COM1 + 5
    mov ecx, 1000000
.wait:
    in al, dx
    test al, 1 << 6
    jnz .done
    loop .wait
.done:
    ret

bits 64
long_mode_entry:
    mov ax, BOOT_DATA_SELECTOR
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top
    fninit
    ; Bits 63:32 of the GPRs are undefined after the switch from 32-bit code (SDM Vol. 1
    ; 3.4.1.1), so zero-extend the two arguments explicitly.
    mov edi, ebp                    ; kmain(magic: UInt32, info: UInt32)
    mov esi, esi
    xor ebp, ebp
    call kmain
.halt:
    cli
    hlt
    jmp .halt

section .rodata
align 8
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code, DPL 0 (L = 1, D = 0)
    dq 0x00CF92000000FFFF           ; 0x10: data, DPL 0
boot_gdt_end:
BOOT_CODE_SELECTOR equ 0x08
BOOT_DATA_SELECTOR equ 0x10
boot_gdt_register:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

hex_symbols:            db "0123456789ABCDEF"
; Each message starts with a line end: GRUB leaves its cursor mid-line on the serial console.
message_no_cpuid:       db 10, "FATAL: long mode not supported (no CPUID instruction: EFLAGS.ID[bit 21] cannot be changed)", 10, 0
message_max_leaf_before: db 10, "FATAL: long mode not supported (CPUID.80000000H:EAX = ", 0
message_max_leaf_after: db "H < 80000001H: no leaf 80000001H)", 10, 0
message_no_long_mode:   db 10, "FATAL: long mode not supported (CPUID.80000001H:EDX.LM[bit 29] = 0)", 10, 0
message_low_memory_taken: db 10, "FATAL: the multiboot2 information overlaps the kernel's early memory [0x1000, 0x8800)", 10, 0
message_exit_failure:   db "SWIFTVMX EXIT: failure", 10, 0
shutdown_string:        db "Shutdown", 0
