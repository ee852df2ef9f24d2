; portsweep: IN from every port, 0 to FFFFH, over and over; all but COM1 and 80H are refused
; with #GP(0) (docs/GUESTS.md, "Time budget"): 16 lines, the rest counted and charged.
bits 64
org 0x10000
%include "guest.inc"

start:
    call setup_silent_idt
    xor r12d, r12d
sweep:
    mov edx, r12d
    in al, dx
resume:
    inc r12w
    jmp sweep

%include "hostile.inc"
