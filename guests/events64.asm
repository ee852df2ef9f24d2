; events64: events into and out of a 64-bit guest. #BP (INT3) goes out through the exception
; bitmap and is reflected back; an external interrupt requested while interrupts are off waits
; for the interrupt window; one requested with interrupts on arrives at once; CR0/CR4 read back
; their shadows; IA32_EFER and CR8 are emulated; four instructions are single-stepped (monitor
; trap flag, or RFLAGS.TF with #DB exiting).
bits 64
org 0x10000
%include "guest.inc"

start:
    call setup_idt
    PRINT "IDT installed"

    int3                            ; exits (#BP), reflected: the handler reports vector 3

    cli
    mov eax, HC_RAISE_INTERRUPT
    mov ebx, 0x40
    vmcall                          ; interrupts off: the hypervisor waits for the window
    PRINT "vector 40H requested with interrupts off"
    sti
    nop                             ; STI blocks for one instruction; then the window opens
    PRINT "interrupts on again"
    mov eax, HC_RAISE_INTERRUPT
    mov ebx, 0x40
    vmcall                          ; interrupts on: injected on this VMCALL's return
    cli

    mov rax, cr0
    PRINT_HEX "CR0 reads ", rax
    mov rax, cr4
    PRINT_HEX "CR4 reads ", rax
    mov ecx, 0xC0000080
    rdmsr
    shl rdx, 32
    or rax, rdx
    PRINT_HEX "IA32_EFER reads ", rax
    mov eax, 5
    mov cr8, rax
    mov rax, cr8
    PRINT_HEX "CR8 reads ", rax

    mov eax, HC_SINGLE_STEP
    mov ebx, 4
    vmcall
    nop
    mov eax, 1
    add eax, eax
    nop
    PRINT "four instructions stepped"
    cli
    hlt

%include "lib64.inc"
