; pae32: a 32-bit guest that turns on PAE paging (EPT, unrestricted guest). CR4.PAE is its
; own bit; setting CR0.PG exits (PG is the host's), and the hypervisor loads the four PDPTEs
; into the VMCS, from which VM entry takes them with EPT (SDM 4.4.1, 27.3.2.4): the guest runs
; on. A MOV to CR3 loads new PDPTEs (linear 40000000H through PDPTE1). Then the reserved bits
; of a PDPTE (bit 1 of PDPTE3): setting PG with them gets #GP(0) from the hypervisor, a MOV to
; CR3 with them #GP(0) from the processor (or the hypervisor where CR3 loads exit).
bits 32
org 0x10000
%include "guest.inc"

PDPT_A  equ 0x20000                 ; PDPTE0 -> PD_LOW
PDPT_B  equ 0x20020                 ; PDPTE0 -> PD_LOW, PDPTE1 -> PD_LOW (1 GiB maps 0 too)
PDPT_BAD equ 0x20040                ; PDPTE0 -> PD_LOW, PDPTE3 with reserved bit 1
PD_LOW  equ 0x21000                 ; PDE0: 2 MiB page at 0

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

start:
    mov esp, 0x18000
    ; IDT: #GP resumes at [resume]; anything else says so and halts.
    mov edi, idt
    xor ecx, ecx
.gate:
    mov eax, unexpected
    cmp ecx, 13
    jne .store
    mov eax, general_protection
.store:
    mov [edi], ax
    mov word [edi + 2], 0x18
    mov word [edi + 4], 0x8E00
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    inc ecx
    cmp ecx, 32
    jb .gate
    lidt [idt_register]

    mov dword [PD_LOW], 0x83        ; 2 MiB, writable, present
    mov dword [PDPT_A], PD_LOW | 1
    mov dword [PDPT_B], PD_LOW | 1
    mov dword [PDPT_B + 8], PD_LOW | 1
    mov dword [PDPT_BAD], PD_LOW | 1
    mov dword [PDPT_BAD + 24], PD_LOW | 1 | 2

    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov eax, PDPT_A
    mov cr3, eax
    mov eax, cr0
    or eax, 1 << 31                 ; PG: exits, the hypervisor loads the PDPTEs
    mov cr0, eax
    PRINT32 "PAE paging on"

    mov eax, PDPT_B
    mov cr3, eax
    mov eax, [0x40000000 + marker]
    cmp eax, 0x5AE32
    jne .no_alias
    PRINT32 "MOV to CR3: linear 40000000H maps guest-physical 0 through PDPTE1"
    jmp .bad
.no_alias:
    PRINT32 "MOV to CR3: linear 40000000H does not map guest-physical 0"

.bad:
    mov eax, cr0
    and eax, 0x7FFFFFFF             ; paging off: exits, no PDPTEs to load
    mov cr0, eax
    mov eax, PDPT_BAD
    mov cr3, eax
    mov dword [resume], after_pg
    mov eax, cr0
    or eax, 1 << 31                 ; PG with PDPTE3 reserved bit 1: #GP(0)
    mov cr0, eax
    PRINT32 "not reached: PG set with a reserved PDPTE bit"
after_pg:
    mov eax, cr0
    shr eax, 31
    jnz .paging
    PRINT32 "paging still off"
.paging:
    mov eax, PDPT_A
    mov cr3, eax
    mov eax, cr0
    or eax, 1 << 31
    mov cr0, eax
    mov dword [resume], after_cr3
    mov eax, PDPT_BAD
    mov cr3, eax                    ; #GP(0)
    PRINT32 "not reached: CR3 loaded with a reserved PDPTE bit"
after_cr3:
    mov eax, cr3
    cmp eax, PDPT_A
    jne .cr3_changed
    PRINT32 "CR3 unchanged"
.cr3_changed:
    cli
    hlt

general_protection:
    add esp, 4                      ; error code
    push eax
    push ebx
    push ecx
    mov eax, HC_PRINT
    mov ebx, text_gp
    mov ecx, text_gp_end - text_gp
    vmcall
    mov eax, [resume]
    mov [esp + 12], eax             ; the frame's EIP
    pop ecx
    pop ebx
    pop eax
    iretd

unexpected:
    PRINT32 "unexpected exception"
    cli
    hlt

text_gp:        db "caught #GP"
text_gp_end:
align 4
marker:         dd 0x5AE32
resume:         dd 0
idt_register:   dw 32 * 8 - 1
                dd idt
; Not in the image: the hypervisor zeroes the guest's memory.
section .bss align=8
idt:            resb 32 * 8
