; msr-probe MSR VALUE|read: one MSR access through Linux's MSR driver (msr.ko):
; open /dev/cpu/0/msr, then pwrite64 of the 8-byte VALUE at offset MSR, or pread64 of 8 bytes
; at offset MSR with `read`. The driver executes WRMSR/RDMSR in the kernel; when the
; instruction faults (#GP) the call fails with EIO.
; MSR and VALUE: hexadecimal with 0x, or decimal. Status: 0 on success, else the errno (EIO = 5;
; ENOENT = 2 without msr.ko), EXIT_USAGE on bad arguments. Prints nothing.
%include "probe.inc"

        section .text
        global _start
_start:
        cmp qword [rsp], 3      ; argc
        jne usage
        mov rsi, [rsp + 16]     ; argv[1]: the MSR
        call parse
        jc usage
        mov r12, rax            ; r12: MSR (the file offset)
        mov rsi, [rsp + 24]     ; argv[2]: VALUE or "read"
        cmp dword [rsi], 'read'
        jne .write
        cmp byte [rsi + 4], 0
        jne .write
        mov r13d, SYS_PREAD64   ; r13: the call; O_RDONLY
        xor esi, esi
        jmp .open
.write:
        call parse
        jc usage
        mov [buffer], rax
        mov r13d, SYS_PWRITE64
        mov esi, 2              ; O_RDWR
.open:
        mov eax, SYS_OPEN
        lea rdi, [rel path]
        xor edx, edx
        syscall
        EXIT_IF_ERROR
        mov edi, eax            ; fd
        mov eax, r13d
        lea rsi, [rel buffer]
        mov edx, 8
        mov r10, r12            ; offset: the MSR
        syscall
        EXIT_IF_ERROR
        xor edi, edi
        EXIT
usage:
        mov edi, EXIT_USAGE
        EXIT

%include "parse.inc"

        section .rodata
path:   db "/dev/cpu/0/msr", 0

        section .bss
buffer: resq 1
