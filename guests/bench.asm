; bench: the guest of `make bench`. Times ITERATIONS round trips of each exit kind with RDTSC
; (which does not exit) and leaves the totals at linear 1000H for the hypervisor to read:
; iterations, then the cycles of the CPUID (leaf 0), VMCALL (GET_VERSION) and OUT (port 80H)
; loops.
bits 64
org 0x10000
%include "guest.inc"

ITERATIONS  equ 1000
RESULTS     equ 0x1000

%macro BEGIN_TIMING 0
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r15, rax
    mov r14d, ITERATIONS
%endmacro

%macro END_TIMING 2                 ; loop label, result offset
    dec r14d
    jnz %1
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, r15
    mov [RESULTS + %2], rax
%endmacro

start:
    mov qword [RESULTS], ITERATIONS
    BEGIN_TIMING
.cpuid:
    xor eax, eax
    xor ecx, ecx
    cpuid
    END_TIMING .cpuid, 8
    BEGIN_TIMING
.vmcall:
    xor eax, eax
    vmcall
    END_TIMING .vmcall, 16
    BEGIN_TIMING
.out:
    out 0x80, al
    END_TIMING .out, 24
    PRINT "benchmark loops done"
    cli
    hlt
