; ept: a 64-bit guest that reaches for memory it was not given (EPT only). It maps linear
; 200000H to guest-physical 40000000H (1 GiB) in its own page directory - the hypervisor's
; page tables for it sit in the top 64 KiB of its 2 MiB, the page directory at 1F2000H
; (docs/GUESTS.md) - and reads there: EPT has nothing at 1 GiB, so the read is an EPT violation.
bits 64
org 0x10000
%include "guest.inc"

PAGE_DIRECTORY  equ 0x1F2000
PRESENT_WRITE_LARGE equ 0x83

start:
    mov rax, 0x40000000 | PRESENT_WRITE_LARGE
    mov [PAGE_DIRECTORY + 8], rax
    invlpg [0x200000]
    PRINT "reading guest-physical 40000000H, which this guest was not given"
    mov rax, [0x200000]
    PRINT "not reached"
    cli
    hlt
