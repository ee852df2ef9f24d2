; traps64: what the hypervisor completes for a guest keeps the guest's debug traps, and a MOV
; to CR0 it emulates faults as the processor's would (EPT models). A single step (RFLAGS.TF)
; over CPUID and an I/O breakpoint (DR0 = 80H, DR7 R/W0 = 10B, CR4.DE) on OUT 80H each raise a
; #DB after the instruction, DR6 saying which (BS, B0); then with CR4.PCIDE = 1 a MOV to CR0
; that clears PG in compatibility mode gets #GP(0) (SDM Vol. 3A 4.10.1) instead of a state
; VM entry would refuse.
bits 64
org 0x10000
%include "guest.inc"

start:
    call setup_idt
    lea rax, [rel debug_handler]    ; vector 1: its own handler, which records DR6
    lea rdi, [rel idt + 16]
    mov [rdi], ax
    shr rax, 16
    mov [rdi + 6], ax
    PRINT "IDT installed"

    ; A single step over CPUID: the hypervisor completes it, the #DB follows.
    xor eax, eax
    mov dr6, rax
    mov qword [rel debug_count], 0
    xor eax, eax
    pushfq
    or qword [rsp], 0x100
    popfq                           ; TF: the next instruction traps
    cpuid                           ; exits; trap after it
    mov rax, [rel debug_count]
    PRINT_HEX "#DB after a single-stepped CPUID: ", rax
    mov rax, [rel debug_dr6]
    and eax, 0x400F
    PRINT_HEX "DR6 BS/B3-B0: ", rax

    ; An I/O breakpoint on port 80H: DR0 = 80H, DR7 L0 with R/W0 = 10B (I/O), LEN0 = 1 byte.
    mov rax, cr4
    or rax, 1 << 3                  ; CR4.DE (the guest's own bit: no exit)
    mov cr4, rax
    mov eax, 0x80
    mov dr0, rax
    xor eax, eax
    mov dr6, rax
    mov qword [rel debug_count], 0
    mov rax, 0x20401
    mov dr7, rax
    mov al, 0x55
    out 0x80, al                    ; exits, emulated; the breakpoint's trap after it
    xor eax, eax
    mov dr7, rax
    mov rax, [rel debug_count]
    PRINT_HEX "#DB after OUT 80H with an I/O breakpoint: ", rax
    mov rax, [rel debug_dr6]
    and eax, 0x400F
    PRINT_HEX "DR6 BS/B3-B0: ", rax

    ; CR4.PCIDE = 1 (CPUID.1:ECX.PCID[bit 17]), then clear CR0.PG in compatibility mode.
    mov eax, 1
    cpuid
    bt ecx, 17
    jc .pcid
    PRINT "no PCID: CR4.PCIDE not tried"
    jmp .done
.pcid:
    mov rax, cr4
    or rax, 1 << 17
    mov cr4, rax
    PRINT "CR4.PCIDE set"
    EXPECT_FAULT back_in_compatibility_mode
    jmp dword far [rel compatibility_pointer]   ; m16:32 (REX.W would make it m16:64)
.done:
    cli
    hlt

bits 32
compatibility_mode:
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax                    ; exits (PG is the host's): #GP(0), PCIDE = 1
back_in_compatibility_mode:
    jmp 0x08:back_in_64_bit_mode
bits 64
back_in_64_bit_mode:
    mov rax, cr0
    PRINT_HEX "back in 64-bit mode, CR0 reads ", rax
    cli
    hlt

; #DB: counts, records DR6, clears RFLAGS.TF in the frame.
debug_handler:
    push rax
    inc qword [rel debug_count]
    mov rax, dr6
    mov [rel debug_dr6], rax
    and qword [rsp + 24], ~0x100
    pop rax
    iretq

align 8
compatibility_pointer: dd compatibility_mode
                       dw 0x18
debug_count:    dq 0
debug_dr6:      dq 0

%include "lib64.inc"
