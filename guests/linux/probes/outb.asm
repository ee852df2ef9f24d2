; outb PORT VALUE: one byte OUT to an I/O port from user mode, after ioperm(PORT, 1, 1) (root,
; CAP_SYS_RAWIO) opened it in the TSS's I/O bitmap: Debian's kernel has no /dev/port
; (CONFIG_DEVPORT is not set). The isolation test's resets: 64H FEH (keyboard controller reset
; pulse), 92H 1 (fast reset), CF9H 6 (reset control register).
; PORT and VALUE: hexadecimal with 0x, or decimal. Status: ioperm's errno when it fails,
; EXIT_USAGE on bad arguments, 0 when the machine went on after the write.
%include "probe.inc"

        section .text
        global _start
_start:
        cmp qword [rsp], 3      ; argc
        jne usage
        mov rsi, [rsp + 16]     ; argv[1]: the port
        call parse
        jc usage
        cmp rax, 0xFFFF
        ja usage
        mov r12, rax
        mov rsi, [rsp + 24]     ; argv[2]: the byte
        call parse
        jc usage
        cmp rax, 0xFF
        ja usage
        mov r13, rax
        mov eax, SYS_IOPERM
        mov rdi, r12            ; from PORT
        mov esi, 1              ; one port
        mov edx, 1              ; turn on
        syscall
        EXIT_IF_ERROR
        mov rdx, r12
        mov rax, r13
        out dx, al
        xor edi, edi
        EXIT
usage:
        mov edi, EXIT_USAGE
        EXIT

%include "parse.inc"
