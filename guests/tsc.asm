; tsc: prints the TSC and shuts down. The boot tests run it before and after each hostile user
; image (boot/grub-test.cfg): the difference of two readings is what the guest between them
; cost the machine - its own time and the hypervisor's on its behalf - measured by a guest, not
; taken from the hypervisor's own account (Tests/boot/run.py checks it against the budget).
bits 64
org 0x10000
%include "guest.inc"

start:
    rdtsc
    shl rdx, 32
    or rax, rdx
    PRINT_HEX "tsc ", rax
    mov eax, HC_SHUT_DOWN
    xor ebx, ebx
    vmcall

%include "lib64.inc"
