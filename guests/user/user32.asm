; user32: a user-supplied ELF32 executable linked at 1 MiB: the ELF class makes it start in
; 32-bit protected mode with paging off (which needs unrestricted guest and EPT). It greets on
; COM1 and through the PRINT hypercall, then halts.
bits 32
%include "guest.inc"

section .text
global start
start:
    mov esi, greeting
.next:
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    lodsb
    test al, al
    jz .done
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    mov eax, HC_PRINT
    mov ebx, line
    mov ecx, line_end - line
    vmcall
    cli
    hlt

section .rodata
greeting:   db "hello from a user-supplied ELF32 image on COM1", 10, 0
line:       db "hello from 32-bit protected mode, through the PRINT hypercall"
line_end:
