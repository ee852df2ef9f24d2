; bench: the guest of `make bench`. Times ITERATIONS round trips of each exit kind with RDTSC
; (which does not exit) and leaves the totals at linear 1000H for the hypervisor to read:
; iterations, then the cycles of the CPUID (leaf 0), VMCALL (GET_VERSION), OUT (port 80H) and
; RDMSR (IA32_PAT) loops, then the number of pages touched from TOUCH_BASE (the guest's
; `touch=` address: each an EPT violation the hypervisor resolves, where it uses EPT) and the
; cycles of that loop.
bits 64
org 0x10000
%include "guest.inc"

ITERATIONS  equ 1000
RESULTS     equ 0x1000
TOUCH_BASE  equ 0x100000            ; boot/guests.asm: touch=0x100000
TOUCH_PAGES equ 200                 ; below the structures at 1F0000H

%macro BEGIN_TIMING 0-1 ITERATIONS
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r15, rax
    mov r14d, %1
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
    BEGIN_TIMING
.rdmsr:
    mov ecx, 0x277                  ; IA32_PAT
    rdmsr
    END_TIMING .rdmsr, 32
    mov qword [RESULTS + 40], TOUCH_PAGES
    mov rbx, TOUCH_BASE
    BEGIN_TIMING TOUCH_PAGES
.touch:
    mov byte [rbx], 1
    add rbx, 4096
    END_TIMING .touch, 48
    PRINT "benchmark loops done"
    cli
    hlt
