; user64: a guest image supplied the way a user supplies one - a boot module (GRUB module2,
; QEMU -initrd), here an ELF64 executable linked at 1 MiB. Its starting mode comes from the ELF
; class (64-bit: long mode), its load address and entry point from the ELF headers. It prints
; through the PRINT hypercall and asks to be shut down with code 7. Runs only where EPT exists.
bits 64
default rel
%include "guest.inc"

section .text
global start
start:
    PRINT "hello from a user-supplied ELF64 image"
    mov eax, HC_GET_VERSION
    vmcall
    mov eax, HC_SHUT_DOWN
    mov ebx, 7
    vmcall
.halt:
    cli
    hlt
    jmp .halt
