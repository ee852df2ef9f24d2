; printflood: PRINT as fast as it can, for ever - a user image that would fill the log. The
; hypervisor writes its first 64 PRINT lines, counts the rest, and stops it after its budget,
; the lines' cost included (boot/grub-test.cfg, docs/GUESTS.md "Time budget").
bits 64
org 0x10000
%include "guest.inc"

start:
.flood:
    PRINT "flood"
    jmp .flood
