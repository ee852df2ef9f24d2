; hello64: the first 64-bit guest. Greets on COM1 (the emulated 16550), asks CPUID who the
; hypervisor is and whether VMX shows, asks the hypercall ABI version, prints through the
; PRINT hypercall, and halts. Runs on every VMX CPU, with or without EPT.
bits 64
org 0x10000
%include "guest.inc"

start:
    lea rsi, [rel greeting]
    call puts_com1

    mov eax, 0x40000000             ; the hypervisor's vendor leaf
    cpuid
    mov [rel signature], ebx
    mov [rel signature + 4], ecx
    mov [rel signature + 8], edx
    PRINT_HEX "CPUID 40000000H: highest leaf ", rax
    mov eax, HC_PRINT
    lea rbx, [rel signature_line]
    mov ecx, signature_end - signature_line
    vmcall

    mov eax, 1
    cpuid
    mov eax, ecx
    shr eax, 31
    PRINT_HEX "CPUID.1:ECX.hypervisor[bit 31] = ", rax
    mov eax, 1
    cpuid
    mov eax, ecx
    shr eax, 5
    and eax, 1
    PRINT_HEX "CPUID.1:ECX.VMX[bit 5] = ", rax

    mov eax, HC_GET_VERSION
    vmcall
    mov rsi, rbx
    PRINT_HEX "hypercall ABI version ", rsi

    PRINT "hello from a 64-bit guest, through the PRINT hypercall"
    cli
    hlt

greeting:       db "hello from a 64-bit guest on COM1", 13, 10, 0
signature_line: db "hypervisor signature: "
signature:      times 8 db 0
signature_end:
                times 4 db 0

%include "lib64.inc"
