; A kernel image that is not Linux but speaks Linux's boot protocol (Documentation/arch/x86/
; boot.rst): the setup header of protocol 2.15 in the first two sectors, then a protected-mode
; part whose 64-bit entry (at its offset 200H) tries the pass-through platform's boundaries,
; reporting on COM3, the UART a pass-through guest owns (docs/LINUX.md):
;   'K'   COM1's line status register read as absent (all ones): a port the hypervisor keeps
;   'Z'   a read of 1000H, the hypervisor's early memory, saw zeros (the scratch page)
;   'S'   a read of 2000H, another of its pages, saw what was written at 1000H: the same
;         scratch page, and not the hypervisor's memory
;   'H', 'Q' RSI pointed at a zero page whose setup header has "HdrS" and whose
;         type_of_loader is FFH
; (a lower-case letter where the check failed), then writes FEH to port 64H: the keyboard
; controller's reset pulse, which ends the guest. Tests/HypervisorTests/PassThroughRunTests.
; Assembled with nasm -f bin; position-independent (the loader picks the address).

COM1_LSR    equ 0x3FD
COM3        equ 0x3E8

%include "boot-protocol.inc"

pm_start:
    times 0x200 db 0xF4             ; the 32-bit entry, unused: HLT
    bits 64
entry64:
    ; A kept port reads as absent.
    mov dx, COM1_LSR
    in al, dx
    cmp al, 0xFF
    mov al, 'K'
    call report
    ; The hypervisor's memory: a scratch page answers.
    mov eax, [0x1000]
    test eax, eax
    setz cl
    mov al, 'Z'
    mov bl, cl
    call report_flag
    mov dword [0x1000], 0x5EC0FFEE
    mov eax, [0x2000]
    cmp eax, 0x5EC0FFEE
    sete bl
    mov al, 'S'
    call report_flag
    ; The zero page.
    cmp dword [rsi + 0x202], 'HdrS'
    sete bl
    mov al, 'H'
    call report_flag
    cmp byte [rsi + 0x210], 0xFF
    sete bl
    mov al, 'Q'
    call report_flag
    mov al, 10
    mov dx, COM3
    out dx, al
    ; The end: the keyboard controller's reset pulse.
    mov al, 0xFE
    out 0x64, al
.stuck:
    hlt
    jmp .stuck

; Writes AL to COM3, in lower case unless ZF was set by the caller's compare.
report:
    sete bl
report_flag:                        ; AL: the letter; BL: 1 if the check passed
    test bl, bl
    jnz .out
    or al, 0x20
.out:
    mov dx, COM3
    out dx, al
    ret
    align 16
pm_end:
