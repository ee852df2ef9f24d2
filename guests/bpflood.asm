; bpflood: INT3 for ever, each one a #BP exit reflected back to the guest (docs/GUESTS.md,
; "Time budget"): the hypervisor logs 16, counts the rest, and charges them to the budget.
bits 64
org 0x10000
%include "guest.inc"

start:
    call setup_silent_idt
flood:
    int3
resume:
    jmp flood

%include "hostile.inc"
