; bad64: a 64-bit guest that does what it may not, catching each fault: the host's exit ports
; (QEMU isa-debug-exit F4H, Bochs shutdown 8900H), COM2, the PICs, VMX capability MSRs and
; IA32_FEATURE_CONTROL, VMX instructions, setting CR4.VMXE, GETSEC, XSETBV, INVD. The
; hypervisor answers each with #GP or #UD (or emulates INVD as a no-op) and carries on.
bits 64
org 0x10000
%include "guest.inc"

%macro TRY 0                        ; TRY ... END_TRY: the instructions between are expected to fault
    %push try
    EXPECT_FAULT %$next
%endmacro
%macro END_TRY 0
%$next:
    %pop
%endmacro

start:
    call setup_idt
    PRINT "IDT installed; now doing what a guest may not"
    xor eax, eax
    TRY
    out 0xF4, al
    END_TRY
    TRY
    mov dx, 0x8900
    out dx, al
    END_TRY
    TRY
    mov dx, 0x2F8
    out dx, al
    END_TRY
    TRY
    out 0x20, al
    END_TRY
    TRY
    in al, 0xA1
    END_TRY
    TRY
    mov ecx, 0x480
    rdmsr
    END_TRY
    TRY
    mov ecx, 0x3A
    xor eax, eax
    xor edx, edx
    wrmsr
    END_TRY
    TRY
    vmxon [rel scratch]
    END_TRY
    TRY
    vmclear [rel scratch]
    END_TRY
    TRY
    vmptrld [rel scratch]
    END_TRY
    TRY
    vmread rax, rbx
    END_TRY
    TRY
    vmwrite rbx, rax
    END_TRY
    TRY
    vmlaunch
    END_TRY
    TRY
    invept rax, [rel scratch]
    END_TRY
    TRY
    mov rax, cr4
    or eax, 1 << 13
    mov cr4, rax
    END_TRY
    TRY
    getsec
    END_TRY
    TRY
    xor ecx, ecx
    xsetbv
    END_TRY
    invd
    PRINT "still running: the hypervisor survived every forbidden access"
    cli
    hlt

align 16
scratch: dq 0, 0

%include "lib64.inc"
