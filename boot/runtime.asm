; The C library memory routines the Embedded Swift code and clang call (System V AMD64 ABI).
; In assembly so that no compiler can turn their loops back into calls to themselves.

bits 64
section .text

global memset, memcpy, memmove, memcmp, free
global kernel_run_on_stack
extern kernel_heap_free

; void *memset(void *dest, int c, size_t n)
memset:
    mov r8, rdi
    mov eax, esi
    mov rcx, rdx
    rep stosb
    mov rax, r8
    ret

; void *memcpy(void *dest, const void *src, size_t n)
memcpy:
    mov rax, rdi
    mov rcx, rdx
    rep movsb
    ret

; void *memmove(void *dest, const void *src, size_t n): copies backwards when dest overlaps
; the tail of src.
memmove:
    mov rax, rdi
    mov rcx, rdx
    cmp rdi, rsi
    jbe .forward
    lea r8, [rsi + rdx]
    cmp rdi, r8
    jae .forward
    lea rsi, [rsi + rdx - 1]
    lea rdi, [rdi + rdx - 1]
    std
    rep movsb
    cld
    ret
.forward:
    rep movsb
    ret

; int memcmp(const void *a, const void *b, size_t n)
memcmp:
    xor eax, eax
    mov rcx, rdx
    test rcx, rcx
    jz .done
    repe cmpsb
    je .done
    movzx eax, byte [rdi - 1]
    movzx ecx, byte [rsi - 1]
    sub eax, ecx
.done:
    ret

; void free(void *): Swift reserves the name `free` for its runtime, so the allocator's Swift
; side (Sources/Kernel/Heap.swift) is called kernel_heap_free.
free:
    jmp kernel_heap_free

; void kernel_run_on_stack(uint64_t stack_top, void (*function)(void)): calls `function` on
; the stack whose top (16-byte aligned) is given; comes back to the caller's stack if it
; returns.
kernel_run_on_stack:
    push rbp
    mov rbp, rsp
    mov rsp, rdi
    call rsi
    mov rsp, rbp
    pop rbp
    ret
