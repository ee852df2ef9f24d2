; msrsweep: RDMSR of every MSR index from 0 up, for ever; nearly all are refused with #GP(0)
; (docs/GUESTS.md, "Time budget"): 16 lines, the rest counted and charged to the budget.
bits 64
org 0x10000
%include "guest.inc"

start:
    call setup_silent_idt
    xor r12d, r12d
sweep:
    mov ecx, r12d
    rdmsr
resume:
    inc r12d
    jmp sweep

%include "hostile.inc"
