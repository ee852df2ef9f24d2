; spin: a guest that turns interrupts off and loops forever - what a hostile or broken user
; image may do. Only its time budget ends it: the VMX-preemption timer counts down whatever
; the guest's RFLAGS.IF (SDM 26.5.1). The boot tests hand it over as a user image (a boot
; module, so EPT only) with a short budget (boot/grub-test.cfg). Every Bochs model with EPT
; has the preemption timer; on the two without it, Bochs would not deliver the host timer's
; external-interrupt exit while IF = 0 (docs/GUESTS.md, "Bochs 2.7 and the SDM"), which is why
; the built-in `loop` guest spins with IF = 1.
bits 64
org 0x10000
%include "guest.inc"

start:
    PRINT "interrupts off, looping forever"
    cli
.spin:
    jmp .spin
