; flood: a guest that keeps the hypervisor busy rather than itself: REP OUTSB of 1 MiB to port
; 80H, again and again. Each VM exit makes the hypervisor copy up to 4096 bytes while the guest
; runs a few cycles, so its own time hardly moves; the budget counts the host's time spent on
; the string instruction too (VirtualCPU.chargeHostTime), and the guest is stopped after it.
; The boot tests hand it over as a user image with a short budget (boot/grub-test.cfg).
bits 64
org 0x10000
%include "guest.inc"

start:
    PRINT "REP OUTSB of 1 MiB to port 80H, over and over"
    cld
.again:
    xor esi, esi
    mov ecx, 0x100000
    mov dx, 0x80
    rep outsb
    jmp .again
