; loop: a 64-bit guest that never stops by itself. Its time budget ends it: the VMX-preemption
; timer, or the host timer where the CPU has no preemption timer. It spins with interrupts on
; (RFLAGS.IF = 1): on Bochs models without the preemption timer the host timer's interrupt
; stops it only then (Bochs delivers no external-interrupt exit while the guest's IF = 0;
; docs/GUESTS.md, "Bochs").
bits 64
org 0x10000
%include "guest.inc"

start:
    PRINT "spinning forever"
    sti
.spin:
    jmp .spin
