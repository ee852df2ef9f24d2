; debug64: the guest of the guest-debugger test (tools/gdb-guest-test, docs/DEBUGGING.md): an
; ELF64 user image, so that gdb has its symbols. gdb breaks at `steps`, single-steps the three
; instructions after it, reads RAX (1 + 2 + 1 = 4), writes `exit_code`, and continues: the guest
; shuts down with whatever `exit_code` then holds (7 if nobody wrote it). `later` is the
; target of a hardware breakpoint.
bits 64
default rel
%include "guest.inc"

section .text
global start, steps, later
start:
    PRINT "debug64: waiting at steps"
    mov rax, 1
    mov rbx, 2
steps:
    add rax, rbx            ; 1: RAX = 3
    inc rax                 ; 2: RAX = 4
    mov [result], rax       ; 3
later:
    nop
    mov eax, HC_SHUT_DOWN
    mov ebx, [exit_code]
    vmcall
.halt:
    cli
    hlt
    jmp .halt

section .data
global exit_code, result
exit_code:  dd 7
result:     dq 0
