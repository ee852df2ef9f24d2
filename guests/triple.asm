; triple: a 64-bit guest that triple-faults: with an empty IDT, #UD cannot be delivered (#GP),
; nor can #GP (#DF), nor #DF (triple fault, SDM Vol. 3A 6.15 "Interrupt 8"). The hypervisor
; reports the guest dead and goes on.
bits 64
org 0x10000
%include "guest.inc"

start:
    lidt [rel empty_idt]
    PRINT "loading an empty IDT and executing UD2"
    ud2
    PRINT "not reached"
    cli
    hlt

align 8
empty_idt: dw 0
           dq 0
