; kbc-reset: writes FEH to I/O port 64H, the keyboard controller's "pulse the reset line"
; command, from user mode. ioperm(0x64, 1, 1) first (root, CAP_SYS_RAWIO) opens the port in
; the TSS's I/O bitmap: Debian's kernel has no /dev/port (CONFIG_DEVPORT is not set).
; Status: ioperm's errno when it fails; 0 when the machine did not reset.
%include "probe.inc"

        section .text
        global _start
_start:
        mov eax, SYS_IOPERM
        mov edi, 0x64           ; from port 64H
        mov esi, 1              ; one port
        mov edx, 1              ; turn on
        syscall
        EXIT_IF_ERROR
        mov al, 0xFE
        out 0x64, al
        xor edi, edi
        EXIT
