; tss32: task switches in a 32-bit guest (EPT, unrestricted guest), which always exit and which
; the hypervisor performs (SDM Vol. 3A 7.3): CALL to a TSS (back link, NT, busy flags, CR0.TS),
; IRET back, JMP to the task and back, the faults of a not-present TSS (#NP), a TSS limit
; below 67H (#TS) and a busy TSS (#GP) - which the processor checks before the VM exit - and
; of a new task's DS beyond the GDT (#TS in the new task, after the switch), and a double
; fault delivered through a task gate, as 32-bit operating systems take #DF.
bits 32
org 0x10000
%include "guest.inc"

CODE    equ 0x08
DATA    equ 0x10
TSS_A   equ 0x18
TSS_B   equ 0x20
TSS_NP  equ 0x28                    ; not present
TSS_SMALL equ 0x30                  ; limit 1FH
TSS_DF  equ 0x38
TSS_BAD_DS equ 0x40                 ; its task's DS is BAD_SEL
BAD_SEL equ 0x58                    ; beyond the GDT's limit

%macro PRINT32 1
    jmp %%after
%%text: db %1
%%end:
%%after:
    mov eax, HC_PRINT
    mov ebx, %%text
    mov ecx, %%end - %%text
    vmcall
%endmacro

; PRINT_HEX32 "prefix", value: "prefix0x..." (clobbers EAX, EBX, ECX, ESI, EDI).
%macro PRINT_HEX32 2
    mov eax, %2
    jmp %%after
%%text: db %1, 0
%%after:
    mov esi, %%text
    call print_hex
%endmacro

start:
    mov esp, stack_a
    ; GDT entries 18H-38H: TSS descriptors (EDI entry, EAX base, ECX limit, DL access byte).
    mov edi, gdt + TSS_A
    mov eax, tss_a
    mov ecx, 0x67
    mov dl, 0x89
    call tss_descriptor
    mov edi, gdt + TSS_B
    mov eax, tss_b
    call tss_descriptor
    mov edi, gdt + TSS_NP
    mov eax, tss_c
    mov dl, 0x09                    ; P = 0
    call tss_descriptor
    mov edi, gdt + TSS_SMALL
    mov ecx, 0x1F
    mov dl, 0x89
    call tss_descriptor
    mov edi, gdt + TSS_DF
    mov eax, tss_df
    mov ecx, 0x67
    call tss_descriptor
    mov edi, gdt + TSS_BAD_DS
    mov eax, tss_c2
    call tss_descriptor
    lgdt [gdt_register]
    jmp CODE:.reload
.reload:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax

    ; IDT: #TS, #NP, #GP report and resume at [resume]; #DF is a task gate to TSS_DF.
    mov dword [idt + 10 * 8], fault_ts
    mov dword [idt + 11 * 8], fault_np
    mov dword [idt + 13 * 8], fault_gp
    mov ecx, 32
    mov edi, idt
.gate:
    mov eax, [edi]
    test eax, eax
    jz .next
    mov word [edi + 2], CODE
    mov word [edi + 4], 0x8E00
    shr eax, 16
    mov [edi + 6], ax
.next:
    add edi, 8
    loop .gate
    mov word [idt + 8 * 8 + 2], TSS_DF
    mov word [idt + 8 * 8 + 4], 0x8500    ; present task gate
    lidt [idt_register]

    ; The other tasks' starting state: EIP, ESP, ES, CS, SS, DS (FS, GS, LDT null).
    mov dword [tss_b + 0x20], task_b
    mov dword [tss_b + 0x38], stack_b
    mov dword [tss_df + 0x20], double_fault_task
    mov dword [tss_df + 0x38], stack_df
    mov edi, tss_b + 0x48
    call task_segments
    mov edi, tss_df + 0x48
    call task_segments
    mov dword [tss_c2 + 0x20], task_c
    mov dword [tss_c2 + 0x38], stack_c
    mov edi, tss_c2 + 0x48
    call task_segments
    mov dword [tss_c2 + 0x54], BAD_SEL
    mov ax, TSS_A
    ltr ax
    PRINT32 "task A: TR loaded"

    mov ebp, 0x7A5CA11
    call TSS_B:0                    ; exits: the hypervisor switches to task B
    mov eax, ebp
    PRINT_HEX32 "task A again after IRET, EBP ", eax
    str eax
    PRINT_HEX32 "task A: TR ", eax
    mov eax, cr0
    and eax, 8
    PRINT_HEX32 "task A: CR0.TS ", eax
    clts

    jmp TSS_B:0                     ; task B resumes after its IRET
back_from_jmp:
    PRINT32 "task A again after JMP"

    mov dword [resume], .after_np
    call TSS_NP:0
.after_np:
    mov dword [resume], .after_small
    call TSS_SMALL:0
.after_small:
    mov dword [resume], .after_busy
    call TSS_A:0                    ; itself: busy
.after_busy:
    mov dword [resume], task_c_after_ts
    call TSS_BAD_DS:0               ; the switch loads DS last: #TS(58H) in task C
    PRINT32 "task A again after task C"

    ; A double fault: #GP with the #GP gate not present is #NP during delivery, contributory
    ; twice: #DF, through the task gate.
    mov byte [idt + 13 * 8 + 5], 0x0E
    mov ax, BAD_SEL
    mov ds, ax
    PRINT32 "not reached: no double fault"
    cli
    hlt

task_b:
    movzx eax, word [tss_b]
    PRINT_HEX32 "task B: back link ", eax
    pushfd
    pop eax
    and eax, 0x4000
    PRINT_HEX32 "task B: EFLAGS.NT ", eax
    str eax
    PRINT_HEX32 "task B: TR ", eax
    iretd                           ; NT: back to task A
    pushfd
    pop eax
    and eax, 0x4000
    PRINT_HEX32 "task B again after JMP: EFLAGS.NT ", eax
    jmp TSS_A:0                     ; task A resumes after its JMP

task_c:
    PRINT32 "not reached: task C with a bad DS"
task_c_after_ts:
    str eax
    PRINT_HEX32 "task C after its #TS: TR ", eax
    iretd                           ; NT: back to task A

double_fault_task:
    pop eax                         ; the error code
    PRINT_HEX32 "double-fault task: error code ", eax
    movzx eax, word [tss_df]
    PRINT_HEX32 "double-fault task: back link ", eax
    cli
    hlt

fault_ts:
    mov esi, text_ts
    jmp fault_common
fault_np:
    mov esi, text_np
    jmp fault_common
fault_gp:
    mov esi, text_gp
fault_common:
    mov ax, DATA                    ; DS may be what faulted
    mov ds, ax
    mov eax, [esp]                  ; the error code
    call print_hex
    add esp, 4
    mov eax, [resume]
    mov [esp], eax
    iretd

; task_segments: ES, CS, SS, DS of the TSS image at EDI - 48H.
task_segments:
    mov dword [edi], DATA
    mov dword [edi + 4], CODE
    mov dword [edi + 8], DATA
    mov dword [edi + 12], DATA
    ret

; tss_descriptor: EDI entry, EAX base, ECX limit (below 64 KiB), DL access byte.
tss_descriptor:
    mov [edi], cx
    mov [edi + 2], ax
    shr eax, 16
    mov [edi + 4], al
    mov [edi + 5], dl
    mov byte [edi + 6], 0
    mov [edi + 7], ah
    ret

; print_hex: the NUL-terminated prefix at ESI, then EAX as 0x and its significant digits.
print_hex:
    mov edi, line
.prefix:
    mov bl, [esi]
    test bl, bl
    jz .number
    mov [edi], bl
    inc esi
    inc edi
    jmp .prefix
.number:
    mov word [edi], '0x'
    add edi, 2
    mov ebx, eax
    mov ecx, 28
.skip:
    test ecx, ecx
    jz .digits
    mov eax, ebx
    shr eax, cl
    test al, 0xF
    jnz .digits
    sub ecx, 4
    jmp .skip
.digits:
    mov eax, ebx
    shr eax, cl
    and eax, 0xF
    mov al, [hex_digits + eax]
    mov [edi], al
    inc edi
    sub ecx, 4
    jns .digits
    mov ebx, line
    mov ecx, edi
    sub ecx, ebx
    mov eax, HC_PRINT
    vmcall
    ret

text_ts:        db "caught #TS, error code ", 0
text_np:        db "caught #NP, error code ", 0
text_gp:        db "caught #GP, error code ", 0
hex_digits:     db "0123456789abcdef"
align 4
resume:         dd 0
gdt_register:   dw gdt_end - gdt - 1
                dd gdt
idt_register:   dw 32 * 8 - 1
                dd idt
align 8
gdt:            dq 0
                dq 0x00CF9A000000FFFF   ; 08H: 32-bit code
                dq 0x00CF92000000FFFF   ; 10H: data
                times 6 dq 0            ; 18H-40H: TSSs
gdt_end:
; Not in the image: the hypervisor zeroes the guest's memory.
section .bss align=16
idt:            resb 32 * 8
tss_a:          resb 0x68
tss_b:          resb 0x68
tss_c:          resb 0x68
tss_df:         resb 0x68
tss_c2:         resb 0x68
line:           resb 96
                resb 256
stack_a:
                resb 256
stack_b:
                resb 256
stack_df:
                resb 256
stack_c:
