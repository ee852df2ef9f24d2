; Exception entry stubs for vectors 0-31 (SDM Vol. 3A 6.15, "Exception and Interrupt
; Reference"). Each stub makes the stack uniform - an error code (0 where the processor pushes
; none) and the vector number - then the common part saves the GPRs and calls the Swift
; handler with a pointer to the frame (ExceptionFrame in Sources/Intrinsics/include/
; Intrinsics.h). The handler reports and stops the machine; it never returns.
;
; Except for an NMI on an application processor: that is the bootstrap processor's wake-up
; call for an AP halted while it waits for work (Sources/Kernel/Processors.swift), and returns
; at once. An AP is a processor whose GS base points at a per-CPU block with index (+8) not 0.

IA32_GS_BASE        equ 0xC0000101
PERCPU_INDEX        equ 8

bits 64
section .text

extern kernel_exception
global exception_stub_table

; Vectors for which the processor pushes an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC,
; #CP, #VC, #SX.
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign vector 0
%rep 32
exception_stub_ %+ vector:
%if vector == 2
    push rax
    push rcx
    push rdx
    mov ecx, IA32_GS_BASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    jz .report
    cmp dword [rax + PERCPU_INDEX], 0
    je .report
    pop rdx
    pop rcx
    pop rax
    iretq
.report:
    pop rdx
    pop rcx
    pop rax
%endif
%if HAS_ERROR_CODE(vector) == 0
    push 0
%endif
    push vector
    jmp exception_common
%assign vector vector + 1
%endrep

exception_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp                    ; ExceptionFrame *
    and rsp, -16                    ; the ABI's call alignment
    call kernel_exception
.halt:
    cli
    hlt
    jmp .halt

section .rodata
align 8
exception_stub_table:
%assign vector 0
%rep 32
    dq exception_stub_ %+ vector
%assign vector vector + 1
%endrep
