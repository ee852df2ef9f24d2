; realmode: a guest that starts like a processor after reset (CS F000H, base FFFF0000H,
; IP FFF0H, CR0 60000010H; unrestricted guest and EPT only). The hypervisor's reset-vector
; page jumps to 0000:7C00H, where this image is loaded. In real mode it greets on COM1, asks
; CPUID for the hypervisor, checks CR0 and EDX as reset left them, prints through the PRINT
; hypercall, then enters 32-bit protected mode (the MOV to CR0 exits: PE is the host's) and
; writes to the read/execute reset-vector page: an EPT violation ends it.
bits 16
org 0x7C00
%include "guest.inc"

start:
    mov [reset_edx], edx
    mov si, greeting
    call puts16

    mov eax, 0x40000000
    cpuid
    mov [signature], ebx
    mov [signature + 4], ecx
    mov eax, HC_PRINT
    mov ebx, signature_line
    mov ecx, signature_end - signature_line
    vmcall

    mov si, cr0_wrong
    mov eax, cr0
    cmp eax, 0x60000010
    jne .cr0_report
    mov si, cr0_reset
.cr0_report:
    call puts16

    mov eax, 1
    cpuid
    mov si, edx_wrong
    cmp eax, [reset_edx]
    jne .edx_report
    mov si, edx_reset
.edx_report:
    call puts16

    mov eax, HC_PRINT
    mov ebx, hypercall_line
    mov ecx, hypercall_end - hypercall_line
    vmcall

    cli
    lgdt [gdt_register]
    mov eax, cr0
    and eax, 0x9FFFFFFF             ; caches on (CD, NW clear), as firmware would
    or al, 1                        ; PE
    mov cr0, eax
    jmp dword 0x08:protected

puts16:                             ; DS:SI, NUL-terminated, to COM1
    lodsb
    test al, al
    jz .done
    mov bl, al
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    mov al, bl
    mov dx, COM1
    out dx, al
    jmp puts16
.done:
    ret

bits 32
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00
    mov eax, cr0
    mov [cr0_now], eax
    mov eax, HC_PRINT
    mov ebx, protected_line
    mov ecx, protected_end - protected_line
    vmcall
    mov dword [0xFFFFF000], 0       ; the reset-vector page is read/execute only
    mov eax, HC_PRINT
    mov ebx, not_reached
    mov ecx, 11
    vmcall
    cli
    hlt

greeting:       db "hello from real mode on COM1", 13, 10, 0
cr0_reset:      db "CR0 reads 60000010H, its reset value", 13, 10, 0
cr0_wrong:      db "CR0 does not read its reset value", 13, 10, 0
edx_reset:      db "EDX held the processor signature at reset", 13, 10, 0
edx_wrong:      db "EDX did not hold the processor signature at reset", 13, 10, 0
signature_line: db "hypervisor signature: "
signature:      times 8 db 0
signature_end:
hypercall_line: db "hello from real mode, through the PRINT hypercall"
hypercall_end:
protected_line: db "in 32-bit protected mode; writing to the reset-vector page"
protected_end:
not_reached:    db "not reached"
align 4
reset_edx:      dd 0
cr0_now:        dd 0
align 8
gdt:            dq 0
                dq 0x00CF9A000000FFFF   ; 08H: 32-bit code, 4 GiB
                dq 0x00CF92000000FFFF   ; 10H: data, 4 GiB
gdt_register:   dw 3 * 8 - 1
                dd gdt
